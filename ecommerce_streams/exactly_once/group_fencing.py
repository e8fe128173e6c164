"""Zombies fenced by the consumer group's generation (KIP-447), for one producer per worker.

With one transactional producer per worker instead of one per partition, a worker that
takes over a partition no longer initialises the previous owner's transactional id, so
nothing aborts a zombie's transaction. Two requests aiokafka 0.14 does not speak fence
it instead:

- **TxnOffsetCommit v3** carries the committing member's generation and member id: the
  group coordinator refuses the offsets of a member a rebalance has left behind
  (``ILLEGAL_GENERATION``, ``UNKNOWN_MEMBER_ID``), so its transaction cannot commit.
- **OffsetFetch v7** with ``require_stable``: the coordinator answers
  ``UNSTABLE_OFFSET_COMMIT`` while a transaction holds offsets of the partition that
  are neither committed nor aborted, so a new owner starts from the offsets the old
  one's last transaction left, not from those before it.
"""

import functools
from collections import defaultdict
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, NamedTuple

from aiokafka import errors as kafka_errors
from aiokafka.client import CoordinationType
from aiokafka.producer.sender import TxnOffsetCommitHandler
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Boolean,
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)

from ecommerce_streams.exactly_once.confirmed_commits import HeldSender

#: No leader epoch is known for a committed offset (Kafka's ``-1``).
NO_LEADER_EPOCH = -1
#: The group coordinator's answer while a transaction holds a partition's offsets.
UNSTABLE_OFFSET_COMMIT = 88
#: Answers that mean the committing member is not (or no longer) the partition's owner.
FENCED_MEMBER_ERRORS = (kafka_errors.IllegalGenerationError, kafka_errors.UnknownMemberIdError)
#: A static member replaced by another instance (aiokafka has no class for it).
FENCED_INSTANCE_ID = 82


class GroupMember(NamedTuple):
    """Who commits offsets: the consumer group generation and member id of this worker."""

    generation: int
    member_id: str
    group_instance_id: str | None = None


MemberOf = Callable[[], GroupMember]
"""How a producer learns the worker's current group membership (read at each commit)."""


class ZombieFenced(kafka_errors.KafkaError):  # type: ignore[misc]
    """The group has moved on: this worker's offsets (and so its transaction) cannot commit."""

    retriable = False


class UnstableOffsetCommit(kafka_errors.KafkaError):  # type: ignore[misc]
    """A transaction holds the partition's offsets: ask again once it has ended."""

    errno = UNSTABLE_OFFSET_COMMIT
    retriable = True


