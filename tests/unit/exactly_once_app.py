"""An exactly-once app and order-events messages in memory, for the commit path's unit tests."""

import itertools
import os
import tempfile
from pathlib import Path

import faust
from faust.types import TP
from faust.types.tuples import Message

from ecommerce_streams.exactly_once import parse_repairs
from ecommerce_streams.worker.app import ShopApp

ORDER_EVENTS_6 = TP("order-events", 6)
_app_ids = itertools.count()


def exactly_once_app(name: str) -> ShopApp:
    """A fresh app under exactly-once, never started, with the repairs the test run asks for."""
    app_id = f"{name}-{os.getpid()}-{next(_app_ids)}"
    shop = ShopApp(
        app_id,
        broker="kafka://127.0.0.1:9",
        processing_guarantee="exactly_once",
        datadir=Path(tempfile.gettempdir()) / "ecommerce-streams-unit" / app_id,
    )
    shop.exactly_once_repairs = parse_repairs(os.environ.get("ES_TEST_EXACTLY_ONCE_REPAIRS", "all"))
    return shop


def flowing_app() -> ShopApp:
    """A worker-side app under exactly-once whose streams are flowing, never started."""
    shop = exactly_once_app("revocation-test")
    shop.in_worker = True
    shop.flow_control.resume()
    return shop


def message_of(
    tp: TP, offset: int, *, headers: list[tuple[str, bytes]] | None = None, generation: int = 0
) -> Message:
    """A Faust message at ``offset`` of partition ``tp``, fetched in consumer ``generation``."""
    return Message(
        tp.topic,
        tp.partition,
        offset,
        timestamp=0.0,
        timestamp_type=0,
        headers=headers,
        key=b"ord-1",
        value=b"{}",
        checksum=None,
        tp=tp,
        generation_id=generation,
    )


def order_event(app: ShopApp, offset: int, *, readers: int = 1) -> Message:
    """A message of order-events partition 6 handed to ``readers`` streams."""
    message = message_of(ORDER_EVENTS_6, offset, generation=app.consumer_generation_id)
    message.refcount = readers
    return message


def event_of(app: ShopApp, message: Message) -> faust.Event:
    """One stream's event for the message."""
    return faust.Event(app, message.key, message.value, None, message)
