"""The Faust application: one object, configured from the environment."""

import socket
from collections.abc import Callable

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.web import View

from ecommerce_streams.exactly_once import (
    CachedTable,
    ExactlyOnceTransport,
    Repair,
    StopNotingWorker,
    parse_repairs,
)
from ecommerce_streams.exactly_once.gate import DEFAULT_COMMIT_MAX_EVENTS
from ecommerce_streams.exactly_once.orphans import client_id
from ecommerce_streams.exactly_once.repairs import DEFAULT_REPAIRS
from ecommerce_streams.exactly_once.table_recovery import ShopTableManager
from ecommerce_streams.partitioning import partition_for_key
from ecommerce_streams.settings import Settings
from ecommerce_streams.web.guard import Endpoint, Guard
from ecommerce_streams.web.http_server import ShopWeb


class ShopApp(faust.App):
    """Faust app wired to the exactly-once transport for both consuming and producing."""

    exactly_once_repairs: frozenset[Repair] = DEFAULT_REPAIRS
    #: Events a commit may wait for while the agents' input never drains.
    commit_max_events: int = DEFAULT_COMMIT_MAX_EVENTS
    #: RocksDB options every table store opens its databases with.
    rocksdb_options: dict[str, int] = {}
    #: Every topic the app writes derived events to (a fresh producer aborts in each, gap 15).
    output_topics: frozenset[str] = frozenset()
    #: The checks every HTTP request passes (set from the settings by ``create_app``).
    guard: Guard
    #: Names the worker's transactional producer (``worker-transactions``); unique per worker.
    worker_name: str = "worker"

    def endpoint(self, path: str, endpoint: Endpoint) -> Callable[[type[View]], type[View]]:
        """Serve a view at ``path`` behind the guard, with the checks ``endpoint`` asks for."""
        self.guard.declare(path, endpoint)
        return self.page(path)

    def _new_web(self) -> ShopWeb:
        return ShopWeb(self, self.guard)

    def _new_transport(self) -> faust_aiokafka.Transport:
        return self._transport_class(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> faust_aiokafka.Transport:
        return self._transport_class(self.conf.broker_producer, self)

    @property
    def _transport_class(self) -> type[faust_aiokafka.Transport]:
        return ExactlyOnceTransport if self.exactly_once_repairs else faust_aiokafka.Transport


def create_app(settings: Settings) -> ShopApp:
    """Build the app for these settings (topics, tables and agents attach to it)."""
    worker_name = settings.worker_name or f"{socket.gethostname()}-{settings.web_port}"
    shop = ShopApp(
        settings.app_id,
        version=settings.app_version,
        broker=f"kafka://{settings.bootstrap}",
        store="fresh-rocksdb://",
        TableManager=ShopTableManager,
        Table=CachedTable,
        Worker=StopNotingWorker,
        processing_guarantee=settings.processing_guarantee,
        datadir=str(settings.datadir),
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        canonical_url=settings.web_advertised_url
        or f"http://{settings.web_host}:{settings.web_port}",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        topic_allow_declare=True,
        table_standby_replicas=0,
        broker_client_id=client_id(worker_name),
        broker_commit_interval=settings.commit_interval_seconds,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.session_timeout_seconds / 5,
        producer_linger=settings.producer_linger_seconds,
        producer_partitioner=partition_for_key,
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=settings.consumer_max_poll_records,
        consumer_max_fetch_size=settings.consumer_max_fetch_bytes,
        consumer_metadata_max_age_ms=5_000,
        producer_metadata_max_age_ms=5_000,
        producer_acks=-1,
        key_serializer="raw",
        value_serializer="raw",
        logging_config=None,
    )
    shop.guard = Guard(
        token=settings.api_token,
        token_on_reads=settings.api_token_on_reads,
        max_body_bytes=settings.max_body_bytes,
    )
    shop.exactly_once_repairs = parse_repairs(settings.exactly_once_repairs)
    shop.commit_max_events = settings.commit_max_events
    shop.worker_name = worker_name
    shop.rocksdb_options = {
        "write_buffer_size": settings.rocksdb_write_buffer_bytes,
        "max_write_buffer_number": 2,
        "block_cache_size": settings.rocksdb_block_cache_bytes,
    }
    return shop


settings = Settings()
app = create_app(settings)
