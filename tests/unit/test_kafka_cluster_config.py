"""The embedded cluster's configuration: one quorum, one cluster id, durability from one place."""

from pathlib import Path

from ecommerce_streams.harness.kafka.cluster import EmbeddedCluster, under_replicated
from ecommerce_streams.harness.kafka.server_config import replication_settings, server_settings


def test_three_nodes_form_one_quorum_on_their_own_ports_with_one_cluster_id(
    tmp_path: Path,
) -> None:
    cluster = EmbeddedCluster(tmp_path, size=3, port=30092, controller_port=30093)

    nodes = cluster.nodes
    assert [(n.node_id, n.port, n.controller_port) for n in nodes.values()] == [
        (1, 30092, 30093),
        (2, 30094, 30095),
        (3, 30096, 30097),
    ]
    assert {n.voters for n in nodes.values()} == {
        "1@127.0.0.1:30093,2@127.0.0.1:30095,3@127.0.0.1:30097"
    }
    assert len({n.cluster_id for n in nodes.values()}) == 1
    assert cluster.bootstrap == "127.0.0.1:30092,127.0.0.1:30094,127.0.0.1:30096"


def test_each_node_replicates_topics_offsets_and_transactions_three_ways(tmp_path: Path) -> None:
    node = EmbeddedCluster(tmp_path, size=3).nodes[2]

    settings = server_settings(
        "4.4.0",
        node.port,
        node.controller_port,
        tmp_path,
        node_id=2,
        voters=node.voters,
        replicas=3,
    )

    assert settings["node.id"] == "2"
    assert settings["default.replication.factor"] == "3"
    assert settings["min.insync.replicas"] == "2"
    assert settings["offsets.topic.replication.factor"] == "3"
    assert settings["transaction.state.log.replication.factor"] == "3"
    assert settings["transaction.state.log.min.isr"] == "2"


def test_a_single_node_keeps_one_replica_of_everything() -> None:
    assert set(replication_settings(1).values()) == {"1"}


def test_partitions_with_fewer_in_sync_replicas_than_replicas_are_under_replicated() -> None:
    described = [
        {
            "topic": "orders",
            "partitions": [
                {"partition": 0, "replicas": [1, 2, 3], "isr": [1, 2, 3]},
                {"partition": 1, "replicas": [1, 2, 3], "isr": [1, 3]},
            ],
        },
    ]

    assert under_replicated(described) == ["orders[1]"]


def test_a_restarted_cluster_keeps_its_cluster_id(tmp_path: Path) -> None:
    first = EmbeddedCluster(tmp_path, size=3)
    first.home.mkdir(parents=True, exist_ok=True)
    first._keep_layout()

    again = EmbeddedCluster(tmp_path, size=3)

    assert again.nodes[1].cluster_id == first.nodes[1].cluster_id
