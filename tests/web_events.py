"""Source events as the shop's systems POST them: JSON documents for the web tests."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from models.envelope import Envelope, Source, encode_event
from models.events import OrderLine, OrderPlaced, Payload, PaymentAuthorized, StockReceived

UNIT_PRICE = Decimal("9.50")


def document(data: Payload, source: Source) -> dict[str, Any]:
    """A valid envelope around ``data`` with a fresh event id, as a JSON document."""
    envelope = Envelope.of(
        data, event_id=uuid.uuid4(), source=source, occurred_at=datetime.now(UTC)
    )
    return orjson.loads(encode_event(envelope))


def order_placed(
    order_id: str, sku: str, qty: int = 2, unit_price: Decimal = UNIT_PRICE
) -> dict[str, Any]:
    """An order for ``qty`` units of one sku."""
    return document(
        OrderPlaced(
            order_id=order_id,
            customer_id="cust-web",
            lines=(OrderLine(sku=sku, qty=qty, unit_price=unit_price),),
            currency="EUR",
            total=qty * unit_price,
            shipping_address="1 Main Street, Springfield",
        ),
        "web",
    )


def stock_received(sku: str, qty: int = 10) -> dict[str, Any]:
    """A delivery of ``qty`` units of a sku to the warehouse."""
    return document(StockReceived(sku=sku, qty=qty), "warehouse")


def payment_authorized(
    order_id: str, qty: int = 2, unit_price: Decimal = UNIT_PRICE
) -> dict[str, Any]:
    """The payment that exactly covers :func:`order_placed` with the same ``qty`` and price."""
    return document(
        PaymentAuthorized(
            order_id=order_id,
            payment_id=f"pay-{order_id}",
            amount=qty * unit_price,
            currency="EUR",
        ),
        "payments-gateway",
    )


def unique(prefix: str) -> str:
    """An identifier no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
