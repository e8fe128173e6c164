"""GET /metrics: Prometheus text whose counters and lag follow the load."""

from collections.abc import AsyncIterator, Iterable

import pytest

from ecommerce_streams.harness.deployment import Deployment, WorkerProcess
from ecommerce_streams.harness.load import LoadProfile, send_load
from tests.web_client import Samples, eventually, scrape, total
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


def applied_or_refused(samples: Samples, topics: Iterable[str]) -> float:
    """Events read from ``topics`` that an agent applied or refused (as a dead letter)."""
    return sum(
        total(samples, "es_events_processed_total", topic=topic)
        + total(samples, "es_dead_letters_total", topic=topic, category="refused")
        for topic in topics
    )


async def test_metrics_parse_and_their_counters_move_as_load_flows(
    shop: tuple[Deployment, WorkerProcess],
) -> None:
    deployment, worker = shop
    sources = deployment.topics.sources()
    before = await scrape(worker.url)
    profile = LoadProfile(orders=200, seed=3)

    sent = await send_load(deployment.bootstrap, deployment.topics, profile)

    def caught_up(samples: Samples) -> bool:
        decided = applied_or_refused(samples, sources) - applied_or_refused(before, sources)
        lags = [total(samples, "es_consumer_lag", topic=topic) for topic in sources]
        return decided >= sent.by_kind["event"] and not any(lags)

    after = await eventually(lambda: scrape(worker.url), caught_up, timeout=120)

    def moved(name: str) -> float:
        return total(after, name) - total(before, name)

    decided = applied_or_refused(after, sources) - applied_or_refused(before, sources)
    assert decided == sent.by_kind["event"]  # each valid event exactly once
    assert moved("es_duplicates_dropped_total") > 0
    assert moved("es_dead_letters_total") >= sent.by_kind["malformed"] > 0
    assert moved("es_end_to_end_latency_seconds_count") > 0
    assert moved("es_transactions_committed_total") > 0
    assert total(after, "es_transactions_aborted_total") == 0
    lag_samples = {dict(labels).get("topic") for name, labels in after if name == "es_consumer_lag"}
    assert set(sources) <= lag_samples
    assert not any(name == "es_table_keys" for name, _ in after)  # it counted writes, not keys
