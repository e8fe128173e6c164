"""Shared fixtures: one real embedded Kafka broker per test run, isolated deployments."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.kafka import EmbeddedKafka, free_port
from ecommerce_streams.harness.kafka.environment import default_home
from ecommerce_streams.operations.topic_setup import ensure_topics
from tests.failure_reports import pytest_runtest_makereport  # noqa: F401  (a hook)

if TYPE_CHECKING:
    from ecommerce_streams.harness.registry import EmbeddedRegistry


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedKafka]:
    """The run's one embedded broker, on free ports, with jars from the shared cache."""
    broker = EmbeddedKafka(
        port=free_port(),
        controller_port=free_port(),
        home=tmp_path_factory.mktemp("kafka"),
        dist_dir=default_home() / "dist",
    )
    broker.start(timeout=180)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def broker(kafka: EmbeddedKafka) -> str:
    """Bootstrap address of the run's broker."""
    return kafka.bootstrap


@pytest.fixture
async def deployment(broker: str, tmp_path: Path) -> AsyncIterator[Deployment]:
    """An isolated copy of the platform (own app id and topics), workers stopped after."""
    shop = Deployment(bootstrap=broker, workdir=tmp_path / "deployment")
    await ensure_topics(broker, shop.topics, partitions=shop.partitions)
    try:
        yield shop
    finally:
        shop.stop()


@pytest.fixture(scope="session")
def registry(
    kafka: EmbeddedKafka, tmp_path_factory: pytest.TempPathFactory
) -> Iterator["EmbeddedRegistry"]:
    """The run's one embedded schema registry, started by the first test that asks for it."""
    from ecommerce_streams.harness.registry import EmbeddedRegistry
    from ecommerce_streams.harness.registry.service import default_home

    service = EmbeddedRegistry(
        kafka.bootstrap,
        tmp_path_factory.mktemp("registry"),
        port=free_port(),
        management_port=free_port(),
        dist_dir=default_home() / "dist",
    )
    service.start(timeout=240)
    try:
        yield service
    finally:
        service.stop()
