"""A message that could not be processed, kept with its original bytes for inspection and replay."""

import base64
import binascii
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, Field

from models.base import Record
from models.fields import UtcDatetime


def _is_base64(text: str) -> str:
    """Reject text that is not standard base64."""
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected standard base64") from None
    return text


Base64 = Annotated[str, Field(strict=True), AfterValidator(_is_base64)]


def _to_base64(raw: bytes) -> str:
    """Encode bytes as standard base64 text."""
    return base64.b64encode(raw).decode("ascii")


class DeadLetter(Record):
    """Where a message came from, why it failed, and the message itself in base64."""

    source_topic: Annotated[str, Field(strict=True, min_length=1)]
    partition: Annotated[int, Field(strict=True, ge=0)]
    offset: Annotated[int, Field(strict=True, ge=0)]
    key: Base64 | None
    error: str
    raw: Base64
    attempts: Annotated[int, Field(strict=True, ge=1)] = 1
    first_failed_at: UtcDatetime
    stage: Annotated[str, Field(strict=True, min_length=1)]

    @classmethod
    def of(
        cls,
        raw: bytes,
        key: bytes | None,
        *,
        source_topic: str,
        partition: int,
        offset: int,
        error: str,
        stage: str,
        failed_at: datetime,
    ) -> Self:
        """Capture a failed message and the reason it failed."""
        return cls(
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            key=None if key is None else _to_base64(key),
            error=error,
            raw=_to_base64(raw),
            first_failed_at=failed_at,
            stage=stage,
        )

    def original(self) -> bytes:
        """The message value exactly as it was read."""
        return base64.b64decode(self.raw)

    def original_key(self) -> bytes | None:
        """The message key exactly as it was read, if it had one."""
        return None if self.key is None else base64.b64decode(self.key)
