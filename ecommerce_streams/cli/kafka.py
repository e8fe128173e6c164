"""``ecommerce-streams kafka``: the embedded broker, alone or as a cluster of KRaft nodes."""

from typing import TYPE_CHECKING

import click

from ecommerce_streams.cli.common import embedded_broker, fail, load_settings

if TYPE_CHECKING:
    from ecommerce_streams.harness.kafka.cluster import EmbeddedCluster


def embedded_cluster(size: int | None = None) -> "EmbeddedCluster | None":
    """The cluster under ES_KAFKA_HOME/cluster: of ``size`` nodes, or as last started (None
    when there is none)."""
    from ecommerce_streams.harness.kafka.cluster import EmbeddedCluster, cluster_layout
    from ecommerce_streams.harness.kafka.environment import default_home

    home = default_home() / "cluster"
    if size is None:
        layout = cluster_layout(home)
        if layout is None:
            return None
        size = int(layout["size"])
    settings = load_settings()
    return EmbeddedCluster(
        home,
        size=size,
        port=settings.kafka_port,
        controller_port=settings.kafka_controller_port,
        dist_dir=default_home() / "dist",
    )


def _cluster_or_fail() -> "EmbeddedCluster":
    cluster = embedded_cluster()
    if cluster is None:
        fail("no embedded cluster: start one with `ecommerce-streams kafka start --brokers 3`")
    return cluster


@click.group()
def kafka() -> None:
    """The embedded Kafka: one KRaft broker, or a cluster of them (127.0.0.1)."""


@kafka.command("start")
@click.option("--brokers", default=1, show_default=True, help="KRaft nodes (3: a real quorum).")
def kafka_start(brokers: int) -> None:
    """Fetch Kafka from Maven Central if needed, start it, wait until it serves transactions."""
    from ecommerce_streams.harness.kafka import BrokerError

    settings = load_settings()
    if settings.broker:
        click.echo(f"ES_BROKER={settings.broker}: using that cluster, nothing local to start.")
        return
    try:
        if brokers == 1:
            bootstrap = embedded_broker().start()
            click.echo(f"Kafka is ready at {bootstrap}")
            return
        cluster = embedded_cluster(brokers)
        assert cluster is not None
        bootstrap = cluster.start()
    except BrokerError as error:
        fail(str(error))
    click.echo(f"A Kafka cluster of {brokers} nodes is ready. Point the platform at it with:")
    click.echo(f"  export ES_BROKER={bootstrap} ES_REPLICATION={brokers}")


@kafka.command("stop")
def kafka_stop() -> None:
    """Stop the embedded broker or cluster (no JVM is left behind)."""
    cluster = embedded_cluster()
    if cluster is not None:
        stopped = cluster.stop()
        click.echo("Kafka cluster stopped." if stopped else "The Kafka cluster was not running.")
        return
    stopped = embedded_broker().stop()
    click.echo("Kafka stopped." if stopped else "Kafka was not running.")


@kafka.command("status")
def kafka_status() -> None:
    """Show where Kafka runs; for a cluster each node, the controller leader, and partitions
    short of in-sync replicas."""
    cluster = embedded_cluster()
    if cluster is None:
        for key, value in embedded_broker().status().items():
            click.echo(f"{key}: {value}")
        return
    status = cluster.status()
    for node_id, node in status.pop("nodes").items():
        state = f"running (pid {node['pid']})" if node["running"] else "stopped"
        click.echo(f"node {node_id}: {node['bootstrap']}  {state}")
    for key, value in status.items():
        click.echo(f"{key}: {value}")


@kafka.command("logs")
@click.option("--lines", "-n", default=50, show_default=True)
def kafka_logs(lines: int) -> None:
    """Print the end of the embedded broker's log (every node's, for a cluster)."""
    cluster = embedded_cluster()
    if cluster is not None:
        click.echo(cluster.log_tail(lines))
        return
    click.echo(embedded_broker().log_tail(lines))


@kafka.command("reset")
def kafka_reset() -> None:
    """Stop the embedded broker or cluster and delete its data (topics, offsets, state)."""
    cluster = embedded_cluster()
    if cluster is not None:
        cluster.reset()
        click.echo("Kafka cluster data deleted.")
        return
    embedded_broker().reset()
    click.echo("Kafka data deleted.")


@kafka.command("kill")
@click.argument("node", type=int)
def kafka_kill(node: int) -> None:
    """Kill -9 one node of the embedded cluster, as a crash would."""
    _cluster_or_fail().kill(node)
    click.echo(f"node {node} killed")


@kafka.command("restart")
@click.argument("node", type=int)
def kafka_restart(node: int) -> None:
    """Start one stopped or killed node of the embedded cluster again; wait until it rejoins."""
    from ecommerce_streams.harness.kafka import BrokerError

    cluster = _cluster_or_fail()
    try:
        cluster.restart(node)
        cluster.await_brokers([node], 120)
    except BrokerError as error:
        fail(str(error))
    click.echo(f"node {node} is back in the cluster")
