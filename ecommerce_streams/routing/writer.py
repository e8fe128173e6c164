"""The producer of the catalogues' records: idempotent, ``acks=all``, shared by the catalogues."""

from aiokafka.errors import KafkaError

from ecommerce_streams.kafka_producer import IdempotentProducer


class CatalogueUnavailable(Exception):
    """The catalogue's topic cannot be read or written now; retrying may succeed."""


class RecordWriter(IdempotentProducer):
    """Writes records to the control topics, one acknowledged record at a time."""

    async def write(self, topic: str, key: str, value: bytes | None) -> tuple[int, int]:
        """Produce one record (None: a tombstone); its partition and offset once acknowledged."""
        try:
            producer = await self.started()
            metadata = await producer.send_and_wait(topic, value, key=key.encode())
        except (KafkaError, OSError) as error:
            raise CatalogueUnavailable(f"{topic} did not take the write: {error!r}") from error
        return metadata.partition, metadata.offset
