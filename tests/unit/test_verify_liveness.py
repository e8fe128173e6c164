"""Liveness: after the last fault every worker answers /ready and every order ends, in time."""

import asyncio
from dataclasses import dataclass
from uuid import UUID

import aiohttp
import pytest

from ecommerce_streams.harness.verify import liveness
from ecommerce_streams.harness.verify.liveness import Recovery, await_recovery
from ecommerce_streams.topic_names import TopicNames
from models.envelope import Envelope, derive
from models.events import OrderRejected, PaymentDeclined
from tests.unit.order_samples import AT, ScriptedReader, record

NAMES = TopicNames(prefix="t-")
DECLINED = Envelope.of(
    PaymentDeclined(order_id="o-1", payment_id="p-1", reason="card expired"),
    event_id=UUID(int=2),
    source="payments-gateway",
    occurred_at=AT,
)
REJECTED = derive(
    DECLINED, OrderRejected(order_id="o-1", customer_id="c-1", reason="payment_declined")
)


@dataclass
class Worker:
    """Stands in for a WorkerProcess: ready once ``ready_after`` polls have passed."""

    name: str
    ready_after: int | None
    polls: int = 0

    async def is_ready(self, session: aiohttp.ClientSession) -> bool:
        self.polls += 1
        return self.ready_after is not None and self.polls > self.ready_after


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> type[ScriptedReader]:
    """Replace Kafka reading by a script, and poll quickly."""
    return ScriptedReader.instead_of_kafka(liveness, monkeypatch)


async def recover(workers: list[Worker], bound: float) -> Recovery:
    """Await recovery of the stand-in workers and the one order o-1, from now."""
    return await await_recovery(
        "unused:9092",
        NAMES,
        lambda: workers,  # type: ignore[arg-type, return-value]
        {"o-1"},
        since=asyncio.get_running_loop().time(),
        bound=bound,
    )


async def test_recovery_is_timed_once_every_worker_is_ready_and_every_order_decided(
    scripted: type[ScriptedReader],
) -> None:
    scripted.batches = [{}, {NAMES.order_events: [record(NAMES.order_events, 0, REJECTED)]}]
    workers = [Worker("worker-0", ready_after=0), Worker("worker-1", ready_after=3)]
    recovery = await recover(workers, bound=5.0)
    assert recovery.recovered
    assert recovery.seconds is not None and 0 < recovery.seconds < 5.0
    assert recovery.violation() is None
    assert workers[1].polls == 4


async def test_a_worker_that_never_becomes_ready_is_a_wedge(
    scripted: type[ScriptedReader],
) -> None:
    scripted.batches = [{NAMES.order_events: [record(NAMES.order_events, 0, REJECTED)]}]
    workers = [Worker("worker-0", ready_after=0), Worker("worker-1", ready_after=None)]
    recovery = await recover(workers, bound=0.2)
    assert not recovery.recovered
    assert recovery.violation() == "wedged 0.2s after the last fault: workers not ready: worker-1"


async def test_an_order_undecided_past_the_bound_is_a_wedge(
    scripted: type[ScriptedReader],
) -> None:
    recovery = await recover([Worker("worker-0", ready_after=0)], bound=0.2)
    assert recovery.undecided == {"o-1"}
    assert recovery.violation() == "wedged 0.2s after the last fault: 1 orders undecided (o-1)"


def test_a_wedge_names_a_few_undecided_orders_and_counts_the_rest() -> None:
    recovery = Recovery(bound=120, undecided={f"o-{n}" for n in range(7)})
    assert recovery.violation() == (
        "wedged 120s after the last fault: 7 orders undecided (o-0, o-1, o-2, o-3, o-4 and 2 more)"
    )
