"""Verify a deployment end to end: read its topics back until the outputs settle, then check."""

import asyncio
from collections.abc import Mapping
from typing import Any

from ecommerce_streams.harness.load.summary import LoadSummary
from ecommerce_streams.harness.verify.invariants import check_invariants
from ecommerce_streams.harness.verify.reading import TopicReader
from ecommerce_streams.harness.verify.report import VerifyReport
from ecommerce_streams.harness.verify.routing import RoutingPlan, check_routing
from ecommerce_streams.harness.verify.settling import OrderProgress
from ecommerce_streams.topic_names import TopicNames
from models.topics import DELIVERY_ROLES, DERIVED_ROLES, ROUTED_ROLES, TopicRole

OUTPUT_ROLES = tuple(
    role
    for role in DERIVED_ROLES
    if role is not TopicRole.DEAD_LETTERS and role not in DELIVERY_ROLES
)
"""The topics the stages derive events on (dead letters are read on their own, routed
deliveries by the routing check)."""
QUIET_EXCEPT = (TopicRole.ANALYTICS,)
"""Roles whose traffic does not keep the outputs from counting as settled."""

DEFAULT_SETTLE = 3.0
POLL_INTERVAL = 0.5


async def verify(
    bootstrap: str,
    topics: TopicNames,
    *,
    expected: LoadSummary | None = None,
    timeout: float = 60.0,
    settle: float = DEFAULT_SETTLE,
    table_snapshot: Mapping[str, Mapping[str, Any]] | None = None,
    routing: RoutingPlan | None = None,
) -> VerifyReport:
    """Read inputs and outputs (read_committed) until settled or ``timeout``, then check.

    Settled means every order to decide (``expected.order_ids``, else every valid
    OrderPlaced not dead-lettered) has a terminal event and no topic but analytics
    received anything for ``settle`` seconds. With ``routing``, its target topics are
    read too and every routed delivery is checked.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    progress = OrderProgress(expected.order_ids if expected is not None else None)
    watched = [topics.name(role) for role in OUTPUT_ROLES if role not in QUIET_EXCEPT]
    watched += [*topics.sources(), topics.dead_letters]
    targets = routing.targets if routing is not None else ()
    read_topics = (*topics.all(), *targets)
    async with TopicReader(bootstrap, read_topics) as reader:
        read = dict.fromkeys(read_topics, 0)
        quiet_since = loop.time()
        while True:
            await reader.catch_up(deadline=deadline)
            grew = False
            for topic, records in reader.records.items():
                fresh = records[read[topic] :]
                read[topic] = len(records)
                if fresh and topic in watched:
                    grew = True
                if topic == topics.orders:
                    progress.placed(fresh)
                elif topic == topics.order_events:
                    progress.decided(fresh)
                elif topic == topics.dead_letters:
                    progress.dead_lettered(fresh)
            now = loop.time()
            if grew:
                quiet_since = now
            settled = not progress.open_orders() and now - quiet_since >= settle
            if settled or now >= deadline:
                break
            await asyncio.sleep(POLL_INTERVAL)
        read_records = reader.records
    report = check_invariants(
        [record for topic in topics.sources() for record in read_records[topic]],
        {role: read_records[topics.name(role)] for role in OUTPUT_ROLES},
        read_records[topics.dead_letters],
        expected=expected,
        table_snapshot=table_snapshot,
        input_topics=topics.sources(),
    )
    if routing is not None:
        check_routing(
            {role: read_records[topics.name(role)] for role in ROUTED_ROLES},
            [r for t in (*targets, topics.http_deliveries) for r in read_records[t]],
            routing.rules,
            routing.subscriptions,
            report,
        )
    report.settled = settled
    return report
