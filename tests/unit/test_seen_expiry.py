"""Which dedup entries the sweep deletes, and how it walks a partition in bounded turns."""

from pathlib import Path

import rocksdict

from tables.seen import expired_keys, next_slice

HORIZON = 100.0


def test_an_entry_first_seen_before_the_horizon_is_expired() -> None:
    stored = [("orders/a", 40.0), ("orders/b", 160.0)]
    now = dict(stored)

    assert expired_keys(stored, now.get, HORIZON) == ["orders/a"]


def test_an_entry_written_again_in_the_open_transaction_is_kept() -> None:
    # the store still holds the old first-seen; the table reads this transaction's write
    stored = [("orders/a", 40.0)]

    assert expired_keys(stored, {"orders/a": 150.0}.get, HORIZON) == []


def test_an_entry_deleted_in_the_open_transaction_is_not_deleted_twice() -> None:
    # a lap of the sweep within one transaction finds it stored still, and gone in the table
    stored = [("orders/a", 40.0)]

    assert expired_keys(stored, {}.get, HORIZON) == []


def test_a_sweep_turn_takes_at_most_its_limit_and_names_where_the_next_starts() -> None:
    stored = [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]

    assert next_slice(stored, 2, skip=b"__offset__") == ([(b"a", b"1"), (b"b", b"2")], b"c")


def test_a_sweep_turn_that_reaches_the_end_starts_the_next_lap_at_the_beginning() -> None:
    stored = [(b"__offset__", b"9"), (b"a", b"1")]

    assert next_slice(stored, 2, skip=b"__offset__") == ([(b"a", b"1")], None)


def test_a_sweep_laps_a_rocksdb_partition_in_bounded_turns(tmp_path: Path) -> None:
    db = rocksdict.Rdict(str(tmp_path / "seen-0"), options=rocksdict.Options(raw_mode=True))
    keys = sorted(f"orders/{n:04}".encode() for n in range(1000))
    for key in keys:
        db[key] = b"1.0"
    db[b"__faust\x00offset__"] = b"7"
    resume_at: bytes | None = None
    turns: list[list[bytes]] = []
    while resume_at is not None or not turns:
        taken, resume_at = next_slice(
            db.items(from_key=resume_at), 300, skip=b"__faust\x00offset__"
        )
        turns.append([key for key, _ in taken])
    db.close()

    assert [len(turn) for turn in turns] == [300, 300, 300, 100]
    assert [key for turn in turns for key in turn] == keys
