"""A replay rebuilds every table into a new app version from the sources, beside the live one."""

from pathlib import Path

import pytest

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.load import LoadProfile, send_load
from ecommerce_streams.operations.consumer_group import group_id, rewind
from tests.integration.operator import end_offsets, processed_everything, run_cli

pytestmark = pytest.mark.integration

UNCONTENDED = LoadProfile(orders=300, seed=11, initial_stock_per_sku=10_000, decline_ratio=0.0)
"""Traffic whose outcome does not depend on the order topics are read in: stock never runs
out, and no payment is declined (a decline read before or after its order leaves the order
rejected either way, but with or without released lines)."""


async def test_replay_into_a_new_version_rebuilds_tables_identical_to_the_live_ones(
    deployment: Deployment, tmp_path: Path
) -> None:
    await deployment.start_workers(2)
    await send_load(deployment.bootstrap, deployment.topics, UNCONTENDED)
    await processed_everything(deployment)
    live_outputs = deployment.topics.outputs()
    written_live = await end_offsets(deployment.bootstrap, live_outputs)

    code, output = await run_cli(
        deployment.env(), "replay", "--version", "2", "--workdir", str(tmp_path), "--compare"
    )

    print(output)
    assert code == 0, output
    assert "orders: 300 vs 300 keys, 0 difference(s)" in output
    assert output.rstrip().endswith("identical")
    assert await end_offsets(deployment.bootstrap, live_outputs) == written_live
    replay_outputs = deployment.topics.replay(2)
    replayed = await end_offsets(deployment.bootstrap, replay_outputs.outputs())
    assert replayed[replay_outputs.order_events] >= 300


async def test_replay_refuses_the_live_version_and_a_version_that_already_holds_state(
    deployment: Deployment, tmp_path: Path
) -> None:
    group = group_id(deployment.app_id, 3)
    await rewind(deployment.bootstrap, group, deployment.topics.sources(), None)

    into_live = await run_cli(deployment.env(), "replay", "--version", "1")
    into_used = await run_cli(
        deployment.env(), "replay", "--version", "3", "--workdir", str(tmp_path)
    )

    assert into_live[0] != 0
    assert "must be above the live version 1" in into_live[1]
    assert into_used[0] != 0
    assert "version 3 already holds state" in into_used[1]
    assert f"group {group!r}" in into_used[1]