class TxnOffsetCommitResponse_v3(Response):  # type: ignore[misc]
    """Per partition, whether the group took the transaction's offset."""

    API_KEY = 28
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "topics",
            CompactArray(
                ("name", CompactString("utf-8")),
                (
                    "partitions",
                    CompactArray(
                        ("partition_index", Int32), ("error_code", Int16), ("tags", TaggedFields)
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class TxnOffsetCommitRequest_v3(RequestStruct):  # type: ignore[misc]
    """Offsets for a transaction, with the committing member's generation (KIP-447)."""

    FLEXIBLE_VERSION = True
    API_KEY = 28
    API_VERSION = 3
    RESPONSE_TYPE = TxnOffsetCommitResponse_v3
    SCHEMA = Schema(
        ("transactional_id", CompactString("utf-8")),
        ("group_id", CompactString("utf-8")),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("generation_id", Int32),
        ("member_id", CompactString("utf-8")),
        ("group_instance_id", CompactString("utf-8")),
        (
            "topics",
            CompactArray(
                ("name", CompactString("utf-8")),
                (
                    "partitions",
                    CompactArray(
                        ("partition_index", Int32),
                        ("committed_offset", Int64),
                        ("committed_leader_epoch", Int32),
                        ("committed_metadata", CompactString("utf-8")),
                        ("tags", TaggedFields),
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class FencedTxnOffsetCommitRequest(Request[TxnOffsetCommitRequest_v3]):  # type: ignore[misc]
    """TxnOffsetCommit that a broker refuses from a member the group has left behind."""

    API_KEY = 28

    def __init__(
        self,
        transactional_id: str,
        group_id: str,
        producer_id: int,
        producer_epoch: int,
        member: GroupMember,
        offsets: dict[str, list[tuple[int, int, str]]],
    ) -> None:
        self._fields = (transactional_id, group_id, producer_id, producer_epoch, member)
        self._offsets = offsets

    def build(self, request_struct_class: type[TxnOffsetCommitRequest_v3]) -> Any:
        transactional_id, group_id, producer_id, producer_epoch, member = self._fields
        topics: list[Any] = [
            (
                topic,
                [
                    (partition, offset, NO_LEADER_EPOCH, metadata, {})
                    for partition, offset, metadata in partitions
                ],
                {},
            )
            for topic, partitions in self._offsets.items()
        ]
        return request_struct_class(
            transactional_id,
            group_id,
            producer_id,
            producer_epoch,
            member.generation,
            member.member_id,
            member.group_instance_id,
            topics,
            {},
        )


class FencedTxnOffsetCommitHandler(TxnOffsetCommitHandler):  # type: ignore[misc]
    """aiokafka's TxnOffsetCommit handler, sending v3 with the worker's group membership."""

    def __init__(self, sender: Any, offsets: Any, group_id: str, member: GroupMember) -> None:
        super().__init__(sender, offsets, group_id)
        self._member = member

    def create_request(self) -> FencedTxnOffsetCommitRequest:
        """The offsets of the transaction, with who commits them."""
        txn_manager = self._sender._txn_manager
        by_topic: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        for tp, offset in sorted(self._offsets.items()):
            by_topic[tp.topic].append((tp.partition, offset.offset, offset.metadata))
        return FencedTxnOffsetCommitRequest(
            txn_manager.transactional_id,
            self._group_id,
            txn_manager.producer_id,
            txn_manager.producer_epoch,
            self._member,
            dict(by_topic),
        )

    def handle_response(self, resp: Any) -> float | None:
        """Fail the transaction of a fenced member; leave every other answer to aiokafka."""
        errors = [
            (topic, [(partition, code) for partition, code, _tags in partitions])
            for topic, partitions, _tags in resp.topics
        ]
        for topic, partitions in errors:
            for partition, code in partitions:
                error_type = kafka_errors.for_code(code)
                if error_type is kafka_errors.RebalanceInProgressError:
                    # The group awaits its leader's assignment: ask again with what it decides.
                    backoff: float = self._default_backoff
                    return backoff
                if code == FENCED_INSTANCE_ID or error_type in FENCED_MEMBER_ERRORS:
                    self._sender._txn_manager.error_transaction(
                        ZombieFenced(
                            f"offsets of {topic}[{partition}] refused ({error_type.__name__}, "
                            f"code {code}) for generation {self._member.generation}, member "
                            f"{self._member.member_id!r}: the group has moved on"
                        )
                    )
                    return None
        retry: float | None = super().handle_response(SimpleNamespace(errors=errors))
        return retry


class GroupFencedSender(HeldSender):
    """aiokafka's sender, committing a transaction's offsets with the worker's membership
    (and holding a transaction while the last commit's markers are unseen, if asked)."""

    member_of: MemberOf

    async def _do_txn_offset_commit(self, offsets: Any, group_id: str) -> None:
        if not offsets:
            return
        try:
            node_id = await self._find_coordinator(CoordinationType.GROUP, group_id)
            member = self.member_of()
        except (kafka_errors.GroupAuthorizationFailedError, ZombieFenced) as exc:
            # The transaction fails, and with it the commit that waits for it; raised
            # here, it would end aiokafka's sender task and leave every send waiting.
            self._txn_manager.error_transaction(exc)
            return
        handler = FencedTxnOffsetCommitHandler(self, offsets, group_id, member)
        await handler.do(node_id)


def fence_by_group(producer: Any, app: Any) -> None:
    """Make a transactional aiokafka producer commit offsets with the worker's membership."""
    sender = producer._sender
    sender.__class__ = GroupFencedSender
    sender.member_of = functools.partial(_member_of_app, app)


def join_group_fencing(app: Any, member_of: MemberOf) -> None:
    """Tell the app's transactional producers how to learn the worker's group membership."""
    app._es_group_member = member_of


def _member_of_app(app: Any) -> GroupMember:
    member_of: MemberOf | None = getattr(app, "_es_group_member", None)
    if member_of is None:
        raise ZombieFenced("offsets to commit before the worker's consumer has joined its group")
    return member_of()


def member_of_consumer(consumer: Any) -> MemberOf:
    """The group membership of a started aiokafka consumer, as it stands when asked."""

    def member() -> GroupMember:
        coordinator = consumer._coordinator
        return GroupMember(
            coordinator.generation, coordinator.member_id, coordinator._group_instance_id
        )

    return member


class OffsetFetchResponse_v7(Response):  # type: ignore[misc]
    """Committed offsets; a partition a transaction holds answers UNSTABLE_OFFSET_COMMIT."""

    API_KEY = 9
    API_VERSION = 7
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "topics",
            CompactArray(
                ("name", CompactString("utf-8")),
                (
                    "partitions",
                    CompactArray(
                        ("partition_index", Int32),
                        ("committed_offset", Int64),
                        ("committed_leader_epoch", Int32),
                        ("metadata", CompactString("utf-8")),
                        ("error_code", Int16),
                        ("tags", TaggedFields),
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("error_code", Int16),
        ("tags", TaggedFields),
    )


class OffsetFetchRequest_v7(RequestStruct):  # type: ignore[misc]
    """Committed offsets of a group's partitions, stable ones only when asked (KIP-447)."""

    FLEXIBLE_VERSION = True
    API_KEY = 9
    API_VERSION = 7
    RESPONSE_TYPE = OffsetFetchResponse_v7
    SCHEMA = Schema(
        ("group_id", CompactString("utf-8")),
        (
            "topics",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("partition_indexes", CompactArray(Int32)),
                ("tags", TaggedFields),
            ),
        ),
        ("require_stable", Boolean),
        ("tags", TaggedFields),
    )


class StableOffsetFetchRequest(Request[OffsetFetchRequest_v7]):  # type: ignore[misc]
    """OffsetFetch that waits out the offsets an open transaction holds."""

    API_KEY = 9

    def __init__(self, group_id: str, partitions: list[tuple[str, list[int]]]) -> None:
        self._group_id = group_id
        self._partitions = partitions

    def build(self, request_struct_class: type[OffsetFetchRequest_v7]) -> Any:
        topics: list[Any] = [(topic, partitions, {}) for topic, partitions in self._partitions]
        return request_struct_class(self._group_id, topics, True, {})


def stable_offsets(response: Any) -> Any:
    """An OffsetFetch v7 answer in the shape aiokafka reads (v3); raise while one is unstable."""
    topics = []
    for topic, partitions, _tags in response.topics:
        for partition, _offset, _epoch, _metadata, code, _tags in partitions:
            if code == UNSTABLE_OFFSET_COMMIT:
                raise UnstableOffsetCommit(f"{topic}[{partition}] is held by a transaction")
        topics.append(
            (
                topic,
                [
                    (partition, offset, metadata, code)
                    for partition, offset, _epoch, metadata, code, _tags in partitions
                ],
            )
        )
    return SimpleNamespace(
        throttle_time_ms=response.throttle_time_ms, topics=topics, error_code=response.error_code
    )
