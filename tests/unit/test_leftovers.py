"""Unit tests: which partitions a restarted producer commits again (gap 16, sealed-leftovers)."""

from pathlib import Path

from aiokafka import TopicPartition

from ecommerce_streams.exactly_once.leftovers import (
    LONGEST_TRANSACTION_MS,
    CommitNotes,
    LastCommit,
    SourceOffset,
    committed_leftovers,
    group_offsets_partition,
    last_commit,
    note_path,
    noted_outcome,
)
from ecommerce_streams.exactly_once.log_reading import ABORT, COMMIT, LoggedBatch

NOTED = LastCommit(producer_id=7, producer_epoch=2, committed_at_ms=1_000, began_at_ms=800)
LEFT, OTHER = TopicPartition("orders-changelog", 1), TopicPartition("inventory-commands", 0)


def batch(offset: int, written_ms: int, producer_id: int = 7, epoch: int = 2) -> LoggedBatch:
    """An open batch of the given producer and epoch, its last record written then."""
    return LoggedBatch(offset, producer_id, epoch, written_ms)


def marker(offset: int, kind: int, producer_id: int = 7, epoch: int = 2) -> LoggedBatch:
    """A COMMIT or ABORT marker of the given producer and epoch."""
    return LoggedBatch(offset, producer_id, epoch, 5_000, kind)


def test_an_abort_after_the_noted_transactions_record_means_the_coordinator_aborted_it() -> None:
    logs = {LEFT: [batch(10, 900), marker(11, ABORT, epoch=3)], OTHER: []}
    assert noted_outcome(logs, NOTED) == ABORT


def test_a_commit_after_the_noted_transactions_record_shows_it_committed() -> None:
    logs = {LEFT: [batch(10, 900), batch(11, 950, producer_id=8), marker(12, COMMIT)]}
    assert noted_outcome(logs, NOTED) == COMMIT


def test_an_abort_anywhere_outweighs_a_commit_elsewhere() -> None:
    logs = {LEFT: [batch(10, 900), marker(11, COMMIT)], OTHER: [batch(3, 850), marker(4, ABORT)]}
    assert noted_outcome(logs, NOTED) == ABORT


def test_the_marker_of_the_transaction_before_tells_nothing() -> None:
    logs = {LEFT: [batch(10, 700), marker(11, COMMIT)], OTHER: [marker(4, ABORT, epoch=3)]}
    assert noted_outcome(logs, NOTED) is None


def test_a_later_transactions_records_before_the_marker_tell_nothing() -> None:
    logs = {LEFT: [batch(10, 900), batch(11, 1_100), marker(12, ABORT, epoch=3)]}
    assert noted_outcome(logs, NOTED) is None


def test_a_note_without_the_transactions_start_tells_nothing() -> None:
    older = LastCommit(producer_id=7, producer_epoch=2, committed_at_ms=1_000)
    assert noted_outcome({LEFT: [batch(10, 900), marker(11, ABORT)]}, older) is None


def test_records_written_before_the_last_commit_are_committed_again() -> None:
    seal, mixed = committed_leftovers({LEFT: [batch(10, 900), batch(12, 999)]}, NOTED)
    assert (seal, mixed) == ({LEFT}, set())


def test_records_written_after_the_last_commit_are_left_to_the_abort() -> None:
    seal, mixed = committed_leftovers({LEFT: [batch(10, 1_000)], OTHER: [batch(3, 1_500)]}, NOTED)
    assert (seal, mixed) == (set(), set())


def test_a_partition_with_records_from_before_and_after_the_commit_is_not_sealed() -> None:
    seal, mixed = committed_leftovers({LEFT: [batch(10, 900), batch(12, 1_100)]}, NOTED)
    assert (seal, mixed) == (set(), {LEFT})


def test_other_producers_and_epochs_are_not_ours_to_close() -> None:
    found = {LEFT: [batch(10, 900, producer_id=8)], OTHER: [batch(3, 900, epoch=1)]}
    assert committed_leftovers(found, NOTED) == (set(), set())


def test_another_producers_open_records_do_not_stop_ours_being_sealed() -> None:
    found = {LEFT: [batch(10, 900, producer_id=8), batch(11, 950), batch(14, 2_000, producer_id=8)]}
    assert committed_leftovers(found, NOTED) == ({LEFT}, set())


def test_the_group_offsets_partition_follows_kafkas_partition_for() -> None:
    assert group_offsets_partition("hello", 50) == 99162322 % 50  # a positive hashCode
    assert group_offsets_partition("Hello World", 50) == 862545276 % 50  # -862545276
    assert group_offsets_partition("polygenelubricants", 50) == 0  # Integer.MIN_VALUE


def test_a_noted_commit_is_read_back(tmp_path: Path) -> None:
    notes = CommitNotes(tmp_path)
    notes.note("shop-worker-a", 7, 2, 1_000)
    notes.note("shop-worker-a", 7, 2, 1_250)
    noted = LastCommit(7, 2, 1_250, began_at_ms=1_001)  # just after the last commit returned
    assert last_commit(note_path(tmp_path, "shop-worker-a")) == noted


def test_the_first_commit_of_an_epoch_began_at_most_the_longest_transaction_before(
    tmp_path: Path,
) -> None:
    notes = CommitNotes(tmp_path)
    notes.note("shop-worker-a", 7, 2, 1_796_000_000_000)
    notes.note("shop-worker-a", 7, 3, 1_796_000_000_500)  # a new epoch: its first commit
    noted = last_commit(note_path(tmp_path, "shop-worker-a"))
    assert noted is not None
    assert noted.began_at_ms == 1_796_000_000_500 - LONGEST_TRANSACTION_MS


def test_a_noted_commit_names_one_offset_it_gave_the_group(tmp_path: Path) -> None:
    notes = CommitNotes(tmp_path)
    source = SourceOffset("shop.order-events", 3, 1_920)
    notes.note("shop-worker-a", 7, 2, 1_000, source)
    notes.note("shop-worker-a", 7, 2, 1_250, source)
    noted = LastCommit(7, 2, 1_250, source, began_at_ms=1_001)
    assert last_commit(note_path(tmp_path, "shop-worker-a")) == noted


def test_a_note_of_six_words_is_read_without_the_transactions_start(tmp_path: Path) -> None:
    path = note_path(tmp_path, "shop-worker-a")
    path.parent.mkdir(parents=True)
    path.write_text(f"{7:>20} {2:>5} {1_250:>20} {1_920:>20} {3:>10} shop.order-events\n")
    source = SourceOffset("shop.order-events", 3, 1_920)
    assert last_commit(path) == LastCommit(7, 2, 1_250, source, None)


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
    assert last_commit(path) == LastCommit(7, 3, 9, None, 9 - LONGEST_TRANSACTION_MS)


def test_no_note_or_an_unreadable_one_means_nothing_to_seal(tmp_path: Path) -> None:
    assert last_commit(tmp_path / "missing.txt") is None
    (tmp_path / "broken.txt").write_text("not numbers")
    assert last_commit(tmp_path / "broken.txt") is None
