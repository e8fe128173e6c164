"""The offset a partition may commit while its deliveries finish out of order."""

from models.delivery.window import OffsetWindow


def window_of(*offsets: int) -> OffsetWindow:
    """A window that received these offsets."""
    window = OffsetWindow()
    for offset in offsets:
        window.received(offset)
    return window


def test_nothing_received_commits_nothing() -> None:
    assert OffsetWindow().committable is None


def test_an_unfinished_record_holds_the_commit_at_its_offset() -> None:
    window = window_of(10, 11, 12)
    window.finished(11)
    window.finished(12)
    assert window.committable == 10
    assert len(window) == 1


def test_once_every_record_is_finished_the_commit_moves_past_the_last() -> None:
    window = window_of(10, 11, 12)
    for offset in (12, 10, 11):
        window.finished(offset)
    assert window.committable == 13


def test_gaps_in_offsets_from_transaction_markers_do_not_hold_the_commit() -> None:
    window = window_of(10, 12, 15)
    window.finished(10)
    window.finished(12)
    assert window.committable == 15
    window.finished(15)
    assert window.committable == 16


def test_finishing_a_record_twice_or_one_never_received_changes_nothing() -> None:
    window = window_of(5, 6)
    window.finished(5)
    window.finished(5)
    window.finished(99)
    assert window.committable == 6
