"""A fetched message reaches the agents in the fetch loop's own turn unless something waits.

Faust's fetch loop races each delivery against a rebalance with four tasks per message;
speed-up ``direct-delivery`` awaits the delivery in place while nothing can hold it up.
These run Faust's own app and consumer in memory (no broker). Set
ES_TEST_EXACTLY_ONCE_REPAIRS=-direct-delivery to see the first one fail without it.
"""

import asyncio
import inspect

from faust.transport import consumer as faust_consumer

from ecommerce_streams.exactly_once import gate_of
from ecommerce_streams.worker.app import ShopApp
from tests.unit.exactly_once_app import flowing_app, order_event


def delivering_consumer(app: ShopApp) -> tuple[object, list[asyncio.Task[object] | None]]:
    """The app's consumer, its delivery replaced by one that notes the task it runs in."""
    consumer = app.consumer
    ran_in: list[asyncio.Task[object] | None] = []

    async def deliver(message: object) -> None:
        ran_in.append(asyncio.current_task())

    consumer.callback = deliver  # type: ignore[attr-defined]  # set by Faust's __init__
    return consumer, ran_in


async def test_a_message_with_room_in_every_input_is_delivered_in_the_fetch_loops_turn() -> None:
    app = flowing_app()
    consumer, ran_in = delivering_consumer(app)
    gate_of(app).watch_input(asyncio.Queue(maxsize=1))

    message = order_event(app, 7)
    result = await consumer.wait_first(  # type: ignore[attr-defined]
        consumer.callback(message),  # type: ignore[attr-defined]
        consumer.suspend_flow.wait(),  # type: ignore[attr-defined]
    )

    assert ran_in == [asyncio.current_task()], "the delivery ran in a task of its own"
    assert not result.stopped


async def test_a_message_for_a_full_input_is_raced_against_a_rebalance_as_faust_does() -> None:
    app = flowing_app()
    consumer, ran_in = delivering_consumer(app)
    full: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
    full.put_nowait(1)
    gate_of(app).watch_input(full)

    await consumer.wait_first(  # type: ignore[attr-defined]
        consumer.callback(order_event(app, 7)),  # type: ignore[attr-defined]
        consumer.suspend_flow.wait(),  # type: ignore[attr-defined]
    )

    assert len(ran_in) == 1
    assert ran_in[0] is not asyncio.current_task()


async def test_a_delivery_that_waits_gives_way_to_a_rebalance() -> None:
    app = flowing_app()
    consumer = app.consumer
    never = asyncio.Event()

    async def deliver(message: object) -> None:
        await never.wait()  # an agent's input that never has room

    consumer.callback = deliver  # type: ignore[attr-defined]
    consumer.suspend_flow.set()  # type: ignore[attr-defined]  # a rebalance has begun

    result = await asyncio.wait_for(
        consumer.wait_first(  # type: ignore[attr-defined]
            consumer.callback(order_event(app, 7)),  # type: ignore[attr-defined]
            consumer.suspend_flow.wait(),  # type: ignore[attr-defined]
        ),
        timeout=5,
    )

    assert len(result.done) == 1, "only the rebalance finished"


def test_fausts_fetch_loop_still_races_each_delivery_against_a_rebalance() -> None:
    loop_source = inspect.getsource(faust_consumer.Consumer._drain_messages)
    assert "self.wait_first(" in loop_source
    assert "callback(message), self.suspend_flow.wait()" in loop_source
