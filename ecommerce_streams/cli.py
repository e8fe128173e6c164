"""The ``ecommerce-streams`` command: broker, workers, load, verification and the demo."""

import asyncio
import sys

import click

from ecommerce_streams.settings import Settings


def _settings() -> Settings:
    return Settings()


def _embedded_broker():
    """The embedded broker as configured by ES_KAFKA_* and KAFKA_VERSION."""
    from ecommerce_streams.kafka import EmbeddedKafka

    return EmbeddedKafka()


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


@click.group()
def main() -> None:
    """ecommerce-streams: an event-driven order platform on Faust and Kafka."""


@main.group()
def kafka() -> None:
    """The embedded single-node Kafka broker (KRaft, 127.0.0.1)."""


@kafka.command("start")
def kafka_start() -> None:
    """Fetch Kafka from Maven Central if needed, start it, wait until it serves transactions."""
    from ecommerce_streams.kafka import BrokerError

    settings = _settings()
    if settings.broker:
        click.echo(f"ES_BROKER={settings.broker}: using that cluster, nothing local to start.")
        return
    try:
        bootstrap = _embedded_broker().start()
    except BrokerError as error:
        _fail(str(error))
    click.echo(f"Kafka is ready at {bootstrap}")


@kafka.command("stop")
def kafka_stop() -> None:
    """Stop the embedded broker (no JVM is left behind)."""
    stopped = _embedded_broker().stop()
    click.echo("Kafka stopped." if stopped else "Kafka was not running.")


@kafka.command("status")
def kafka_status() -> None:
    """Show whether the embedded broker runs, where, and which version."""
    for key, value in _embedded_broker().status().items():
        click.echo(f"{key}: {value}")


@kafka.command("logs")
@click.option("--lines", "-n", default=50, show_default=True)
def kafka_logs(lines: int) -> None:
    """Print the end of the embedded broker's log."""
    click.echo(_embedded_broker().log_tail(lines))


@kafka.command("reset")
def kafka_reset() -> None:
    """Stop the embedded broker and delete its data (topics, offsets, state)."""
    _embedded_broker().reset()
    click.echo("Kafka data deleted.")


@main.command()
def worker() -> None:
    """Run one worker (ES_DATADIR and ES_WEB_PORT must differ per worker on one host)."""
    from ecommerce_streams.worker import run_worker

    run_worker()


@main.command()
@click.option("--orders", default=1000, show_default=True, help="Orders to generate.")
@click.option("--rate", default=None, type=float, help="Messages per second (default: max).")
@click.option("--seed", default=1, show_default=True, help="Seed: same seed, same traffic.")
@click.option("--duplicate-ratio", default=0.05, show_default=True)
@click.option("--malformed-ratio", default=0.02, show_default=True)
@click.option("--decline-ratio", default=0.05, show_default=True)
def load(
    orders: int,
    rate: float | None,
    seed: int,
    duplicate_ratio: float,
    malformed_ratio: float,
    decline_ratio: float,
) -> None:
    """Send realistic, seeded shop traffic (orders, payments, stock) to the source topics."""
    from ecommerce_streams.load import LoadProfile, send_load
    from ecommerce_streams.topic_setup import ensure_topics_sync

    settings = _settings()
    ensure_topics_sync(settings.bootstrap, settings.topics, partitions=settings.partitions)
    profile = LoadProfile(
        orders=orders,
        seed=seed,
        duplicate_ratio=duplicate_ratio,
        malformed_ratio=malformed_ratio,
        decline_ratio=decline_ratio,
    )
    summary = asyncio.run(
        send_load(settings.bootstrap, settings.topics, profile, rate=rate, progress=True)
    )
    click.echo(summary)


@main.command()
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for outputs.")
def verify(timeout: float) -> None:
    """Check the four exactly-once invariants over every topic (read_committed)."""
    from ecommerce_streams.verify import verify as run_verify

    settings = _settings()
    report = asyncio.run(run_verify(settings.bootstrap, settings.topics, timeout=timeout))
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


@main.command()
@click.option("--orders", default=2000, show_default=True, help="Orders to send.")
@click.option("--workers", default=2, show_default=True, help="Worker processes.")
@click.option("--rate", default=None, type=float, help="Messages per second (default: max).")
def demo(orders: int, workers: int, rate: float | None) -> None:
    """Run the platform on the embedded broker with seeded traffic; Ctrl-C stops it all."""
    from ecommerce_streams.demo import demo_main
    from ecommerce_streams.kafka import BrokerError

    try:
        sys.exit(demo_main(orders=orders, workers=workers, rate=rate))
    except BrokerError as error:
        _fail(str(error))


if __name__ == "__main__":
    main()
