"""A replay of traffic that fights over scarce stock may decide differently, never wrongly."""

from pathlib import Path

import pytest

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.load import LoadProfile, send_load
from ecommerce_streams.harness.verify import verify
from tests.integration.operator import processed_everything, run_cli

pytestmark = pytest.mark.integration


async def test_replay_of_contended_stock_keeps_every_invariant_and_reports_each_difference(
    deployment: Deployment, tmp_path: Path
) -> None:
    await deployment.start_workers(2)
    sent = await send_load(deployment.bootstrap, deployment.topics, LoadProfile(orders=300))
    await processed_everything(deployment)

    code, output = await run_cli(
        deployment.env(), "replay", "--version", "2", "--workdir", str(tmp_path), "--compare"
    )
    report = await verify(deployment.bootstrap, deployment.topics.replay(2), expected=sent)

    print(output)
    print(report.render())
    identical = output.rstrip().endswith("identical")
    assert code == (0 if identical else 1), output
    assert "caught up after" in output
    assert report.ok, report.render()
    assert report.without_terminal == 0
