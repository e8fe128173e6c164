"""A reader of a shared topic applies each event once, from what the commits say it applied.

notifications and analytics both read order-events; the partition's offset waits for the
slower one, so a commit can hold the faster one's effects past it. These run Faust's own
app, message objects and our producer in memory (no broker). Set
ES_TEST_EXACTLY_ONCE_REPAIRS=-shared-read-positions to see them fail without it.
"""

import pytest
from faust.types import TP
from faust.types.tuples import Message

from ecommerce_streams.exactly_once import gate_of, process_event
from ecommerce_streams.exactly_once.producer import SettlingProducer
from ecommerce_streams.exactly_once.shared_reads import SharedReads, parse_note
from ecommerce_streams.worker.app import ShopApp
from tests.unit.exactly_once_app import ORDER_EVENTS_6, event_of, flowing_app, order_event


@pytest.fixture
def app() -> ShopApp:
    """A worker-side app under exactly-once whose streams are flowing, never started."""
    return flowing_app()


class OrderEvents:
    """Messages of order-events partition 6, each handed to both readers' streams."""

    def __init__(self, app: ShopApp) -> None:
        self.app = app
        self.messages: dict[int, Message] = {}
        self.applied: list[tuple[str, int]] = []

    async def read(self, reader: str, offsets: range) -> None:
        """``reader`` processes the messages at these offsets."""
        for offset in offsets:
            message = self.messages.get(offset)
            if message is None:
                message = self.messages[offset] = order_event(self.app, offset, readers=2)

            async def work(offset: int = offset) -> None:
                self.applied.append((reader, offset))

            await process_event(self.app, event_of(self.app, message), work, shared_reader=reader)

    def applied_by(self, reader: str) -> list[int]:
        """Offsets whose effects ``reader`` applied."""
        return [offset for name, offset in self.applied if name == reader]


def commit_metadata(app: ShopApp, offset: int) -> str:
    """The metadata our producer sends with this offset of order-events partition 6."""
    producer = app.producer
    assert isinstance(producer, SettlingProducer)
    with_notes = producer._with_notes({ORDER_EVENTS_6: offset})
    committed = with_notes[ORDER_EVENTS_6]
    return committed[1] if isinstance(committed, tuple) else ""


async def test_a_restarted_reader_skips_the_events_its_committed_effects_cover(
    app: ShopApp,
) -> None:
    before = OrderEvents(app)
    await before.read("analytics", range(0, 5))
    await before.read("notifications", range(0, 2))
    offset = gate_of(app).processed[ORDER_EVENTS_6]
    metadata = commit_metadata(app, offset)  # committed with analytics' effects of 2..4

    restarted = flowing_app()
    gate_of(restarted).shared_reads.restore(ORDER_EVENTS_6, metadata)
    after = OrderEvents(restarted)
    await after.read("analytics", range(offset, 6))
    await after.read("notifications", range(offset, 6))

    assert offset == 2
    assert after.applied_by("analytics") == [5]
    assert after.applied_by("notifications") == [2, 3, 4, 5]
    assert gate_of(restarted).processed[ORDER_EVENTS_6] == 6


async def test_a_commit_records_a_reader_that_moved_while_the_offset_did_not(
    app: ShopApp,
) -> None:
    consumer = app.consumer
    events = OrderEvents(app)
    await events.read("analytics", range(0, 3))
    await events.read("notifications", range(0, 3))
    consumer._committed_offset[ORDER_EVENTS_6] = 3
    gate_of(app).forget_committed({ORDER_EVENTS_6: 3})
    gate_of(app).shared_reads.committed({ORDER_EVENTS_6: 3})

    await events.read("analytics", range(3, 7))  # notifications has not moved

    to_commit = consumer._filter_committable_offsets(consumer._filter_tps_with_pending_acks())
    assert to_commit == {ORDER_EVENTS_6: 3}
    assert parse_note(commit_metadata(app, 3)) == {"analytics": 7}


def test_readers_level_with_the_offset_commit_no_metadata() -> None:
    reads = SharedReads()
    for offset in range(4):
        reads.record("analytics", ORDER_EVENTS_6, offset)
        reads.record("notifications", ORDER_EVENTS_6, offset)
    assert reads.note(ORDER_EVENTS_6, 4) == ""
    assert reads.unnoted({ORDER_EVENTS_6: 4}) == {}


def test_a_restored_position_stays_in_the_metadata_until_the_offset_passes_it() -> None:
    reads = SharedReads()
    reads.restore(ORDER_EVENTS_6, '{"applied":{"analytics":10}}')
    for offset in range(5, 8):
        reads.record("analytics", ORDER_EVENTS_6, offset)  # skipped as already applied
    assert parse_note(reads.note(ORDER_EVENTS_6, 8)) == {"analytics": 10}
    assert reads.note(ORDER_EVENTS_6, 10) == ""


def test_the_first_commit_of_an_assignment_uses_where_reading_began() -> None:
    reads = SharedReads()
    reads.record("analytics", ORDER_EVENTS_6, 40)
    reads.record("analytics", ORDER_EVENTS_6, 41)
    assert reads.unnoted({}) == {ORDER_EVENTS_6: 40}


@pytest.mark.parametrize(
    "metadata", ["", "not json", "[]", '{"applied": [1]}', '{"applied": {"a": "1", "b": true}}']
)
def test_metadata_without_positions_skips_nothing(metadata: str) -> None:
    reads = SharedReads()
    reads.restore(ORDER_EVENTS_6, metadata)
    assert not reads.already_applied("analytics", ORDER_EVENTS_6, 0)
    assert reads.unnoted({}) == {}


def test_positions_are_per_partition() -> None:
    reads = SharedReads()
    reads.restore(ORDER_EVENTS_6, '{"applied":{"analytics":10}}')
    assert reads.already_applied("analytics", ORDER_EVENTS_6, 9)
    assert not reads.already_applied("analytics", TP("order-events", 5), 9)
    assert not reads.already_applied("notifications", ORDER_EVENTS_6, 9)
