"""A worker that lost its local state rebuilds it from the changelogs and serves the same views."""

import os
import shutil
import signal
import time

import pytest

from ecommerce_streams.exactly_once.table_recovery import restore_seconds
from ecommerce_streams.harness.deployment import Deployment, WorkerProcess
from ecommerce_streams.harness.load import LoadProfile, order_id_of, send_load
from ecommerce_streams.operations.changelogs import (
    ChangelogContents,
    app_tables,
    read_tables,
    restore_rate,
)
from tests.integration.operator import processed_everything, view
from tests.web_client import eventually, scrape, total

pytestmark = pytest.mark.integration

PROFILE = LoadProfile(orders=300, seed=5)
SAMPLED_ORDERS = [order_id_of(PROFILE, n) for n in range(0, PROFILE.orders, 6)]


async def views_of(deployment: Deployment, skus: list[str]) -> dict[str, object]:
    """What the first worker answers for the sampled orders and every sku."""
    worker = deployment.workers[0]
    paths = [f"/orders/{order_id}" for order_id in SAMPLED_ORDERS]
    paths += [f"/inventory/{sku}" for sku in skus]
    return {path: await view(f"{worker.url}{path}") for path in paths}


async def one_worker_after_the_load(
    deployment: Deployment,
) -> tuple[WorkerProcess, ChangelogContents, list[str], dict[str, object]]:
    """One worker that processed the profile: it, its tables' changelogs, skus and views."""
    [worker] = await deployment.start_workers(1)
    await send_load(deployment.bootstrap, deployment.topics, PROFILE)
    await processed_everything(deployment)
    contents = await read_tables(deployment.bootstrap, deployment.app_id, 1, app_tables())
    skus = sorted(key.decode().strip('"') for _, key in contents.tables["stock"])
    return worker, contents, skus, await views_of(deployment, skus)


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
async def test_a_worker_whose_datadir_was_deleted_serves_the_same_state_after_restart(
    deployment: Deployment, guarantee: str
) -> None:
    deployment.processing_guarantee = guarantee
    worker, contents, skus, before = await one_worker_after_the_load(deployment)

    assert worker.terminate() == 0
    assert any(worker.datadir.rglob("*.sst")) or any(worker.datadir.rglob("LOG"))
    shutil.rmtree(worker.datadir)
    started = time.monotonic()
    worker.start()
    await worker.wait_ready()
    rate = restore_rate(contents, time.monotonic() - started)
    after = await views_of(deployment, skus)

    restore_phase = restore_seconds(worker.log_path.read_text(errors="replace"))
    print(f"{guarantee}: start to /ready: {rate}")
    if restore_phase:
        print(f"{guarantee}: the restore itself: {restore_rate(contents, restore_phase)}")
    assert all(status == 200 for status, _ in before.values())
    assert after == before
    assert rate.keys >= PROFILE.orders


def with_test_repairs(deployment: Deployment) -> None:
    """Run the deployment's workers with the repairs the test run asks for."""
    repairs = os.environ.get("ES_TEST_EXACTLY_ONCE_REPAIRS")
    deployment.extra_env = {"ES_EXACTLY_ONCE_REPAIRS": repairs} if repairs else {}


async def records_restored(worker: WorkerProcess) -> float:
    """Changelog records the worker applied to its tables while restoring, since it started."""
    return total(await scrape(worker.url), "es_changelog_records_restored_total")


async def test_a_worker_killed_with_sigkill_keeps_its_tables_and_restores_only_what_came_after(
    deployment: Deployment,
) -> None:
    # Table files hold committed changes only, with the changelog offset they reach
    # (kept-local-state): after kill -9 they are kept, and the restart reads only the
    # changelog written after them. Without it, every record is restored again.
    with_test_repairs(deployment)
    worker, contents, skus, before = await one_worker_after_the_load(deployment)

    assert worker.kill() == -signal.SIGKILL
    worker.start()
    await worker.wait_ready()
    after = await views_of(deployment, skus)
    restored = await records_restored(worker)

    assert all(status == 200 for status, _ in before.values())
    assert after == before
    assert restored < contents.records / 10, f"{restored} of {contents.records} restored again"


async def test_partitions_that_move_to_another_worker_and_back_restore_only_what_came_after(
    deployment: Deployment,
) -> None:
    # A revoked partition's files are closed, not deleted (kept-local-state): when a
    # second worker joins and leaves again, the first restores nothing it already had.
    with_test_repairs(deployment)
    first, contents, skus, before = await one_worker_after_the_load(deployment)

    [second] = await deployment.start_workers(1)
    assert second.terminate() == 0
    after = await eventually(lambda: views_of(deployment, skus), lambda views: views == before)
    await first.wait_ready()
    restored = await records_restored(first)

    assert all(status == 200 for status, _ in after.values())
    assert restored < contents.records / 10, f"{restored} of {contents.records} restored again"
