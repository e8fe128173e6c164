"""Compare two app versions' tables key by key, as their changelogs hold them.

Values are compared as JSON documents (Faust writes table keys and values as JSON), so
a difference in key order or spacing is not a difference.

Every table but ``seen`` is compared by default. Table ``seen``, the deduplication
memory, is left out unless asked for, and then compared by key only. Its values are the
log times of the messages that carried each event id, and a replay re-derives its
internal messages later. Its keys include the ids of derived commands, which name the
event that *completed* a decision (``CommitStock`` is caused by whichever of the last
reservation and the payment came last), so two equal runs that read their topics in
another interleaving remember different ids.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ecommerce_streams.operations.changelogs import TableState, read_tables

KEYS_ONLY: frozenset[str] = frozenset({"seen"})
"""Tables whose values are not part of the comparison."""


def compared_by_default(tables: Iterable[str]) -> tuple[str, ...]:
    """The tables compared when none are named: all but the keys-only ones."""
    return tuple(table for table in tables if table not in KEYS_ONLY)


@dataclass(frozen=True)
class KeyDifference:
    """One key whose value differs between the versions (None: absent from that version).

    Written as the fields that differ, baseline first: ``status "rejected" != "confirmed"``.
    """

    table: str
    partition: int
    key: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        where = f"{self.table} {self.key} [{self.partition}]"
        if self.actual is None:
            return f"{where}: only in the baseline: {_show(self.expected)}"
        if self.expected is None:
            return f"{where}: only in the candidate: {_show(self.actual)}"
        if isinstance(self.expected, dict) and isinstance(self.actual, dict):
            fields = sorted(
                name
                for name in self.expected.keys() | self.actual.keys()
                if self.expected.get(name) != self.actual.get(name)
            )
            changes = "; ".join(
                f"{name} {_show(self.expected.get(name))} != {_show(self.actual.get(name))}"
                for name in fields
            )
            return f"{where}: {changes}"
        return f"{where}: {_show(self.expected)} != {_show(self.actual)}"


@dataclass(frozen=True)
class TableComparison:
    """The differences between a baseline version's tables and a candidate's."""

    baseline: int
    candidate: int
    keys: Mapping[str, tuple[int, int]]
    differences: list[KeyDifference] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Whether every compared table holds the same keys and values in both versions."""
        return not self.differences

    def render(self) -> str:
        """A report: keys per table and version, then every difference."""
        lines = [f"tables of v{self.baseline} (baseline) vs v{self.candidate} (candidate):"]
        for table, (baseline_keys, candidate_keys) in self.keys.items():
            count = sum(1 for d in self.differences if d.table == table)
            scope = " (keys only)" if table in KEYS_ONLY else ""
            lines.append(
                f"  {table}{scope}: {baseline_keys} vs {candidate_keys} keys, {count} difference(s)"
            )
        lines.extend(f"  {difference}" for difference in self.differences)
        lines.append("identical" if self.identical else f"{len(self.differences)} difference(s)")
        return "\n".join(lines)


def compare_states(table: str, baseline: TableState, candidate: TableState) -> list[KeyDifference]:
    """Every key of one table that is missing from one side or holds another value."""
    differences = []
    for partition, raw_key in sorted(baseline.keys() | candidate.keys()):
        where = (partition, raw_key)
        expected, actual = _document(baseline.get(where)), _document(candidate.get(where))
        if table in KEYS_ONLY and expected is not None and actual is not None:
            continue
        if expected != actual:
            differences.append(
                KeyDifference(table, partition, _key_text(raw_key), expected, actual)
            )
    return differences


async def compare_versions(
    bootstrap: str,
    app_id: str,
    *,
    baseline: int,
    candidate: int,
    tables: Iterable[str],
) -> TableComparison:
    """Read both versions' changelogs and compare every table key by key.

    Raises LookupError when a version has none of the tables' changelogs: comparing
    with a version that was never run would find two empty tables "identical".
    """
    tables = tuple(tables)
    old = await read_tables(bootstrap, app_id, baseline, tables)
    new = await read_tables(bootstrap, app_id, candidate, tables)
    for version, contents in ((baseline, old), (candidate, new)):
        if tables and len(contents.missing) == len(tables):
            raise LookupError(f"version {version} has no changelogs: {list(contents.missing)}")
    differences = [
        difference
        for table in tables
        for difference in compare_states(table, old.tables[table], new.tables[table])
    ]
    keys = {table: (len(old.tables[table]), len(new.tables[table])) for table in tables}
    return TableComparison(baseline, candidate, keys, differences)


def _document(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode(errors="replace")


def _key_text(raw: bytes) -> str:
    key = _document(raw)
    return key if isinstance(key, str) else raw.decode(errors="replace")


def _show(document: Any) -> str:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
