"""Rebuild every table from the source topics into a new app version, beside the live workers.

A replay runs ordinary workers of the same app id at ``ES_APP_VERSION=N`` with
``ES_REPLAY=1``. Faust turns the version into a new app id (``shop-vN``), and with it a
new consumer group, new changelog topics, new transactional ids and a new table
directory (``<datadir>/vN``), so nothing the live workers own is touched. The replay
group reads the *source* topics (orders, payments, inventory) from the beginning, or
from the offsets of a point in time.

Its derived events are isolated, not dropped: they go to copies of the derived topics
under ``<prefix>replay-vN.`` (see :meth:`TopicNames.replay`). The saga needs its own
internal traffic to rebuild state (the orders agent sends ``inventory-commands`` that
the inventory agent consumes, whose ``inventory-results`` come back to the orders
agent; ``order-events`` feed the order-outcomes agent), so dropping outputs would leave
half the tables unbuilt; sending them to the live topics would make live consumers and
the live inventory agent act on every event twice. The copies can be checked with
``verify`` like any deployment and deleted afterwards.
"""

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ecommerce_streams.harness.deployment import WorkerFailed, WorkerProcess
from ecommerce_streams.harness.kafka import free_port
from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.operations.changelogs import tables_with_changelogs
from ecommerce_streams.operations.consumer_group import (
    active_members,
    committed_offsets,
    group_id,
    rewind,
    wait_caught_up,
)
from ecommerce_streams.operations.topic_setup import ensure_topics
from ecommerce_streams.settings import Settings
from ecommerce_streams.topic_names import TopicNames
from models.stages import AGENT_STAGES, STAGES
from models.topics import SOURCE_ROLES

READY_TIMEOUT_SECONDS = 180.0


class ReplayRefused(ValueError):
    """The replay cannot start: the version is the live one or already holds state."""


def consumed_topics(names: TopicNames, *, routing: bool = True) -> tuple[str, ...]:
    """Every topic the agents read: the sources first, then the saga's internal topics.

    Without ``routing`` (a replay, or ``ES_ROUTING=false``) the routing agent does not run.
    """
    stages = AGENT_STAGES if routing else STAGES
    read = {role for stage in stages for role in stage.reads}
    internal = [role for stage in stages for role in stage.reads if role not in SOURCE_ROLES]
    roles = dict.fromkeys([*(role for role in SOURCE_ROLES if role in read), *internal])
    return tuple(names.name(role) for role in roles)


@dataclass(frozen=True)
class ReplayResult:
    """Where a finished replay left its state, and how long it took."""

    group: str
    names: TopicNames
    seconds: float
    workdir: Path


async def check_version_is_new(settings: Settings, version: int) -> None:
    """Refuse the live version, older ones, and a version that already has state."""
    if version <= settings.app_version:
        raise ReplayRefused(
            f"replay version {version} must be above the live version {settings.app_version} "
            "(ES_APP_VERSION)"
        )
    group = group_id(settings.app_id, version)
    async with admin_client(settings.bootstrap) as admin:
        existing = set(await admin.list_topics())
    changelogs = tables_with_changelogs(existing, settings.app_id, version)
    members = await active_members(settings.bootstrap, group)
    offsets = await committed_offsets(settings.bootstrap, group)
    if changelogs or members or offsets:
        raise ReplayRefused(
            f"version {version} already holds state (group {group!r}: {len(members)} member(s), "
            f"{len(offsets)} committed offset(s); changelogs of tables {changelogs}); "
            "choose a higher version"
        )


def replay_worker(settings: Settings, version: int, workdir: Path, index: int) -> WorkerProcess:
    """A replay worker process (not started): the live settings at ``version``, replaying.

    Every live setting is passed on (the dedup window, for one, shapes decisions); only
    the version, the replay switch, the datadir and the web port differ.
    """
    datadir = workdir / f"worker-{index}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ES_")}
    env.update(
        (f"ES_{name.upper()}", value if isinstance(value, str) else json.dumps(value))
        for name, value in settings.model_dump(mode="json").items()
        if value is not None
    )
    env.update(
        ES_BROKER=settings.bootstrap,
        ES_APP_VERSION=str(version),
        ES_REPLAY="true",
        ES_DATADIR=str(datadir),
        ES_WEB_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    return WorkerProcess(
        name=f"replay-v{version}-{index}",
        env=env,
        datadir=datadir,
        web_port=port,
        log_path=workdir / f"worker-{index}.log",
    )


async def replay(
    settings: Settings,
    version: int,
    *,
    since: datetime | None = None,
    workers: int = 1,
    workdir: Path,
    timeout: float = 3600.0,
    say: Callable[[str], None] = lambda _: None,
) -> ReplayResult:
    """Run replay workers into ``version`` until they consumed everything, then stop them.

    ``since`` starts every source partition at the first record logged at or after it
    (None: the beginning). Tables then start empty at that point: events that refer to
    earlier ones (a payment for an order placed before ``since``) find no state.
    """
    await check_version_is_new(settings, version)
    names = TopicNames(settings.topic_prefix).replay(version)
    group = group_id(settings.app_id, version)
    await ensure_topics(
        settings.bootstrap, names, partitions=settings.partitions, replication=settings.replication
    )
    await rewind(settings.bootstrap, group, names.sources(), since)
    say(f"group {group!r} reads {', '.join(names.sources())} from {since or 'the beginning'}")

    processes = [replay_worker(settings, version, workdir, i) for i in range(workers)]
    started = time.monotonic()
    try:
        for process in processes:
            process.start()
        await asyncio.gather(*(p.wait_ready(READY_TIMEOUT_SECONDS) for p in processes))
        say(f"{workers} replay worker(s) ready; logs in {workdir}")

        def still_running() -> None:
            for process in processes:
                if not process.running:
                    raise WorkerFailed(f"{process.name} exited:\n{process.log_tail()}")

        await wait_caught_up(
            settings.bootstrap,
            group,
            consumed_topics(names, routing=False),
            timeout=timeout,
            check=still_running,
        )
        seconds = time.monotonic() - started
    finally:
        for process in processes:
            process.terminate()
    say(f"caught up after {seconds:.1f} s; replay workers stopped")
    return ReplayResult(group=group, names=names, seconds=seconds, workdir=workdir)
