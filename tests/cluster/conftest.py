"""One real three-broker KRaft cluster for the cluster tests (beside the run's single broker)."""

from collections.abc import Iterator

import pytest

from ecommerce_streams.harness.kafka.cluster import EmbeddedCluster
from ecommerce_streams.harness.kafka.environment import default_home
from ecommerce_streams.harness.kafka.ports import free_port_block


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    """Three combined broker+controller nodes on loopback, replicating everything three ways."""
    base = free_port_block(6)
    nodes = EmbeddedCluster(
        tmp_path_factory.mktemp("cluster"),
        size=3,
        port=base,
        controller_port=base + 1,
        dist_dir=default_home() / "dist",
        heap="384m",
    )
    nodes.start(timeout=240)
    try:
        yield nodes
    finally:
        nodes.stop()
