"""A message read back from a topic, with where it was read."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """One message as stored in Kafka: topic, partition, offset, key and value bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def position(self) -> tuple[str, int, int]:
        """Where the message sits: (topic, partition, offset)."""
        return (self.topic, self.partition, self.offset)

    @property
    def where(self) -> str:
        """The position written as ``topic[partition]@offset``."""
        return f"{self.topic}[{self.partition}]@{self.offset}"
