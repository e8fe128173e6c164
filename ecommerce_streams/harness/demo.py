"""The demo: broker, two workers, seeded shop traffic, a flaky notification provider, the
verifier's report and what the provider received, until Ctrl-C."""

import asyncio
import contextlib
import signal
from pathlib import Path

import click

from ecommerce_streams.delivery.service import DeliveryConfig, DeliveryService
from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.load import LoadProfile, send_load
from ecommerce_streams.harness.partner import Partner
from ecommerce_streams.harness.registry import EmbeddedRegistry, RegistryError
from ecommerce_streams.harness.routing_examples import (
    FRENCH_WAREHOUSE_SUBSCRIPTION,
    HIGH_VALUE_RULE,
    RoutingExamples,
)
from ecommerce_streams.harness.verify import verify
from ecommerce_streams.operations.topic_setup import ensure_topics
from ecommerce_streams.routing.actions import open_catalogues
from ecommerce_streams.settings import Settings
from models.delivery.retry_policy import RetryPolicy
from models.routing.subscriptions import NOTIFICATION_PROVIDER

PROVIDER_FAILURE_SHARE = 0.2
"""The demo's notification provider fails this share of requests, and is slow now and then."""
DEMO_RETRIES = RetryPolicy(base_delay_seconds=0.2, max_delay_seconds=2.0)


async def register_schemas(url: str, deployment: Deployment, level: str) -> int:
    """Register every event type's schema under the deployment's subjects: how many."""
    from ecommerce_streams.schemas.evolution import by_subject, current_schemas, register
    from ecommerce_streams.schemas.registry_client import RegistryClient

    async with RegistryClient(url) as client:
        ids = await register(
            client, by_subject(current_schemas(), deployment.topics.name), level, {}
        )
    return len(ids)


async def run_demo(settings: Settings, *, orders: int, workers: int, rate: float | None) -> int:
    """Run the whole pipeline once and keep the workers up until interrupted."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    provider = Partner(failure_share=PROVIDER_FAILURE_SHARE, slow_share=0.05, seed=11)
    async with provider:
        endpoint = f"{provider.url}/notifications"
        deployment = Deployment(
            bootstrap=settings.bootstrap,
            workdir=Path(settings.datadir).parent / "demo",
            partitions=settings.partitions,
            extra_env={
                "ES_NOTIFICATION_ENDPOINT": endpoint,
                **(
                    {"ES_SCHEMA_REGISTRY_URL": settings.schema_registry_url}
                    if settings.schema_registry_url
                    else {}
                ),
            },
        )
        delivery = DeliveryService(
            DeliveryConfig(
                bootstrap=settings.bootstrap,
                topic=deployment.topics.http_deliveries,
                dead_letters=deployment.topics.dead_letters,
                group=f"{deployment.app_id}-deliveries",
                policy=DEMO_RETRIES,
            )
        )
        delivering = asyncio.create_task(delivery.run(stop))
        try:
            return await _demo(
                settings, deployment, provider, endpoint, orders, workers, rate, stop
            )
        finally:
            click.echo("Stopping workers ...")
            deployment.stop()
            stop.set()
            await delivering


async def _demo(
    settings: Settings,
    deployment: Deployment,
    provider: Partner,
    endpoint: str,
    orders: int,
    workers: int,
    rate: float | None,
    stop: asyncio.Event,
) -> int:
    await ensure_topics(settings.bootstrap, deployment.topics, partitions=settings.partitions)
    examples = RoutingExamples.of(deployment.topics)
    click.echo(
        f"Routing: rule {HIGH_VALUE_RULE} -> {examples.fraud_review}, "
        f"subscription {FRENCH_WAREHOUSE_SUBSCRIPTION} (shipments, sku FR-*) "
        f"-> {examples.french_warehouse}, notifications -> the provider at {endpoint} "
        f"(fails {PROVIDER_FAILURE_SHARE:.0%} of requests)"
    )
    async with open_catalogues(
        settings.bootstrap, deployment.topics, partitions=settings.partitions
    ) as catalogues:
        routing = await examples.install(catalogues, notification_endpoint=endpoint)
    if settings.schema_registry_url:
        count = await register_schemas(
            settings.schema_registry_url, deployment, settings.schema_compatibility
        )
        click.echo(
            f"Schemas: {count} subjects registered at {settings.schema_registry_url} "
            f"({settings.schema_compatibility})"
        )
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
    report = await verify(settings.bootstrap, deployment.topics, expected=summary, routing=routing)
    click.echo(report.render())
    notifications = report.routed[f"subscription/{NOTIFICATION_PROVIDER}"]
    click.echo(f"Waiting until the provider has all {notifications:,} notifications ...")
    delivered = await _provider_has(provider, notifications)
    attempts = len(provider.received)
    failed = sum(request.status >= 300 for request in provider.received)
    click.echo(
        f"  provider: {delivered:,} of {notifications:,} notifications delivered in "
        f"{attempts:,} requests ({failed:,} answered 503 and retried; each repeat carried "
        "the same Idempotency-Key)"
    )
    click.echo("\nWorkers keep running. Try:")
    click.echo(f"  curl {deployment.workers[0].url}/ready")
    click.echo(f"  curl {deployment.workers[0].url}/rules/{HIGH_VALUE_RULE}")
    click.echo(f"  curl {deployment.workers[0].url}/subscriptions")
    if settings.schema_registry_url:
        click.echo(f"  curl {deployment.workers[0].url}/schemas")
    click.echo("Press Ctrl-C to stop.")
    await stop.wait()
    return 0 if report.ok and delivered == notifications else 1


async def _provider_has(provider: Partner, count: int, timeout: float = 120.0) -> int:
    """Wait until the provider has ``count`` distinct notifications; how many it has."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        have = len(provider.delivered())
        if have >= count or loop.time() > deadline:
            return have
        await asyncio.sleep(0.2)


def demo_main(orders: int, workers: int, rate: float | None) -> int:
    """Start the embedded broker unless ES_BROKER is set, run the demo, stop what started."""
    from ecommerce_streams.harness.kafka import EmbeddedKafka

    settings = Settings()
    broker = None if settings.broker else EmbeddedKafka()
    if broker is not None:
        click.echo("Starting the embedded Kafka broker (first run fetches it from Maven) ...")
        settings = settings.model_copy(update={"broker": broker.start()})
    registry = None
    if not settings.schema_registry_url and settings.broker is not None:
        registry = EmbeddedRegistry.of(settings, settings.broker)
    if registry is not None:
        click.echo("Starting the schema registry (first run fetches it from Maven, ~150 MB) ...")
        try:
            url = registry.start()
            settings = settings.model_copy(update={"schema_registry_url": url})
        except RegistryError as away:
            click.secho(f"No schema registry, the demo goes on without it: {away}", fg="yellow")
            registry = None
    try:
        return asyncio.run(run_demo(settings, orders=orders, workers=workers, rate=rate))
    except KeyboardInterrupt:
        return 130
    finally:
        if registry is not None:
            with contextlib.suppress(Exception):
                registry.stop()
                click.echo("Schema registry stopped.")
        if broker is not None:
            with contextlib.suppress(Exception):
                broker.stop()
                click.echo("Kafka stopped.")
