"""``GET /metrics``: the worker's Prometheus metrics, with lag and table sizes read per scrape.

Counters and the latency histogram are kept by the code that does the work
(:mod:`ecommerce_streams.metrics`). Two gauges are read from Faust when scraped:

- ``es_consumer_lag{topic, partition}``: for each input partition this worker owns,
  the high-water mark minus the committed offset (the read position when nothing is
  committed yet). Under exactly-once the high-water mark is the last stable offset,
  which counts transaction markers: partitions written by transactions (stock
  commands and results) settle at a small number, not 0.
- ``es_table_keys{table}``: keys in this worker's partitions of each table, from
  RocksDB's ``rocksdb.estimate-num-keys`` (constant time, approximate after deletes
  and overwrites; counting exactly would scan every partition on each scrape).
"""

from collections.abc import Iterable, Iterator

import rocksdict
from faust.types import TP
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ecommerce_streams.app import app


def consumer_lag() -> Iterator[tuple[TP, int]]:
    """Messages not yet committed, per input partition this worker owns."""
    if not app.in_worker or app.consumer.state != "running":
        return
    consumer = app.consumer
    for tp in consumer.assignment():
        if not app.topics.acks_enabled_for(tp.topic):
            continue  # changelogs and Faust's own topics: no committed offset to compare
        try:
            highwater = consumer.highwater(tp)
        except (AssertionError, KeyError):  # revoked since assignment() was read
            continue
        if highwater is None or highwater < 0:
            continue  # nothing fetched from this partition yet
        committed = consumer._committed_offset.get(tp)
        if committed is None:
            read = consumer._read_offset.get(tp)
            committed = read + 1 if read is not None else 0
        yield tp, max(0, highwater - committed)


def table_keys() -> Iterator[tuple[str, int]]:
    """Estimated keys per table in the partitions this worker holds."""
    if not app.in_worker:
        return
    for name, table in app.tables.items():
        store = table.data
        databases = getattr(store, "_dbs", None)  # RocksDB: one database per partition
        if databases is None:
            yield name, len(store)
            continue
        yield name, sum(_estimated_keys(db) for db in list(databases.values()))


def _estimated_keys(db: rocksdict.Rdict) -> int:
    try:
        return db.property_int_value("rocksdb.estimate-num-keys") or 0
    except rocksdict.DbClosedError:  # partition revoked while scraping
        return 0


class WorkerState(Collector):
    """Gauges computed from the running worker each time metrics are scraped."""

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: registering must not touch the consumer before the worker runs."""
        return ()

    def collect(self) -> Iterable[Metric]:
        """Consumer lag per partition and table sizes, as they are now."""
        lag = GaugeMetricFamily(
            "es_consumer_lag",
            "High-water mark minus committed offset, per input partition of this worker.",
            labels=["topic", "partition"],
        )
        for tp, messages in consumer_lag():
            lag.add_metric([tp.topic, str(tp.partition)], messages)
        keys = GaugeMetricFamily(
            "es_table_keys",
            "Estimated keys (RocksDB estimate-num-keys) in this worker's table partitions.",
            labels=["table"],
        )
        for name, count in table_keys():
            keys.add_metric([name], count)
        return [lag, keys]


REGISTRY.register(WorkerState())


@app.page("/metrics")
class Metrics(View):
    """Prometheus scrape target."""

    async def get(self, request: Request) -> Response:
        """Every metric of this worker in the Prometheus text format."""
        return self.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})
