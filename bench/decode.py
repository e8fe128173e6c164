"""Decode cost per event: our plain JSON envelope against Confluent's framing with validation.

The source events of a seeded load, decoded as a worker does: plain, ``decode_event``;
framed, the id read from the header, the JSON checked against that id's compiled schema
(fastjsonschema, as the workers do once the schema is fetched) and then ``decode_event``.
No broker or registry: fetching a schema happens once per id and is not per-event cost.
"""

import statistics
import time
from collections.abc import Callable
from typing import Any

import fastjsonschema
import orjson

from bench.machine import machine_info
from ecommerce_streams.harness.load import LoadProfile, generate
from ecommerce_streams.schemas.evolution import current_schemas
from models.envelope import decode_event
from models.schemas.framing import frame, unframe

PASSES = 7


def corpus(orders: int) -> tuple[list[bytes], list[bytes], dict[int, Callable[[Any], Any]]]:
    """The load's valid source events plain and framed, and the validator of each schema id."""
    plain = [
        m.value
        for m in generate(LoadProfile(orders=orders, seed=5, malformed_ratio=0.0))
        if m.kind == "event" and m.value
    ]
    ids = {event_type: n for n, event_type in enumerate(sorted(current_schemas()), start=1)}
    validators = {
        ids[event_type]: fastjsonschema.compile(schema)
        for event_type, schema in current_schemas().items()
    }
    framed = [frame(ids[orjson.loads(raw)["event_type"]], raw) for raw in plain]
    return plain, framed, validators


def per_event_microseconds(values: list[bytes], decode: Callable[[bytes], object]) -> float:
    """The median over passes of the time to decode every value, per value, in µs."""
    times = []
    for _ in range(PASSES):
        started = time.perf_counter()
        for value in values:
            decode(value)
        times.append((time.perf_counter() - started) / len(values) * 1e6)
    return statistics.median(times)


def measure_decode(orders: int) -> dict[str, Any]:
    """Plain and framed decode cost per event, and the validation alone."""
    plain, framed, validators = corpus(orders)

    def framed_decode(raw: bytes) -> object:
        schema_id, payload = unframe(raw)
        validators[schema_id](orjson.loads(payload))
        return decode_event(payload)

    def validate_only(raw: bytes) -> object:
        schema_id, payload = unframe(raw)
        return validators[schema_id](orjson.loads(payload))

    return {
        "machine": machine_info("none"),
        "events": len(plain),
        "passes": PASSES,
        "plain_us": per_event_microseconds(plain, decode_event),
        "framed_us": per_event_microseconds(framed, framed_decode),
        "validation_us": per_event_microseconds(framed, validate_only),
    }


def render_decode(result: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    plain, framed = result["plain_us"], result["framed_us"]
    return "\n".join(
        [
            "# Decode cost per event: plain JSON against framed and validated",
            "",
            f"{result['events']} source events of a seeded load, median of "
            f"{result['passes']} passes, one core (`python -m bench decode`).",
            "",
            "| path | µs per event |",
            "|---|---:|",
            f"| plain JSON: `decode_event` | {plain:.1f} |",
            f"| framed: header, schema check (fastjsonschema), `decode_event` | {framed:.1f} |",
            f"| of which the schema check (JSON parse + validate) | "
            f"{result['validation_us']:.1f} |",
            "",
            f"Framing and validation add {framed - plain:.1f} µs per event "
            f"({(framed / plain - 1) * 100:.0f} %).",
            "",
        ]
    )
