"""The frozen pydantic base that every event, payload and aggregate derives from.

Faust serialises table values by calling ``__json__`` and rebuilds them with
``from_data``; both are provided here so a model can serve directly as a Faust
``value_type`` while the models themselves stay free of Faust imports.
"""

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """Immutable, strictly validated model that round-trips through JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    def __json__(self) -> dict[str, Any]:
        """Return the JSON-ready form Faust's codec writes."""
        return self.model_dump(mode="json")

    @classmethod
    def from_data(cls, data: Any, *, preferred_type: Any = None) -> Self:
        """Rebuild the model from what Faust's codec read."""
        if isinstance(data, cls):
            return data
        return cls.model_validate(data)

    def to_bytes(self) -> bytes:
        """Serialise to compact JSON bytes: the bytes orjson writes of ``__json__``."""
        return self.__pydantic_serializer__.to_json(self)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Parse and validate compact JSON bytes."""
        return cls.model_validate_json(raw)
