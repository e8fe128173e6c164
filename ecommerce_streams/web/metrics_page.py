"""``GET /metrics``: the worker's Prometheus metrics, with consumer lag read per scrape.

Counters and the latency histogram are kept by the code that does the work
(:mod:`ecommerce_streams.metrics`). One gauge is read from Faust when scraped:
``es_consumer_lag{topic, partition}``: for each input partition this worker owns, the
high-water mark minus the committed offset (the read position when nothing is
committed yet). Under exactly-once the high-water mark is the last stable offset,
which counts transaction markers: partitions written by transactions (stock commands
and results) settle at a small number, not 0.

There is no table-size gauge: RocksDB's ``estimate-num-keys`` counts every write until
compaction (9,055 "keys" for 2,006 orders), and an exact count would scan every
partition on each scrape. The number of orders is the verifier's to tell.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from faust.types import TP
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ecommerce_streams.web.guard import OPERATIONS
from ecommerce_streams.worker.app import app


def consumer_lag() -> Iterator[tuple[TP, int]]:
    """Messages not yet committed, per input partition this worker owns."""
    if not app.in_worker or app.consumer.state != "running":
        return
    consumer: Any = app.consumer  # Faust's Consumer: its offsets are not in ConsumerT
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


class WorkerState(Collector):
    """Gauges computed from the running worker each time metrics are scraped."""

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: registering must not touch the consumer before the worker runs."""
        return ()

    def collect(self) -> Iterable[Metric]:
        """Consumer lag per partition, as it is now."""
        lag = GaugeMetricFamily(
            "es_consumer_lag",
            "High-water mark minus committed offset, per input partition of this worker.",
            labels=["topic", "partition"],
        )
        for tp, messages in consumer_lag():
            lag.add_metric([tp.topic, str(tp.partition)], messages)
        return [lag]


REGISTRY.register(WorkerState())


@app.endpoint("/metrics", OPERATIONS)
class Metrics(View):
    """Prometheus scrape target."""

    async def get(self, request: Request) -> Response:
        """Every metric of this worker in the Prometheus text format."""
        return self.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})
