"""``ecommerce-streams registry``: the embedded schema registry (Apicurio, kafkasql storage)."""

from typing import TYPE_CHECKING

import click

from ecommerce_streams.cli.common import embedded_broker, fail, load_settings

if TYPE_CHECKING:
    from ecommerce_streams.harness.registry import EmbeddedRegistry


def _registry() -> "EmbeddedRegistry":
    from ecommerce_streams.harness.registry import EmbeddedRegistry

    settings = load_settings()
    return EmbeddedRegistry.of(settings, settings.broker or embedded_broker().bootstrap)


@click.group()
def registry() -> None:
    """The embedded schema registry (Apicurio Registry on 127.0.0.1, its schemas in Kafka)."""


@registry.command("start")
def registry_start() -> None:
    """Fetch the registry from Maven Central if needed, start it (and the broker), wait for it."""
    from ecommerce_streams.harness.kafka import BrokerError
    from ecommerce_streams.harness.registry import RegistryError

    settings = load_settings()
    if settings.schema_registry_url:
        click.echo(f"ES_SCHEMA_REGISTRY_URL={settings.schema_registry_url}: nothing to start.")
        return
    try:
        if not settings.broker:
            embedded_broker().start()
        url = _registry().start()
    except (BrokerError, RegistryError) as error:
        fail(str(error))
    click.echo(f"The schema registry is ready at {url}")


@registry.command("stop")
def registry_stop() -> None:
    """Stop the embedded registry (its schemas stay in Kafka)."""
    stopped = _registry().stop()
    click.echo("Registry stopped." if stopped else "The registry was not running.")


@registry.command("status")
def registry_status() -> None:
    """Show whether the embedded registry runs, where, and on which journal topic."""
    for key, value in _registry().status().items():
        click.echo(f"{key}: {value}")


@registry.command("logs")
@click.option("--lines", "-n", default=50, show_default=True)
def registry_logs(lines: int) -> None:
    """Print the end of the embedded registry's log."""
    click.echo(_registry().log_tail(lines))
