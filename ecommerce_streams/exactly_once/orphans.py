"""Transactions of workers gone from the group: taken back and aborted (gap 18).

With ``worker-transactions`` a worker's transactional id is its own
(``{app id}-worker-{name}``), and only a worker of the same name takes it back. A
worker removed for good leaves whatever its producer had open: a transaction it was
killed in stays open until the broker times it out, and one whose commit markers a
restarted broker skipped (gap 16) stays open for ever. Its records hold the last stable
offset of partitions other workers now own, and its offsets hold their stable offset
fetch, so those partitions never start again. (With one producer per partition the
partition's next owner takes the id back, which closes it.)

So after each rebalance the worker whose name comes first in the group:

1. lists the app's worker transactional ids on every broker (ListTransactions, which
   aiokafka does not speak);
2. asks the group who is in it (DescribeGroups: a worker's client id names it,
   :func:`client_id`);
3. adopts each id whose worker is not a member: it initialises the id
   (InitProducerId, which fences the old epoch and aborts what the coordinator still
   had open), then aborts once in every partition the app writes and in the group's
   offsets, as a fresh producer of its own does (gap 15), and stops the producer.

The next rebalance (or revocation) cancels a pass under way, though not an adoption
already begun, which ends with its abort. A worker that takes its id
back meanwhile fences the adoption, which is then done: the worker aborts for itself.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiokafka import errors as kafka_errors
from aiokafka.client import CoordinationType
from aiokafka.protocol.admin import DescribeGroupsRequest
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)

logger = logging.getLogger(__name__)

#: How a worker's Kafka client id begins; the worker's name follows.
WORKER_CLIENT_PREFIX = "es-worker-"
#: How long a pass that failed (a broker away, a group rebalancing) waits to try again.
RETRY_SECONDS = 2.0
#: The coordinator's state of a transaction that an abort ended (nothing left open).
ABORTED = "CompleteAbort"

AdoptOne = Callable[[str], Awaitable[None]]
"""Initialise one orphaned transactional id and abort everywhere its worker may have written."""


def client_id(worker_name: str) -> str:
    """The Kafka client id of a worker: how the group's members name their workers."""
    return f"{WORKER_CLIENT_PREFIX}{worker_name}"


def worker_of_client(client: str) -> str | None:
    """The worker a Kafka client id names, or None for a client that is no worker."""
    return client[len(WORKER_CLIENT_PREFIX) :] if client.startswith(WORKER_CLIENT_PREFIX) else None


def orphans(
    app_id: str,
    transactions: Mapping[str, str],
    members: Iterable[str],
    me: str,
    adopted: Iterable[str] = (),
) -> list[str]:
    """The worker transactional ids ``me`` adopts: of workers not in the group, if ``me`` is first.

    ``transactions`` maps each listed transactional id to its state; an id this worker
    adopted already and nobody used since (still aborted) is not adopted again.
    """
    live = sorted(set(members))
    if not live or live[0] != me:
        return []
    prefix = f"{app_id}-worker-"
    done = set(adopted)
    return sorted(
        tid
        for tid, state in transactions.items()
        if tid.startswith(prefix)
        and tid[len(prefix) :] not in live
        and not (tid in done and state == ABORTED)
    )


class ListTransactionsResponse_v0(Response):  # type: ignore[misc]
    """Every transactional id a broker coordinates, with its producer id and state."""

    API_KEY = 66
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("unknown_state_filters", CompactArray(CompactString("utf-8"))),
        (
            "transaction_states",
            CompactArray(
                ("transactional_id", CompactString("utf-8")),
                ("producer_id", Int64),
                ("transaction_state", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class ListTransactionsRequest_v0(RequestStruct):  # type: ignore[misc]
    """List a broker's transactions (KIP-664), optionally filtered by state or producer."""

    FLEXIBLE_VERSION = True
    API_KEY = 66
    API_VERSION = 0
    RESPONSE_TYPE = ListTransactionsResponse_v0
    SCHEMA = Schema(
        ("state_filters", CompactArray(CompactString("utf-8"))),
        ("producer_id_filters", CompactArray(Int64)),
        ("tags", TaggedFields),
    )


class ListTransactionsRequest(Request[ListTransactionsRequest_v0]):  # type: ignore[misc]
    """Every transaction of one broker, whatever its state."""

    API_KEY = 66

    def build(self, request_struct_class: type[ListTransactionsRequest_v0]) -> Any:
        return request_struct_class([], [], {})


async def listed_transactions(client: Any) -> dict[str, str]:
    """Every transactional id the cluster's brokers coordinate, with its state."""
    found: dict[str, str] = {}
    for broker in client.cluster.brokers():
        response = await client.send(broker.nodeId, ListTransactionsRequest())
        error = kafka_errors.for_code(response.error_code)
        if error is not kafka_errors.NoError:
            raise error(f"ListTransactions on broker {broker.nodeId}")
        for tid, _producer_id, state, _tags in response.transaction_states:
            found[tid] = state
    return found


async def group_workers(client: Any, group: str) -> list[str]:
    """The names of the workers in the group; raises while the group is rebalancing."""
    node = await client.coordinator_lookup(CoordinationType.GROUP, group)
    response = (await client.send(node, DescribeGroupsRequest([group]))).to_object()
    (described,) = response["groups"]
    error = kafka_errors.for_code(described["error_code"])
    if error is not kafka_errors.NoError:
        raise error(f"DescribeGroups of {group!r}")
    if described["state"] != "Stable":
        raise kafka_errors.RebalanceInProgressError(f"group {group!r} is {described['state']}")
    names = (worker_of_client(member["client_id"]) for member in described["members"])
    return [name for name in names if name is not None]


async def adopt_orphans(
    client: Any, app_id: str, me: str, adopt: AdoptOne, adopted: set[str]
) -> list[str]:
    """One pass (steps 1-3), retried until it succeeds; the ids adopted."""
    while True:
        try:
            transactions = await listed_transactions(client)
            members = await group_workers(client, app_id)
            chosen = orphans(app_id, transactions, members, me, adopted)
            # A cancelled pass lets adoptions under way finish: one cut short after its
            # offsets would hold them pending in the group until the broker's timeout.
            await asyncio.gather(*(asyncio.shield(_adopt(tid, adopt)) for tid in chosen))
        except Exception as exc:  # a broker away, a group rebalancing, or a bug: shown
            expected = isinstance(exc, kafka_errors.KafkaError | OSError)
            logger.log(
                logging.INFO if expected else logging.ERROR,
                "Orphaned transactions not checked yet (%r); again in %s s",
                exc,
                RETRY_SECONDS,
                exc_info=not expected,
            )
            await asyncio.sleep(RETRY_SECONDS)
            continue
        adopted.update(chosen)
        return chosen


async def _adopt(tid: str, adopt: AdoptOne) -> None:
    try:
        await adopt(tid)
    except (kafka_errors.ProducerFenced, kafka_errors.InvalidProducerEpoch):
        logger.info("Transactional id %s was taken back by its worker", tid)
        return
    logger.warning("Adopted transactional id %s of a worker gone from the group: aborted", tid)
