"""The whole saga on the real broker with two workers: verify's invariants must hold."""

import pytest

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.load import LoadProfile, send_load
from ecommerce_streams.harness.verify import verify

pytestmark = pytest.mark.integration


async def test_two_workers_decide_every_order_exactly_once(deployment: Deployment) -> None:
    await deployment.start_workers(2)
    profile = LoadProfile(
        orders=2000,
        seed=7,
        duplicate_ratio=0.05,
        malformed_ratio=0.02,
        payment_first_ratio=0.2,
    )

    sent = await send_load(deployment.bootstrap, deployment.topics, profile)
    report = await verify(deployment.bootstrap, deployment.topics, expected=sent, timeout=240)

    print(report.render())
    assert report.ok, report.render()
    assert report.orders == len(sent.order_ids) >= 1900
    assert report.without_terminal == 0
    assert report.input_duplicates >= 50
    assert report.malformed_inputs == sent.by_kind["malformed"] > 0
    assert sum(report.dead_letters.values()) >= report.malformed_inputs
    assert not deployment.crashed()
