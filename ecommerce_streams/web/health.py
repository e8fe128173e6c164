"""HTTP endpoints every worker serves: health and readiness."""

import logging
from typing import Any

from faust.web import Request, Response, View

from ecommerce_streams.web.guard import OPERATIONS
from ecommerce_streams.web.problems import Problem
from ecommerce_streams.worker.app import app

logger = logging.getLogger(__name__)


def readiness() -> dict[str, Any]:
    """What the worker still waits for before it processes events, and what it owns."""
    consumer_started = app.consumer.state == "running" if app.in_worker else False
    tables = app.tables
    actives = app.assignor.assigned_actives() if app.in_worker else set()
    partitions: dict[str, list[int]] = {}
    for tp in sorted(actives):
        partitions.setdefault(tp.topic, []).append(tp.partition)
    return {
        "consumer_running": consumer_started,
        "rebalancing": bool(app.rebalancing),
        "in_recovery": bool(app.in_recovery),
        "tables_recovered": bool(tables.actives_ready),
        "assigned_partitions": len(actives),
        "partitions": partitions,
        "changelogs_in_metadata": consumer_started and changelogs_in_metadata(),
    }


def changelogs_in_metadata() -> bool:
    """Whether no table's changelog is seen with 0 partitions by the consumer's metadata.

    On a first start Faust creates the changelogs itself, and the group leader's metadata
    snapshot can list them with 0 partitions until the next refresh
    (``consumer_metadata_max_age_ms``) and rebalance; an event that writes a table in
    that window crashes the worker with PartitionsMismatch (``Table``'s source check).
    A changelog missing from the snapshot (None) is not checked, so it is harmless.
    Before the Kafka consumer has joined its group it has no coordinator, hence no
    snapshot, and Faust's ``topic_partitions`` raises AttributeError: not yet.
    """
    try:
        return all(
            app.consumer.topic_partitions(table.changelog_topic_name) != 0
            for table in app.tables.values()
        )
    except AttributeError:  # consumer._coordinator is None until the group is joined
        return False


def is_ready(state: dict[str, Any]) -> bool:
    """Ready: consuming, not rebalancing, every active table partition recovered."""
    return (
        state["consumer_running"]
        and not state["rebalancing"]
        and not state["in_recovery"]
        and state["tables_recovered"]
    )


@app.endpoint("/health", OPERATIONS)
class Health(View):
    """Liveness: the process serves HTTP."""

    async def get(self, request: Request) -> Response:
        """Always 200 while the event loop runs."""
        return self.json({"status": "ok"})


@app.endpoint("/ready", OPERATIONS)
class Ready(View):
    """Readiness: 503 until the worker has its assignment and its tables are recovered."""

    async def get(self, request: Request) -> Response:
        """200 with the readiness facts, or a 503 problem carrying the same facts.

        Faust's state is read while it starts and rebalances; whatever fails to read
        then means "not ready" too, never a server error.
        """
        try:
            state = readiness()
        except Exception:
            logger.exception("readiness could not be read")
            raise not_ready("the worker's state cannot be read yet", {}) from None
        if not is_ready(state):
            raise not_ready("the worker is starting, rebalancing or recovering its tables", state)
        return self.json(state)


def not_ready(detail: str, state: dict[str, Any]) -> Problem:
    """The 503 answer of ``/ready``, with what is known of the worker's state."""
    return Problem(
        503,
        "not-ready",
        "Not ready",
        f"{detail}; retry",
        headers={"Retry-After": "1"},
        extensions=state,
    )
