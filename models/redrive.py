"""A redrive: a dead letter sent back to its source topic, recorded so that it is sent once."""

from typing import Annotated
from uuid import UUID

from pydantic import Field

from models.base import Record
from models.fields import UtcDatetime

#: Header a redriven message carries, so its stage checks its event id even on an internal topic.
REDRIVEN_HEADER = "es-redriven"


class Redrive(Record):
    """Which dead letter was resent, where the resent message landed, and whether it was fixed."""

    letter: Annotated[str, Field(strict=True, pattern=r"^\d+:\d+$")]
    source_topic: Annotated[str, Field(strict=True, min_length=1)]
    partition: Annotated[int, Field(strict=True, ge=0)]
    offset: Annotated[int, Field(strict=True, ge=0)]
    event_id: UUID | None
    fixed: bool
    redriven_at: UtcDatetime
