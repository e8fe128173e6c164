"""Prometheus metrics of a worker: events ingested, processed, dropped, dead-lettered; commits."""

import functools
from typing import TypeVar

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

Metric = TypeVar("Metric", bound=MetricWrapperBase)


@functools.cache
def labelled(metric: Metric, *values: str) -> Metric:
    """The child of ``metric`` for these label values, looked up once (``labels`` validates
    and locks on every call, 1.5 % of a worker's CPU when each event paid it)."""
    return metric.labels(*values)


events_processed = Counter(
    "es_events_processed",
    "Input events applied, by stage, topic and event type.",
    ["stage", "topic", "event_type"],
)
events_routed = Counter(
    "es_events_routed",
    "Deliveries written by the router, by route (rule/<name>/<target> or subscription/<id>).",
    ["route"],
)
deliveries = Counter(
    "es_deliveries",
    "Outcomes of the delivery service's attempts, by endpoint (scheme, host and port) and "
    "outcome (delivered, retried, dead-lettered).",
    ["endpoint", "outcome"],
)
deliveries_in_flight = Gauge(
    "es_deliveries_in_flight",
    "Deliveries the delivery service has taken and not finished (under way or waiting to retry).",
)
breaker_open = Gauge(
    "es_delivery_breaker_open",
    "1 while an endpoint's circuit breaker lets nothing through, else 0.",
    ["endpoint"],
)
duplicates_dropped = Counter(
    "es_duplicates_dropped",
    "Input events dropped because their event id was already applied.",
    ["stage", "topic"],
)
dedup_ids_expired = Counter(
    "es_dedup_ids_expired",
    "Event ids deleted from the dedup table ``seen`` once past ES_DEDUP_WINDOW_SECONDS.",
)
dead_letters_sent = Counter(
    "es_dead_letters",
    "Input messages sent to dead-letters, by stage and reason category.",
    ["stage", "topic", "category"],
)
events_ingested = Counter(
    "es_events_ingested",
    "Source events accepted by POST /events and acknowledged by the broker.",
    ["topic", "event_type"],
)
transactions_committed = Counter(
    "es_transactions_committed",
    "Kafka transactions committed (one per transactional producer and commit).",
)
transactions_aborted = Counter(
    "es_transactions_aborted",
    "Commits that failed or were refused after a failure; their transactions never commit.",
)
commit_rounds = Histogram(
    "es_commit_round_seconds",
    "A commit round, gate closed: units in flight finish, records settle, transactions commit.",
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5),
)
commit_steps = Histogram(
    "es_commit_step_seconds",
    "Each step of a commit round: units (the units in flight finish), changes (the table "
    "changes are sent), transactions (offsets, acknowledgements, commit), stores (RocksDB).",
    ["step"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 1.0),
)
commit_markers_seen = Histogram(
    "es_commit_markers_seen_seconds",
    "From a commit's answer until a marker of it was read in every partition it wrote "
    "(confirmed-commits): the producer's next transaction reaches its coordinator no sooner.",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 1.0, 10.0),
)
collector_pauses = Histogram(
    "es_gc_pause_seconds",
    "Python's cyclic garbage collections and how long each stopped the worker, by generation "
    "(0 and 1 young, 2 full).",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
loop_lag = Histogram(
    "es_event_loop_lag_seconds",
    "How much later than asked the worker's event loop woke a sleeper: every broker reply a "
    "commit round waits for waits this long for the loop as well.",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
unit_events = Histogram(
    "es_unit_events",
    "Input events per unit of work (one, or those waiting in an agent's input: batched-units).",
    buckets=(1, 2, 5, 10, 20, 50, 100),
)
end_to_end_latency = Histogram(
    "es_end_to_end_latency_seconds",
    "From an input's log timestamp to the moment its derived events were sent.",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
table_store_writes = Counter(
    "es_table_store_writes",
    "Changes of table state written to the local RocksDB (restores not counted), by table.",
    ["table"],
)
changelog_records_restored = Counter(
    "es_changelog_records_restored",
    "Committed changelog records applied to local tables while restoring partitions.",
)
