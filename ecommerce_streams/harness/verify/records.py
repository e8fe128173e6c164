"""A message read back from a topic, with where it was read."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """One message as stored in Kafka: topic, partition, offset, key, value bytes and headers."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    def header(self, name: str) -> str | None:
        """The text of the first header ``name``, if the record has one."""
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", "replace")
        return None

    @property
    def position(self) -> tuple[str, int, int]:
        """Where the message sits: (topic, partition, offset)."""
        return (self.topic, self.partition, self.offset)

    @property
    def where(self) -> str:
        """The position written as ``topic[partition]@offset``."""
        return f"{self.topic}[{self.partition}]@{self.offset}"
