"""The watchdog: a worker that cannot make progress exits, so its supervisor restarts it."""

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, cast

import faust
import faust.stores
from faust.types import AppT

from ecommerce_streams.exactly_once.gate import gate_of

logger = logging.getLogger(__name__)


class StopNotingWorker(faust.Worker):
    """Faust's worker, noting on the gate when it is asked to stop (SIGTERM, SIGINT)."""

    def _schedule_shutdown(self, signal: Any) -> None:
        gate = gate_of(self.app)
        if gate.stop_requested_at is None:
            gate.stop_requested_at = time.monotonic()
        super()._schedule_shutdown(signal)


@dataclass
class Watchdog:
    """Decides when a worker that neither works nor exits must exit; time comes in.

    A worker is stuck when it crashed or was asked to stop and is still running after
    ``grace_seconds``; when a unit of work or a commit has been busy for
    ``stall_seconds`` without finishing; or when a rebalance or table recovery has
    processed no event and restored nothing for twice that. Commits do not count as
    progress of a rebalance: Faust keeps committing while a revocation waits (gap 14).
    """

    stall_seconds: float
    grace_seconds: float
    crashed_at: float | None = None
    settling_since: float | None = None

    def verdict(
        self,
        now: float,
        *,
        crashed: bool,
        stop_requested_at: float | None,
        stalled_for: float,
        settling: bool,
        last_work: float,
    ) -> str | None:
        """Why the worker must exit now, or None while it is alive."""
        if crashed and self.crashed_at is None:
            self.crashed_at = now
        if self.crashed_at is not None and now - self.crashed_at > self.grace_seconds:
            return f"crashed worker did not stop in {self.grace_seconds:g}s"
        if stop_requested_at is not None and now - stop_requested_at > self.grace_seconds:
            return f"worker asked to stop was still running after {self.grace_seconds:g}s"
        if stalled_for > self.stall_seconds:
            return f"no unit of work or commit finished for {self.stall_seconds:g}s"
        if not settling:
            self.settling_since = None
            return None
        if self.settling_since is None:
            self.settling_since = now
        if now - max(self.settling_since, last_work) > 2 * self.stall_seconds:
            return f"rebalance or table recovery made no progress for {2 * self.stall_seconds:g}s"
        return None


def crashed(app: AppT) -> bool:
    """Whether Faust has crashed the app (its flag is not part of the app's type)."""
    return bool(cast(Any, app)._crashed.is_set())


def exit_when_stuck(
    app: AppT, *, grace_seconds: float = 20.0, stall_seconds: float = 60.0
) -> threading.Thread:
    """Make sure a crashed, stalled or wedged worker process exits, so it is restarted.

    Faust marks the app crashed and starts a graceful shutdown, which can hang waiting
    for streams that will never ack; a transactional call to a broker that came back
    can wait forever while the consumer thread keeps heartbeating, so the group never
    moves the partitions away; and a revocation can wait forever. A process that
    neither works nor exits is invisible to an orchestrator. This daemon thread asks
    :class:`Watchdog` twice a second and exits the process when it says so. Nothing
    is committed on that path, which is safe: open transactions are aborted when the
    restarted worker takes its transactional id back, or the group's first worker adopts
    it (gap 18).
    """
    gate = gate_of(app)  # created here, before the event loop can race to create another
    watchdog = Watchdog(stall_seconds=stall_seconds, grace_seconds=grace_seconds)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            reason = watchdog.verdict(
                time.monotonic(),
                crashed=crashed(app) or gate.poisoned is not None,
                stop_requested_at=gate.stop_requested_at,
                stalled_for=gate.stalled_for(),
                settling=bool(app.rebalancing or app.in_recovery),
                last_work=gate.last_work,
            )
            if reason is not None:
                break
        logger.critical("exactly-once: %s; exiting so the worker is restarted", reason)
        logging.shutdown()
        os._exit(70)

    thread = threading.Thread(target=watch, name="exit-when-stuck", daemon=True)
    thread.start()
    return thread
