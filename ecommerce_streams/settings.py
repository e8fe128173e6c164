"""Configuration from ``ES_*`` environment variables (pydantic-settings)."""

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ecommerce_streams.topic_names import TopicNames
from models.envelope import field_problem
from models.routing.rules import DestinationKind, parse_destination


class Settings(BaseSettings):
    """Every knob of a worker; each field is the ``ES_<NAME>`` environment variable."""

    model_config = SettingsConfigDict(env_prefix="ES_", frozen=True)

    broker: str | None = Field(
        default=None,
        description="Kafka bootstrap servers (host:port,...). Unset: the embedded broker.",
    )
    kafka_port: int = Field(
        default=9092, ge=1, le=65535, description="Client port of the embedded broker."
    )
    kafka_controller_port: int = Field(
        default=9093, ge=1, le=65535, description="Controller port of the embedded broker."
    )
    kafka_home: Path | None = Field(
        default=None,
        description="The embedded broker's jars and data "
        "[default: <XDG_CACHE_HOME or ~/.cache>/ecommerce-streams/kafka].",
    )
    app_id: str = Field(default="ecommerce-streams", description="Faust app id = consumer group.")
    app_version: int = Field(default=1, description="Bump to rebuild every table from scratch.")
    topic_prefix: str = Field(default="", description="Prefix of every topic name.")
    replay: bool = Field(
        default=False,
        description="Replay worker: derived topics go to '<prefix>replay-v<version>.' copies.",
    )
    routing: bool = Field(
        default=True,
        description="Route events to the routing rules and subscriptions (never in a replay).",
    )
    partitions: int = Field(default=8, ge=1, le=1024, description="Partitions per topic.")
    replication: int = Field(default=1, ge=1, description="Replication factor of new topics.")
    processing_guarantee: Literal["exactly_once", "at_least_once"] = Field(
        default="exactly_once", description="Faust processing guarantee."
    )
    exactly_once_repairs: str = Field(
        default="default",
        description="Fixes of Faust's transaction gaps: default, all (adds unproven "
        "ones; none today), none, a comma list, or -name to drop one (to show what each does).",
    )
    datadir: Path = Field(default=Path("var/worker"), description="Local state of this worker.")
    web_host: str = Field(default="127.0.0.1", description="Web server bind address.")
    web_port: int = Field(default=6066, description="Web server port of this worker.")
    worker_name: str | None = Field(
        default=None,
        description="Unique name of this worker among the app's workers, kept across restarts "
        "(names its transactional producer under worker-transactions; default host-webport).",
    )
    web_advertised_url: str | None = Field(
        default=None,
        description="URL other workers reach this one at (default http://host:port); "
        "set it when the web server binds to 0.0.0.0.",
    )
    dedup_window_seconds: float = Field(
        default=300.0, gt=0, description="How long an event id is remembered for deduplication."
    )
    commit_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        description="The longest a transaction stays open while the input never drains "
        "(a backlog's commit rounds: CPU per event vs how often outputs become visible).",
    )
    commit_max_events: int = Field(
        default=4000,
        ge=1,
        description="Events a commit waits for at most while the input never drains.",
    )
    producer_linger_seconds: float = Field(
        default=0.02,
        ge=0,
        description="How long the producer waits to batch sends into a request (bench/results).",
    )
    thread_switch_seconds: float = Field(
        default=0.001,
        gt=0,
        le=0.1,
        description="How long Python lets one thread hold the interpreter before another "
        "may take it (sys.setswitchinterval; Python's default is 0.005).",
    )
    event_loop: Literal["asyncio", "uvloop"] = Field(
        default="uvloop",
        description="The worker's event loops (its own and its consumer thread's): uvloop "
        "(libuv), or Python's own asyncio loop.",
    )
    gc_young_allocations: int = Field(
        default=20_000,
        ge=100,
        le=10_000_000,
        description="New objects Python's garbage collector lets pile up before it collects "
        "the young generation (gc.set_threshold; Python's default is 700).",
    )
    gc_freeze: bool = Field(
        default=True,
        description="Freeze the objects the worker's start built (gc.freeze), before Faust "
        "starts and once it runs, so full collections skip them.",
    )
    consumer_max_poll_records: int = Field(
        default=500,
        ge=1,
        description="Records the consumer hands to the agents per poll. Each becomes Python "
        "objects at once: with a backlog in every partition, Faust's unbounded default held "
        "83,000 of them (bench/results/consumer-memory-20261130).",
    )
    consumer_max_fetch_bytes: int = Field(
        default=256 * 1024,
        ge=16 * 1024,
        description="Bytes one fetch returns per partition at most (Faust's default is 1 "
        "MiB); a worker buffers up to this much per partition it reads. A larger record "
        "still comes, alone.",
    )
    session_timeout_seconds: float = Field(
        default=10.0,
        ge=6,
        description="How soon the group notices a dead worker and moves its partitions.",
    )
    stall_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A worker whose event or commit makes no progress this long exits (twice "
        "this long for a rebalance or recovery that processes and restores nothing).",
    )
    rocksdb_write_buffer_bytes: int = Field(
        default=4 * 1024**2,
        ge=1024**2,
        description="RocksDB memtable size per table partition (Faust's default is 64 MiB).",
    )
    rocksdb_block_cache_bytes: int = Field(
        default=64 * 1024**2,
        ge=8 * 1024**2,
        description="RocksDB memory per worker: one block cache shared by every table "
        "partition, with the memtables charged to it (up to half).",
    )
    api_token: str | None = Field(
        default=None, description="Bearer token required by POST /events (unset: open)."
    )
    api_token_on_reads: bool = Field(
        default=False,
        description="Require ES_API_TOKEN on GET /orders and GET /inventory too.",
    )
    max_body_bytes: int = Field(default=1_048_576, description="Largest POST /events body.")
    max_inflight_requests: int = Field(
        default=64, ge=1, description="POST /events requests served at once; more get 503."
    )
    log_level: str = Field(default="info", description="Worker log level.")
    queue_port: int = Field(
        default=6068, description="Port of the queue server (ecommerce-streams queues serve)."
    )
    schema_registry_url: str | None = Field(
        default=None,
        description="A Confluent-compatible schema registry API (Confluent, Apicurio's "
        "/apis/ccompat/v7, Karapace). Unset: the embedded registry.",
    )
    registry_port: int = Field(
        default=8081, ge=1, le=65535, description="REST port of the embedded schema registry."
    )
    registry_management_port: int = Field(
        default=9081, ge=1, le=65535, description="Health port of the embedded schema registry."
    )
    registry_home: Path | None = Field(
        default=None,
        description="The embedded registry's distribution and logs "
        "[default: <XDG_CACHE_HOME or ~/.cache>/ecommerce-streams/registry].",
    )
    schema_compatibility: Literal[
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
        "NONE",
    ] = Field(default="BACKWARD", description="Compatibility level of every event's subject.")
    schema_compatibility_per_subject: dict[str, str] = Field(
        default_factory=dict,
        description='Levels of single subjects, as JSON: {"orders-OrderPlaced": "FULL"}.',
    )
    notification_endpoint: str | None = Field(
        default=None,
        description="HTTP(S) URL of the e-mail/SMS provider: every notification is delivered "
        "to it (subscription notification-provider, raw) by the delivery service.",
    )

    @field_validator("notification_endpoint")
    @classmethod
    def _http_endpoint(cls, value: str | None) -> str | None:
        """Only an http(s) URL can be the provider's endpoint."""
        if value is not None and parse_destination(value).kind is DestinationKind.KAFKA:
            raise ValueError("must be an http(s) URL, not a Kafka topic")
        return value

    delivery_max_retries: int = Field(
        default=185, ge=0, le=185, description="Retries of an HTTP delivery (EventBridge's 0-185)."
    )
    delivery_max_event_age_seconds: int = Field(
        default=86_400,
        ge=60,
        le=86_400,
        description="An HTTP delivery older than this is dead-lettered, not retried.",
    )
    delivery_base_delay_seconds: float = Field(
        default=1.0, gt=0, description="First retry delay ceiling; doubles per retry (jittered)."
    )
    delivery_max_delay_seconds: float = Field(
        default=300.0, gt=0, description="Longest delay between two tries of a delivery."
    )
    delivery_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest one HTTP request of a delivery may take."
    )
    delivery_concurrency_per_endpoint: int = Field(
        default=4, ge=1, description="Requests the delivery service makes at once to one endpoint."
    )
    delivery_breaker_failures: int = Field(
        default=5, ge=1, description="Failures in a row that open an endpoint's circuit breaker."
    )
    delivery_metrics_port: int | None = Field(
        default=None,
        description="Port of the delivery service's /metrics page (unset: none).",
    )
    delivery_breaker_cooldown_seconds: float = Field(
        default=30.0, gt=0, description="How long an open breaker lets nothing through."
    )

    @cached_property
    def topics(self) -> TopicNames:
        """Topic names under the configured prefix (a replay's own derived topics if replaying)."""
        names = TopicNames(self.topic_prefix)
        return names.replay(self.app_version) if self.replay else names

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers: ES_BROKER, or the embedded broker on 127.0.0.1."""
        return self.broker or f"127.0.0.1:{self.kafka_port}"


def settings_from_environment() -> Settings:
    """The settings; a ValueError naming each ES_* variable at fault when one is invalid."""
    try:
        return Settings()
    except ValidationError as invalid:
        problems = [field_problem(problem) for problem in invalid.errors(include_url=False)]
        described = "; ".join(f"ES_{path.upper()}: {message}" for path, message in problems)
        raise ValueError(f"invalid settings: {described}") from None
