"""Unit tests: which partitions a restarted producer commits again (gap 16, sealed-leftovers)."""

from pathlib import Path

from aiokafka import TopicPartition

from ecommerce_streams.exactly_once.leftovers import (
    CommitNotes,
    LastCommit,
    OpenBatch,
    SourceOffset,
    committed_leftovers,
    group_offsets_partition,
    last_commit,
    note_path,
)

COMMIT = LastCommit(producer_id=7, producer_epoch=2, committed_at_ms=1_000)
LEFT, OTHER = TopicPartition("orders-changelog", 1), TopicPartition("inventory-commands", 0)


def batch(offset: int, written_ms: int, producer_id: int = 7, epoch: int = 2) -> OpenBatch:
    """An open batch of the given producer and epoch, its last record written then."""
    return OpenBatch(offset, producer_id, epoch, written_ms)


def test_records_written_before_the_last_commit_are_committed_again() -> None:
    seal, mixed = committed_leftovers({LEFT: [batch(10, 900), batch(12, 999)]}, COMMIT)
    assert (seal, mixed) == ({LEFT}, set())


def test_records_written_after_the_last_commit_are_left_to_the_abort() -> None:
    seal, mixed = committed_leftovers({LEFT: [batch(10, 1_000)], OTHER: [batch(3, 1_500)]}, COMMIT)
    assert (seal, mixed) == (set(), set())


def test_a_partition_with_records_from_before_and_after_the_commit_is_not_sealed() -> None:
    seal, mixed = committed_leftovers({LEFT: [batch(10, 900), batch(12, 1_100)]}, COMMIT)
    assert (seal, mixed) == (set(), {LEFT})


def test_other_producers_and_epochs_are_not_ours_to_close() -> None:
    found = {LEFT: [batch(10, 900, producer_id=8)], OTHER: [batch(3, 900, epoch=1)]}
    assert committed_leftovers(found, COMMIT) == (set(), set())


def test_another_producers_open_records_do_not_stop_ours_being_sealed() -> None:
    found = {LEFT: [batch(10, 900, producer_id=8), batch(11, 950), batch(14, 2_000, producer_id=8)]}
    assert committed_leftovers(found, COMMIT) == ({LEFT}, set())


def test_the_group_offsets_partition_follows_kafkas_partition_for() -> None:
    assert group_offsets_partition("hello", 50) == 99162322 % 50  # a positive hashCode
    assert group_offsets_partition("Hello World", 50) == 862545276 % 50  # -862545276
    assert group_offsets_partition("polygenelubricants", 50) == 0  # Integer.MIN_VALUE


def test_a_noted_commit_is_read_back(tmp_path: Path) -> None:
    notes = CommitNotes(tmp_path)
    notes.note("shop-worker-a", 7, 2, 1_796_000_000_123)
    notes.note("shop-worker-a", 7, 2, 1_250)  # a shorter line still replaces the longer one
    assert last_commit(note_path(tmp_path, "shop-worker-a")) == LastCommit(7, 2, 1_250)


def test_a_noted_commit_names_one_offset_it_gave_the_group(tmp_path: Path) -> None:
    notes = CommitNotes(tmp_path)
    source = SourceOffset("shop.order-events", 3, 1_920)
    notes.note("shop-worker-a", 7, 2, 1_796_000_000_123, source)
    notes.note("shop-worker-a", 7, 2, 1_250, source)
    assert last_commit(note_path(tmp_path, "shop-worker-a")) == LastCommit(7, 2, 1_250, source)


def test_a_note_of_three_numbers_is_read_without_an_offset(tmp_path: Path) -> None:
    path = note_path(tmp_path, "shop-worker-a")
    path.parent.mkdir(parents=True)
    path.write_text(f"{7:>20} {2:>5} {1_250:>20}\n")
    assert last_commit(path) == LastCommit(7, 2, 1_250, None)


def test_a_new_run_starts_its_note_afresh(tmp_path: Path) -> None:
    path = note_path(tmp_path, "shop-worker-a")
    path.parent.mkdir(parents=True)
    path.write_text("1 0 5\n" + "x" * 100)
    CommitNotes(tmp_path).note("shop-worker-a", 7, 3, 9)
    assert last_commit(path) == LastCommit(7, 3, 9)


def test_no_note_or_an_unreadable_one_means_nothing_to_seal(tmp_path: Path) -> None:
    assert last_commit(tmp_path / "missing.txt") is None
    (tmp_path / "broken.txt").write_text("not numbers")
    assert last_commit(tmp_path / "broken.txt") is None
