"""A worker that lost its local state rebuilds it from the changelogs and serves the same views."""

import shutil
import time

import pytest

from ecommerce_streams.exactly_once.table_recovery import restore_seconds
from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.load import LoadProfile, order_id_of, send_load
from ecommerce_streams.operations.changelogs import app_tables, read_tables, restore_rate
from tests.integration.operator import processed_everything, view

pytestmark = pytest.mark.integration

PROFILE = LoadProfile(orders=300, seed=5)
SAMPLED_ORDERS = [order_id_of(PROFILE, n) for n in range(0, PROFILE.orders, 6)]


async def views_of(deployment: Deployment, skus: list[str]) -> dict[str, object]:
    """What the worker answers for the sampled orders and every sku."""
    [worker] = deployment.workers
    paths = [f"/orders/{order_id}" for order_id in SAMPLED_ORDERS]
    paths += [f"/inventory/{sku}" for sku in skus]
    return {path: await view(f"{worker.url}{path}") for path in paths}


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
async def test_a_worker_whose_datadir_was_deleted_serves_the_same_state_after_restart(
    deployment: Deployment, guarantee: str
) -> None:
    deployment.processing_guarantee = guarantee
    [worker] = await deployment.start_workers(1)
    await send_load(deployment.bootstrap, deployment.topics, PROFILE)
    await processed_everything(deployment)
    contents = await read_tables(deployment.bootstrap, deployment.app_id, 1, app_tables())
    skus = sorted(key.decode().strip('"') for _, key in contents.tables["stock"])
    before = await views_of(deployment, skus)

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
