"""``ecommerce-streams queues``: the SQS-style queue server."""

import asyncio

import click

from ecommerce_streams.cli.common import load_settings


@click.group()
def queues() -> None:
    """SQS-style queues on Kafka."""


@queues.command()
def serve() -> None:
    """Serve the queues (SQS's JSON protocol) on ES_WEB_HOST:ES_QUEUE_PORT until stopped."""
    from ecommerce_streams.queues.server import serve_queues

    asyncio.run(serve_queues(load_settings()))
