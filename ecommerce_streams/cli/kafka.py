"""``ecommerce-streams kafka``: the embedded single-node broker."""

import click

from ecommerce_streams.cli.common import embedded_broker, fail, load_settings


@click.group()
def kafka() -> None:
    """The embedded single-node Kafka broker (KRaft, 127.0.0.1)."""


@kafka.command("start")
def kafka_start() -> None:
    """Fetch Kafka from Maven Central if needed, start it, wait until it serves transactions."""
    from ecommerce_streams.harness.kafka import BrokerError

    settings = load_settings()
    if settings.broker:
        click.echo(f"ES_BROKER={settings.broker}: using that cluster, nothing local to start.")
        return
    try:
        bootstrap = embedded_broker().start()
    except BrokerError as error:
        fail(str(error))
    click.echo(f"Kafka is ready at {bootstrap}")


@kafka.command("stop")
def kafka_stop() -> None:
    """Stop the embedded broker (no JVM is left behind)."""
    stopped = embedded_broker().stop()
    click.echo("Kafka stopped." if stopped else "Kafka was not running.")


@kafka.command("status")
def kafka_status() -> None:
    """Show whether the embedded broker runs, where, and which version."""
    for key, value in embedded_broker().status().items():
        click.echo(f"{key}: {value}")


@kafka.command("logs")
@click.option("--lines", "-n", default=50, show_default=True)
def kafka_logs(lines: int) -> None:
    """Print the end of the embedded broker's log."""
    click.echo(embedded_broker().log_tail(lines))


@kafka.command("reset")
def kafka_reset() -> None:
    """Stop the embedded broker and delete its data (topics, offsets, state)."""
    embedded_broker().reset()
    click.echo("Kafka data deleted.")
