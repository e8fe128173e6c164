"""The repairs of Faust's exactly-once gaps and the commit path's speed-ups, each one switchable."""

from enum import StrEnum

from faust.types import AppT


class Repair(StrEnum):
    """The gaps closed and speed-ups made here; each can be switched off to show what it does."""

    SOURCE_TRANSACTIONS = "source-transactions"
    SETTLED_CHANGELOGS = "settled-changelogs"
    COMMIT_GATE = "commit-gate"
    FAIL_FAST = "fail-fast"
    FRESH_STATE = "fresh-state"
    COMMITTED_ENDS = "committed-ends"
    COMPLETE_RESTORE = "complete-restore"
    PROCESSED_OFFSETS = "processed-offsets"
    SHARED_INPUTS = "shared-inputs"
    ABANDONED_MESSAGES = "abandoned-messages"
    FORGOTTEN_TRANSACTIONS = "forgotten-transactions"
    WRITE_CACHE = "write-cache"
    DIRECT_SENDS = "direct-sends"
    CONCURRENT_COMMITS = "concurrent-commits"
    COMMIT_ON_DRAIN = "commit-on-drain"
    CONFIRMED_COMMITS = "confirmed-commits"
    BATCHED_UNITS = "batched-units"
    DEFERRED_STORE_WRITES = "deferred-store-writes"
    KEPT_LOCAL_STATE = "kept-local-state"
    DIRECT_DELIVERY = "direct-delivery"
    LOADED_OFFSETS = "loaded-offsets"
    OVERLAPPED_COMMITS = "overlapped-commits"
    WORKER_TRANSACTIONS = "worker-transactions"
    ORPHANED_TRANSACTIONS = "orphaned-transactions"
    LINGER_UNTIL_COMMIT = "linger-until-commit"
    QUICK_ADD_RETRIES = "quick-add-retries"
    SEALED_LEFTOVERS = "sealed-leftovers"
    UNTABLED_OFFSETS = "untabled-offsets"


#: Every repair and speed-up.
ALL_REPAIRS = frozenset(Repair)

#: Not proven under faults by the chaos campaign; opted into with ``all`` or by name.
#: ``linger-until-commit``: campaign seed 2049 run 1 lost three effects with it on (a
#: broker killed -9 under the transactions, then a worker killed; docs/chaos-campaign.md).
#: ``worker-transactions`` was here until ``orphaned-transactions`` closed gap 18.
UNPROVEN: frozenset[Repair] = frozenset({Repair.LINGER_UNTIL_COMMIT})

#: Speed-ups that no longer pay on today's commit path; opted into with ``all`` or by name.
#: ``overlapped-commits``: produced a commit's records while its offsets went to the
#: coordinator, whose transaction verification (KIP-890) then refused some of them for a
#: 5 ms retry; in four interleaved pairs without it the backlog drained faster with less
#: CPU per event (bench/results/overlap-ab-20261203).
NOT_PAYING: frozenset[Repair] = frozenset({Repair.OVERLAPPED_COMMITS})

#: What an app runs with unless told otherwise: every repair the campaign has proven,
#: without the speed-ups that do not pay.
DEFAULT_REPAIRS = ALL_REPAIRS - UNPROVEN - NOT_PAYING


def parse_repairs(spec: str) -> frozenset[Repair]:
    """``default``, ``all`` or ``none``, names to add to it, ``-name`` to drop one.

    A list of names alone is exactly those; ``-name`` alone drops one from ``default``;
    ``default,name`` adds one that is not proven (``linger-until-commit``) or does not pay
    (``overlapped-commits``) to the default ones.
    """
    names = [part.strip() for part in spec.split(",") if part.strip()]
    bases = {"default": DEFAULT_REPAIRS, "all": ALL_REPAIRS, "none": frozenset()}
    dropped = {Repair(name[1:]) for name in names if name.startswith("-")}
    kept = [name for name in names if not name.startswith("-")]
    chosen: set[Repair] = set() if kept else set(DEFAULT_REPAIRS)
    for name in kept:
        chosen |= bases[name] if name in bases else {Repair(name)}
    return frozenset(chosen - dropped)


def repaired(app: AppT, repair: Repair) -> bool:
    """Whether the app runs with this repair (the default ones unless told otherwise)."""
    return repair in getattr(app, "exactly_once_repairs", DEFAULT_REPAIRS)
