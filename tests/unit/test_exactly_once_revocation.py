"""Rebalances never lose, repeat or wait forever for an event: units, acks and revocation.

These run Faust's own app, consumer and message objects in memory (no broker): the
behaviour under test is bookkeeping that decides what a commit may cover.
Set ES_TEST_EXACTLY_ONCE_REPAIRS (e.g. ``-shared-inputs``) to see each one fail
without its repair.
"""

import asyncio
from collections.abc import Awaitable

import pytest

from ecommerce_streams.exactly_once import gate_of, process_event
from ecommerce_streams.worker.app import ShopApp
from tests.unit.exactly_once_app import ORDER_EVENTS_6, event_of, flowing_app, order_event


@pytest.fixture
def app() -> ShopApp:
    """A worker-side app under exactly-once whose streams are flowing, never started."""
    return flowing_app()


async def finishes_within(app: ShopApp, work: Awaitable[object], *, seconds: float) -> None:
    """Fail if ``work`` has not finished in time, then stop it (it swallows cancellation)."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task not in done:
        app.consumer._stopped.set()  # ends Faust's wait loop, which ignores cancellation
        await asyncio.wait({task}, timeout=5)
    assert task in done, f"still waiting after {seconds}s: the revocation never ends"
    task.result()


async def nothing() -> None:
    """A unit of work with no effects."""


async def test_an_event_two_agents_read_is_processed_only_when_both_have_processed_it(
    app: ShopApp,
) -> None:
    message = order_event(app, 299, readers=2)  # notifications and analytics

    await process_event(app, event_of(app, message), nothing)  # notifications
    assert gate_of(app).processed == {}, "committing now would skip analytics' effect"

    await process_event(app, event_of(app, message), nothing)  # analytics
    assert gate_of(app).processed == {ORDER_EVENTS_6: 300}


async def test_an_event_fetched_before_a_rebalance_began_is_left_for_the_next_owner(
    app: ShopApp,
) -> None:
    message = order_event(app, 42)
    app.flow_control.suspend()  # a revocation began while the event waited at the gate
    worked: list[int] = []

    async def work() -> None:
        worked.append(message.offset)

    await process_event(app, event_of(app, message), work)
    assert worked == []
    assert gate_of(app).processed == {}


async def test_revocation_does_not_wait_for_a_message_no_stream_will_process(
    app: ShopApp,
) -> None:
    consumer = app.consumer
    message = order_event(app, 299, readers=2)
    await process_event(app, event_of(app, message), nothing)  # notifications processed it
    consumer._unacked_messages.add(message)  # analytics' copy was cleared from its queue
    app.flow_control.suspend()

    await finishes_within(app, consumer.wait_empty(), seconds=10)
    assert gate_of(app).processed == {}, "the message must be read again after the seek"


async def test_revocation_waits_for_the_unit_of_work_in_flight_then_ends(app: ShopApp) -> None:
    consumer = app.consumer
    message = order_event(app, 7, readers=2)  # analytics' copy was cleared from its queue
    consumer._unacked_messages.add(message)
    started, finish = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        started.set()
        await finish.wait()

    unit = asyncio.create_task(process_event(app, event_of(app, message), work))
    await started.wait()
    revocation = asyncio.create_task(consumer.wait_empty())
    await asyncio.sleep(0.05)
    assert not revocation.done(), "the revocation commit must wait for the unit's effects"
    finish.set()
    await finishes_within(app, asyncio.gather(unit, revocation), seconds=10)
    assert not consumer._unacked_messages
