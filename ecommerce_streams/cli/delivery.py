"""``ecommerce-streams deliver``: run the delivery service."""

import asyncio
import logging

import click

from ecommerce_streams.cli.common import load_settings


@click.command()
def deliver() -> None:
    """POST every record of http-deliveries to its endpoint, retrying, until stopped."""
    from ecommerce_streams.delivery.run import run_delivery

    settings = load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(message)s")
    asyncio.run(run_delivery(settings))
