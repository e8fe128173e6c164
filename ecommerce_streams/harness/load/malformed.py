"""Ways a message can be broken, one named generator each, all of them undecodable."""

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from models.topics import SOURCE_ROLES, TopicRole

Document = dict[str, Any]


@dataclass(frozen=True)
class Specimen:
    """Valid envelopes (as JSON documents) of each source topic, ready to be spoiled."""

    order: Document
    payment: Document
    stock: Document

    def pick(self, rng: random.Random) -> tuple[TopicRole, Document]:
        """One of the three documents, with the topic it belongs on."""
        role = rng.choice(SOURCE_ROLES)
        return role, copy.deepcopy(self.of_role(role))

    def of_role(self, role: TopicRole) -> Document:
        """The document that travels on ``role``."""
        documents = {
            TopicRole.ORDERS: self.order,
            TopicRole.PAYMENTS: self.payment,
            TopicRole.INVENTORY: self.stock,
        }
        return documents[role]


@dataclass(frozen=True)
class Spoiled:
    """A broken message and the topic and key it is sent with."""

    topic_role: TopicRole
    key: bytes
    #: None is a tombstone: a record with a key and no value at all.
    value: bytes | None


Spoiler = Callable[[random.Random, Specimen], Spoiled]


def _key(document: Document) -> bytes:
    data = document["data"]
    return str(data.get("order_id") or data.get("sku")).encode()


def _spoiled(role: TopicRole, document: Document) -> Spoiled:
    return Spoiled(role, _key(document), orjson.dumps(document))


def not_json(rng: random.Random, specimen: Specimen) -> Spoiled:
    """Bytes that are not JSON at all: truncated, binary or plain text."""
    role, document = specimen.pick(rng)
    whole = orjson.dumps(document)
    value = rng.choice(
        (
            whole[: len(whole) // 2],
            b"\x00\xff\xfe" + whole[:16],
            b"order placed, see attachment",
        )
    )
    return Spoiled(role, _key(document), value)


def missing_field(rng: random.Random, specimen: Specimen) -> Spoiled:
    """An envelope or payload lacking a required field."""
    role, document = specimen.pick(rng)
    if rng.random() < 0.5:
        del document[rng.choice(("occurred_at", "source", "event_id"))]
    else:
        required = [
            name
            for name, value in document["data"].items()
            if name not in ("order_id", "sku") and value is not None  # None: an optional field
        ]
        del document["data"][rng.choice(required)]
    return _spoiled(role, document)


def unknown_event_type(rng: random.Random, specimen: Specimen) -> Spoiled:
    """An event type the shop never defined."""
    role, document = specimen.pick(rng)
    document["event_type"] = rng.choice(("OrderTeleported", "PaymentRefunded", "StockStolen"))
    return _spoiled(role, document)


def negative_qty(rng: random.Random, specimen: Specimen) -> Spoiled:
    """A line or a delivery with a negative number of units."""
    if rng.random() < 0.5:
        document = copy.deepcopy(specimen.order)
        line = rng.choice(document["data"]["lines"])
        line["qty"] = -line["qty"]
        return _spoiled(TopicRole.ORDERS, document)
    document = copy.deepcopy(specimen.stock)
    document["data"]["qty"] = -document["data"]["qty"]
    return _spoiled(TopicRole.INVENTORY, document)


def float_money(rng: random.Random, specimen: Specimen) -> Spoiled:
    """An amount written as a JSON float instead of a decimal string."""
    if rng.random() < 0.5:
        document = copy.deepcopy(specimen.payment)
        document["data"]["amount"] = float(document["data"]["amount"])
        return _spoiled(TopicRole.PAYMENTS, document)
    document = copy.deepcopy(specimen.order)
    line = rng.choice(document["data"]["lines"])
    line["unit_price"] = float(line["unit_price"])
    return _spoiled(TopicRole.ORDERS, document)


def total_mismatch(rng: random.Random, specimen: Specimen) -> Spoiled:
    """An order whose total is not the sum of its lines."""
    document = copy.deepcopy(specimen.order)
    total = Decimal(document["data"]["total"])
    wrong = total + Decimal(rng.choice(("0.01", "1.00", "10.00")))
    document["data"]["total"] = format(wrong, "f")
    return _spoiled(TopicRole.ORDERS, document)


def tombstone(rng: random.Random, specimen: Specimen) -> Spoiled:
    """A record with a key and no value (a deletion marker on a compacted topic)."""
    role, document = specimen.pick(rng)
    return Spoiled(role, _key(document), None)


def naive_datetime(rng: random.Random, specimen: Specimen) -> Spoiled:
    """An occurred_at with no UTC offset, so nobody knows when it happened."""
    role, document = specimen.pick(rng)
    stamp = document["occurred_at"]
    document["occurred_at"] = stamp.removesuffix("Z").split("+")[0]
    return _spoiled(role, document)


SPOILERS: dict[str, Spoiler] = {
    spoiler.__name__: spoiler
    for spoiler in (
        not_json,
        missing_field,
        unknown_event_type,
        negative_qty,
        float_money,
        total_mismatch,
        naive_datetime,
        tombstone,
    )
}
"""Every kind of malformed message the generator sends, by name."""
