"""GET /metrics: Prometheus text whose counters, lag and table sizes follow the load."""

from collections.abc import AsyncIterator

import pytest

from ecommerce_streams.harness import Deployment, WorkerProcess
from ecommerce_streams.load import LoadProfile, send_load
from tests.web_client import eventually, scrape, total
from tests.web_deployment import running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def shop(
    broker: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Deployment, WorkerProcess]]:
    """One ready worker for the whole module."""
    async with running(broker, tmp_path_factory.mktemp("metrics"), workers=1) as (
        deployment,
        [worker],
    ):
        yield deployment, worker


async def test_metrics_parse_and_their_counters_move_as_load_flows(
    shop: tuple[Deployment, WorkerProcess],
) -> None:
    deployment, worker = shop
    before = await scrape(worker.url)
    sources = deployment.topics.sources()

    sent = await send_load(deployment.bootstrap, deployment.topics, LoadProfile(orders=200, seed=3))

    def placed(samples: dict) -> float:
        return total(samples, "es_events_processed_total", event_type="OrderPlaced")

    def caught_up(samples: dict) -> bool:
        lags = [total(samples, "es_consumer_lag", topic=topic) for topic in sources]
        return placed(samples) - placed(before) >= len(sent.order_ids) and not any(lags)

    after = await eventually(lambda: scrape(worker.url), caught_up, timeout=120)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    applied_or_refused = sum(
        moved("es_events_processed_total", topic=topic)
        + moved("es_dead_letters_total", topic=topic, category="refused")
        for topic in sources
    )
    assert applied_or_refused == sent.by_kind["event"]
    assert sent.by_kind["duplicate"] > 0
    assert moved("es_duplicates_dropped_total") > 0
    assert moved("es_dead_letters_total") >= sent.by_kind["malformed"] > 0
    assert moved("es_end_to_end_latency_seconds_count") > 0
    assert moved("es_transactions_committed_total") > 0
    assert total(after, "es_transactions_aborted_total") == 0
    lagging = {
        (dict(labels)["topic"], dict(labels)["partition"])
        for name, labels in after
        if name == "es_consumer_lag"
    }
    assert {(t, str(p)) for t in sources for p in range(deployment.partitions)} <= lagging
    assert total(after, "es_table_keys", table="orders") >= len(sent.order_ids)
    assert total(after, "es_table_keys", table="stock") >= LoadProfile(orders=200).skus
