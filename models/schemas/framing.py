"""Confluent's wire format: magic byte 0, a 4-byte big-endian schema id, then the JSON.

Producers that use a schema registry (Confluent's serializers and those compatible with
them) frame each value this way; our own producers write the plain JSON envelope. A JSON
document never starts with byte 0, so the two cannot be confused.
"""

from typing import TypeGuard

MAGIC = 0
HEADER_BYTES = 5


class InvalidFraming(ValueError):
    """A framed value that cannot be accepted; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_framed(raw: bytes | None) -> TypeGuard[bytes]:
    """Whether ``raw`` is in Confluent's framing (starts with the magic byte)."""
    return raw is not None and len(raw) > 0 and raw[0] == MAGIC


def frame(schema_id: int, payload: bytes) -> bytes:
    """``payload`` framed with ``schema_id``."""
    if not 0 <= schema_id < 2**32:
        raise ValueError(f"a schema id is 0..2**32-1, not {schema_id}")
    return bytes([MAGIC]) + schema_id.to_bytes(4, "big") + payload


def unframe(raw: bytes) -> tuple[int, bytes]:
    """The schema id and the JSON of a framed value; InvalidFraming if it is cut short."""
    if len(raw) <= HEADER_BYTES or raw[0] != MAGIC:
        raise InvalidFraming(
            f"a framed value is byte 0, a 4-byte schema id and JSON; got {len(raw)} bytes"
        )
    return int.from_bytes(raw[1:HEADER_BYTES], "big"), raw[HEADER_BYTES:]
