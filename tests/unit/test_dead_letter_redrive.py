"""Only a redrive that can take effect is sent: decodable, same event id, same key, not sent yet."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from ecommerce_streams.operations.dead_letter_queue import (
    QueuedLetter,
    RedriveRefused,
    choose,
    find,
    plan_resend,
)
from models.dead_letter import DeadLetter
from models.envelope import Envelope, encode_event
from models.events import OrderLine, OrderPlaced
from models.redrive import Redrive

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EVENT_ID = uuid.UUID("6f1c1c1e-8b7e-4c55-9f3e-2a1b0c9d8e7f")


def order_event(order_id: str = "ord-1", event_id: uuid.UUID = EVENT_ID) -> Envelope:
    """A valid OrderPlaced: two units at 9.50."""
    order = OrderPlaced(
        order_id=order_id,
        customer_id="cust-1",
        lines=(OrderLine(sku="SKU-1", qty=2, unit_price=Decimal("9.50")),),
        currency="EUR",
        total=Decimal("19.00"),
        shipping_address="1 Main Street, Springfield",
    )
    return Envelope.of(order, event_id=event_id, source="web", occurred_at=NOW)


def wrong_total() -> bytes:
    """The order with a total that is not the sum of its lines."""
    document = order_event().model_dump(mode="json")
    document["data"]["total"] = "20.00"
    return orjson.dumps(document)


def queued(raw: bytes, *, offset: int = 7, redriven: bool = False) -> QueuedLetter:
    """A letter at partition 1 of dead-letters, keyed by ord-1."""
    letter = DeadLetter.of(
        raw,
        b"ord-1",
        source_topic="shop.orders",
        partition=2,
        offset=40,
        error="data.total: not the sum of the lines",
        stage="orders",
        failed_at=NOW,
    )
    redrive = Redrive(
        letter=f"1:{offset}",
        source_topic="shop.orders",
        partition=2,
        offset=90,
        event_id=EVENT_ID,
        fixed=True,
        redriven_at=NOW,
    )
    return QueuedLetter(1, offset, letter, redrive if redriven else None)


def test_a_fix_that_keeps_event_id_and_key_is_planned_with_the_original_key() -> None:
    resend = plan_resend(queued(wrong_total()), encode_event(order_event()))

    assert resend.key == b"ord-1"
    assert resend.value == encode_event(order_event())
    assert resend.event_id == EVENT_ID
    assert resend.fixed


def test_a_letter_that_still_does_not_decode_is_refused_with_a_hint_to_fix_it() -> None:
    with pytest.raises(RedriveRefused, match=r"still invalid.*--fix-with"):
        plan_resend(queued(wrong_total()))


def test_a_fix_with_another_event_id_is_refused() -> None:
    other = encode_event(order_event(event_id=uuid.uuid4()))

    with pytest.raises(RedriveRefused, match="keep the original id"):
        plan_resend(queued(wrong_total()), other)


def test_a_fix_for_another_order_is_refused_because_its_key_would_not_match() -> None:
    with pytest.raises(RedriveRefused, match="not the original key"):
        plan_resend(queued(wrong_total()), encode_event(order_event(order_id="ord-2")))


def test_a_letter_already_redriven_is_refused_unless_asked_again() -> None:
    letter = queued(wrong_total(), redriven=True)
    fix = encode_event(order_event())

    with pytest.raises(RedriveRefused, match="already redriven"):
        plan_resend(letter, fix)
    assert plan_resend(letter, fix, again=True).value == fix


def test_a_letter_that_decodes_now_is_resent_unchanged() -> None:
    original = encode_event(order_event())

    resend = plan_resend(queued(original))

    assert resend.value == original and not resend.fixed


def test_a_bare_offset_names_a_letter_only_when_one_partition_has_it() -> None:
    letters = [queued(b"x", offset=7), queued(b"y", offset=8)]
    clash = [QueuedLetter(0, 7, letters[0].letter), *letters]

    assert find(letters, "7").id == "1:7"
    assert find(clash, "0:7").partition == 0
    with pytest.raises(LookupError, match="0:7, 1:7"):
        find(clash, "7")
    with pytest.raises(LookupError, match="no dead letter 9"):
        find(letters, "9")


def test_all_chooses_only_letters_not_redriven_yet() -> None:
    fresh, done = queued(b"x", offset=7), queued(b"y", offset=8, redriven=True)

    assert choose([fresh, done], [], everything=True) == [fresh]
    assert choose([fresh, done], ["1:8"]) == [done]
