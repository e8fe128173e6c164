"""Committed offsets read only from a coordinator that has loaded them (gap 17).

A coordinator that has not finished loading its ``__consumer_offsets`` partition, as
after a broker restart, answers OffsetFetch v2+ with a group-level error
``COORDINATOR_LOAD_IN_PROGRESS`` and no partitions. aiokafka 0.14 reads only the
partitions' errors, so it takes that answer for "nothing committed": the worker's seek
then sends every partition back to its first record and derives every event again.
"""

from typing import Any

from aiokafka import errors as kafka_errors
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.commit import OffsetFetchRequest

from ecommerce_streams.exactly_once.group_fencing import StableOffsetFetchRequest, stable_offsets


def raise_group_error(response: Any) -> None:
    """Raise the group-level error of an OffsetFetch answer, if it has one.

    Retriable ones (load in progress, coordinator moved or not yet available) make
    aiokafka ask again, which it does for the same errors at partition level.
    """
    code = getattr(response, "error_code", 0)
    if code:
        raise kafka_errors.for_code(code)()


class LoadAwareCoordinator(GroupCoordinator):  # type: ignore[misc]
    """aiokafka's group coordinator client that heeds OffsetFetch's group-level error.

    With ``requires_stable`` it also asks for stable offsets only (OffsetFetch v7,
    ``group_fencing.py``): a partition an open transaction holds offsets of is asked
    again, like a coordinator still loading.
    """

    requires_stable = False

    async def _send_req(self, request: Any) -> Any:
        stable = self.requires_stable and isinstance(request, OffsetFetchRequest)
        if stable:
            request = StableOffsetFetchRequest(request._consumer_group, request._partitions)
        response = await super()._send_req(request)
        if isinstance(request, OffsetFetchRequest | StableOffsetFetchRequest):
            try:
                raise_group_error(response)
            except kafka_errors.NotCoordinatorError:
                self.coordinator_dead()  # find the coordinator again, as for a partition's error
                raise
        return stable_offsets(response) if stable else response


def heed_offset_fetch_errors(consumer: Any, *, stable: bool = False) -> None:
    """Make a started aiokafka consumer's group coordinator heed group-level errors.

    aiokafka creates the coordinator in ``start`` and fetches offsets only after the
    group's first assignment, so switching its class right after ``start`` comes first.
    ``stable`` fetches only offsets no open transaction holds (one producer per worker).
    """
    coordinator = getattr(consumer, "_coordinator", None)
    if type(coordinator) is GroupCoordinator:
        coordinator.__class__ = LoadAwareCoordinator
    if isinstance(coordinator, LoadAwareCoordinator):
        coordinator.requires_stable = stable
