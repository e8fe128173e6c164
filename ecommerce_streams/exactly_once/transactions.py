"""Transactions keyed by the partition of the event being processed."""

import asyncio
from collections.abc import Awaitable, Iterable, Mapping
from pathlib import Path
from typing import Any, cast

import faust
import faust.stores
from faust.transport.consumer import TransactionManager
from faust.types import TP
from faust.types.tuples import RecordMetadata

from ecommerce_streams import metrics
from ecommerce_streams.exactly_once.forgotten import abort_everywhere, partitions_written
from ecommerce_streams.exactly_once.gate import TransactionPoisoned, gate_of
from ecommerce_streams.exactly_once.leftovers import note_path, seal_leftovers
from ecommerce_streams.exactly_once.orphans import adopt_orphans
from ecommerce_streams.exactly_once.outbox import transactional_id, worker_transactional_id
from ecommerce_streams.exactly_once.producer import _buffered_source
from ecommerce_streams.exactly_once.repairs import Repair, repaired


class SourceTransactionManager(TransactionManager):
    """Transactions keyed by the partition of the event being processed (gaps 1 and 4)."""

    #: The pass adopting removed workers' transactions, while one runs (gap 18).
    _adoption: asyncio.Future[list[str]] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The orphaned transactional ids this worker aborted.
        self._adopted: set[str] = set()

    def _transactional_id(self, tp: TP) -> str:
        return transactional_id(self.app, tp)

    def _tps_to_transactional_ids(self, tps: set[TP]) -> set[str]:
        """The producers a rebalance stops and starts: one per partition, or the worker's."""
        if not repaired(self.app, Repair.WORKER_TRANSACTIONS):
            return super()._tps_to_transactional_ids(tps)
        return {worker_transactional_id(self.app)} if self._tps_to_active_tpgs(tps) else set()

    def _owner_of_send(self, topic: str, partition: int | None) -> str | None:
        event = faust.current_event()
        source = _buffered_source.get() or (event.message.tp if event is not None else None)
        if source is not None:
            return self._transactional_id(source)
        if partition is None:
            return None
        # Neither an event nor a buffered table write: route by destination partition.
        return self._transactional_id(TP(topic, partition))

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Awaitable[RecordMetadata]:
        """Send inside the transaction of the event being processed."""
        if not repaired(self.app, Repair.SOURCE_TRANSACTIONS):
            return await super().send(topic, key, value, partition, timestamp, headers)
        # An explicit partition (table changelogs) is kept as is: the consumer's
        # key_partition returns None for topics it has no metadata for yet.
        p = partition if partition is not None else self.consumer.key_partition(topic, key)
        owner = self._owner_of_send(topic, p)
        if owner is None:
            raise TransactionPoisoned(f"send to {topic!r} outside any event and partition")
        return await self.producer.send(
            topic, key, value, p, timestamp, headers, transactional_id=owner
        )

    def _producers(self) -> dict[str, Any]:
        """The aiokafka producer of each transactional id (Faust's producer keeps them)."""
        producers: dict[str, Any] = cast(Any, self.producer)._transaction_producers
        return producers

    def _open_transactions(self) -> list[str]:
        producers = self._producers()
        return [
            tid
            for tid, producer in producers.items()
            if producer._txn_manager is not None and producer._txn_manager.is_in_transaction()
        ]

    async def _start_transactions(self, tids: Iterable[str]) -> None:
        tids = list(tids)
        producers = self._producers()
        before = {tid: producers.get(tid) for tid in tids}
        await super()._start_transactions(tids)
        if not repaired(self.app, Repair.FAIL_FAST):
            return
        missing = [tid for tid in tids if tid not in producers]
        if missing:
            exc = TransactionPoisoned(f"could not begin transactions {missing}")
            gate_of(self.app).poison(exc)
            await self.app.crash(exc)
            raise exc
        if repaired(self.app, Repair.FORGOTTEN_TRANSACTIONS):
            fresh = [tid for tid in tids if producers[tid] is not before[tid]]
            await asyncio.gather(*(self._abort_forgotten(tid) for tid in fresh))

    async def _abort_forgotten(self, tid: str) -> None:
        """Abort whatever an earlier epoch of ``tid`` left in our output partitions (gap 15)."""
        producer = self._producers()[tid]
        one_partition = None if tid == worker_transactional_id(self.app) else _partition_of(tid)
        written = await partitions_written(self.app, producer, one_partition)
        group = self.app.conf.id
        if repaired(self.app, Repair.SEALED_LEFTOVERS):
            note = note_path(Path(self.app.conf.datadir), tid)
            await seal_leftovers(producer, written, group, note)
        await abort_everywhere(group, producer, written, join_group=one_partition is None)
        await producer.begin_transaction()

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Stop adopting orphaned transactions: the group is changing (gap 18)."""
        self._stop_adopting()
        await super().on_partitions_revoked(revoked)

    async def on_stop(self) -> None:
        """Stop adopting orphaned transactions: the worker is leaving (gap 18)."""
        self._stop_adopting()
        await super().on_stop()

    def _stop_adopting(self) -> None:
        """Cancel the adoption pass; an adoption it began ends with its abort (shielded)."""
        if self._adoption is not None:
            self._adoption.cancel()
            self._adoption = None

    async def on_rebalance(
        self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP]
    ) -> None:
        """Start and stop the producers; then adopt what removed workers left open (gap 18)."""
        await super().on_rebalance(assigned, revoked, newly_assigned)
        self._stop_adopting()
        tid = worker_transactional_id(self.app)
        producer = self._producers().get(tid)
        if not repaired(self.app, Repair.ORPHANED_TRANSACTIONS) or producer is None:
            return
        self._adoption = asyncio.ensure_future(
            adopt_orphans(
                producer.client,
                self.app.conf.id,
                getattr(self.app, "worker_name", "worker"),
                self._adopt,
                self._adopted,
            )
        )

    async def _adopt(self, tid: str) -> None:
        """Initialise a removed worker's transactional id and abort everywhere (gap 18)."""
        producer = self.producer._new_producer(transactional_id=tid)  # type: ignore[attr-defined]
        await producer.start()
        try:
            await producer.begin_transaction()
            written = await partitions_written(self.app, producer, None)
            await abort_everywhere(self.app.conf.id, producer, written, join_group=True)
        finally:
            await producer.stop()

    async def commit(self, offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
        """Commit each partition's offsets in its own transaction; any failure is fatal."""
        if not repaired(self.app, Repair.FAIL_FAST):
            return await super().commit(offsets, start_new_transaction)
        if self.app.should_stop and not self._open_transactions():
            # Shutting down after the final commit ended every transaction.
            return False
        by_transaction: dict[str, dict[TP, int]] = {}
        for tp, offset in offsets.items():
            by_transaction.setdefault(self._transactional_id(tp), {})[tp] = offset
        started = self._producers()
        missing = [tid for tid in by_transaction if tid not in started]
        try:
            if missing:
                raise TransactionPoisoned(f"no open transaction for {missing}")
            await self.producer.commit_transactions(
                by_transaction,
                self.app.conf.id,
                start_new_transaction=start_new_transaction,
            )
        except BaseException as exc:
            metrics.transactions_aborted.inc()
            gate_of(self.app).poison(exc)
            await self.app.crash(exc)
            raise
        metrics.transactions_committed.inc(len(by_transaction))
        return True


def _partition_of(tid: str) -> int:
    """The partition of a per-partition transactional id (Faust's ``{app}-{group}-{partition}``)."""
    return int(tid.rsplit("-", 1)[1])
