"""The demo: broker, two workers, seeded shop traffic, the verifier's report, until Ctrl-C."""

import asyncio
import contextlib
import signal
from pathlib import Path

import click

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.load import LoadProfile, send_load
from ecommerce_streams.harness.routing_examples import (
    FRENCH_WAREHOUSE_SUBSCRIPTION,
    HIGH_VALUE_RULE,
    RoutingExamples,
)
from ecommerce_streams.harness.verify import verify
from ecommerce_streams.operations.topic_setup import ensure_topics
from ecommerce_streams.routing.actions import open_catalogues
from ecommerce_streams.settings import Settings


async def run_demo(settings: Settings, *, orders: int, workers: int, rate: float | None) -> int:
    """Run the whole pipeline once and keep the workers up until interrupted."""
    deployment = Deployment(
        bootstrap=settings.bootstrap,
        workdir=Path(settings.datadir).parent / "demo",
        partitions=settings.partitions,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await ensure_topics(settings.bootstrap, deployment.topics, partitions=settings.partitions)
        examples = RoutingExamples.of(deployment.topics)
        click.echo(
            f"Routing: rule {HIGH_VALUE_RULE} -> {examples.fraud_review}, "
            f"subscription {FRENCH_WAREHOUSE_SUBSCRIPTION} (shipments, sku FR-*) "
            f"-> {examples.french_warehouse}"
        )
        async with open_catalogues(
            settings.bootstrap, deployment.topics, partitions=settings.partitions
        ) as catalogues:
            routing = await examples.install(catalogues)
        click.echo(f"Starting {workers} workers (app id {deployment.app_id}) ...")
        await deployment.start_workers(workers)
        for worker in deployment.workers:
            click.echo(f"  {worker.name}: {worker.url}  log {worker.log_path}")
        profile = LoadProfile(orders=orders)
        click.echo(f"Sending {orders} orders with payments, stock, duplicates and bad input ...")
        summary = await send_load(
            settings.bootstrap, deployment.topics, profile, rate=rate, progress=True
        )
        click.echo("Waiting for every order to reach a decision ...")
        report = await verify(
            settings.bootstrap, deployment.topics, expected=summary, routing=routing
        )
        click.echo(report.render())
        click.echo("\nWorkers keep running. Try:")
        click.echo(f"  curl {deployment.workers[0].url}/ready")
        click.echo(f"  curl {deployment.workers[0].url}/rules/{HIGH_VALUE_RULE}")
        click.echo(f"  curl {deployment.workers[0].url}/subscriptions")
        click.echo("Press Ctrl-C to stop.")
        await stop.wait()
        return 0 if report.ok else 1
    finally:
        click.echo("Stopping workers ...")
        deployment.stop()


def demo_main(orders: int, workers: int, rate: float | None) -> int:
    """Start the embedded broker unless ES_BROKER is set, run the demo, stop what started."""
    from ecommerce_streams.harness.kafka import EmbeddedKafka

    settings = Settings()
    broker = None if settings.broker else EmbeddedKafka()
    if broker is not None:
        click.echo("Starting the embedded Kafka broker (first run fetches it from Maven) ...")
        settings = Settings(broker=broker.start())
    try:
        return asyncio.run(run_demo(settings, orders=orders, workers=workers, rate=rate))
    except KeyboardInterrupt:
        return 130
    finally:
        if broker is not None:
            with contextlib.suppress(Exception):
                broker.stop()
                click.echo("Kafka stopped.")
