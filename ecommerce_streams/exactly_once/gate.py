"""The processing gate: units of work and transaction commits take turns."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from faust.types import TP, AppT

from ecommerce_streams import metrics

logger = logging.getLogger(__name__)

#: Events a commit waits for at most while the agents' input never drains (a backlog).
DEFAULT_COMMIT_MAX_EVENTS = 4000


class TransactionPoisoned(RuntimeError):
    """A unit of work or commit failed: nothing more may commit in this process."""


class ProcessingGate:
    """Lets units of work (one event each) and transaction commits take turns."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._open = asyncio.Event()
        self._open.set()
        self._commit_lock = asyncio.Lock()
        self.poisoned: BaseException | None = None
        #: When a unit of work or a commit last finished (stall detection).
        self.last_progress = time.monotonic()
        #: When an event was last processed or a restore step applied: commits alone
        #: (Faust keeps committing while a revocation waits) are not progress of a rebalance.
        self.last_work = time.monotonic()
        #: When the worker was asked to stop (SIGTERM/SIGINT), if it was.
        self.stop_requested_at: float | None = None
        #: Per source partition, the offset after the last event processed to the end.
        self.processed: dict[TP, int] = {}
        #: The input queues of the agents' streams: all empty means the input drained.
        self._inputs: list[Any] = []
        self._commit_wanted = asyncio.Event()
        #: Events processed since the last commit.
        self.uncommitted = 0

    def record_processed(self, tp: TP, offset: int) -> None:
        """Remember that the event at ``offset`` of ``tp`` was processed to the end."""
        self.processed[tp] = offset + 1  # units of a partition run in offset order
        self.uncommitted += 1

    def watch_input(self, queue: Any) -> None:
        """Count a stream's input queue among those whose emptiness asks for a commit."""
        self._inputs.append(queue)

    def inputs_have_room(self) -> bool:
        """Whether every agent's input queue can take another event without waiting."""
        return not any(queue.full() for queue in self._inputs)

    def want_commit_if_drained(self, max_events: int) -> None:
        """Ask for a commit once every input queue is empty or ``max_events`` wait for one."""
        if self.uncommitted >= max_events or all(queue.empty() for queue in self._inputs):
            self._commit_wanted.set()

    async def commit_wanted(self) -> None:
        """Wait until a commit is asked for, and take the request."""
        await self._commit_wanted.wait()
        self._commit_wanted.clear()

    def forget_partitions(self, tps: Iterable[TP]) -> None:
        """Drop partitions this worker no longer owns."""
        for tp in tps:
            self.processed.pop(tp, None)

    def forget_committed(self, offsets: Mapping[TP, int]) -> None:
        """Drop partitions whose processed offset is now committed."""
        for tp, offset in offsets.items():
            if self.processed.get(tp) == offset:
                del self.processed[tp]

    @property
    def busy(self) -> bool:
        """Whether a unit of work or a commit is under way."""
        return bool(self._in_flight) or not self._open.is_set()

    def note_progress(self) -> None:
        """Record progress made outside units of work (a table restore step)."""
        self.last_progress = self.last_work = time.monotonic()

    async def wait_idle(self) -> None:
        """Wait until no unit of work is in flight."""
        await self._idle.wait()

    def stalled_for(self) -> float:
        """Seconds the gate has been busy without a unit or commit finishing (0 if idle)."""
        return time.monotonic() - self.last_progress if self.busy else 0.0

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[None]:
        """Hold the gate open while one event is processed."""
        while not self._open.is_set():
            await self._open.wait()
        self._in_flight += 1
        self._idle.clear()
        try:
            with self._poisoned_by_failure():
                yield
        finally:
            self._in_flight -= 1
            self.last_progress = self.last_work = time.monotonic()
            if not self._in_flight:
                self._idle.set()

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Close the gate, wait for units in flight, and hold it closed for a commit."""
        async with self._commit_lock:
            self._raise_if_poisoned()
            self._open.clear()
            try:
                await self._idle.wait()
                self._raise_if_poisoned()
                with self._poisoned_by_failure():
                    yield
                self.uncommitted = 0
            finally:
                self.last_progress = time.monotonic()
                self._open.set()

    @contextmanager
    def _poisoned_by_failure(self) -> Iterator[None]:
        try:
            yield
        except BaseException as exc:
            self.poison(exc)
            raise

    def poison(self, exc: BaseException) -> None:
        """Forbid every further commit in this process."""
        if self.poisoned is None and not isinstance(exc, asyncio.CancelledError):
            logger.error("exactly-once: no further commit in this process after %r", exc)
            self.poisoned = exc

    def _raise_if_poisoned(self) -> None:
        if self.poisoned is not None:
            metrics.transactions_aborted.inc()
            raise TransactionPoisoned(
                f"refusing to commit after an earlier failure: {self.poisoned!r}"
            ) from self.poisoned


def gate_of(app: AppT) -> ProcessingGate:
    """The app's processing gate, created on first use."""
    gate = getattr(app, "_es_processing_gate", None)
    if gate is None:
        gate = ProcessingGate()
        # Our state rides on Faust's app object, whose type does not declare it.
        app._es_processing_gate = gate  # type: ignore[attr-defined]
    return gate
