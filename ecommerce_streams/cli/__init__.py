"""The ``ecommerce-streams`` command: broker, workers, load, verification and the demo."""

import click

from ecommerce_streams.cli.delivery import deliver
from ecommerce_streams.cli.harness import bench, chaos, demo, load, verify
from ecommerce_streams.cli.kafka import kafka
from ecommerce_streams.cli.operations import compare, dlq, replay, reset
from ecommerce_streams.cli.queues import queues
from ecommerce_streams.cli.registry import registry
from ecommerce_streams.cli.routing import rules, subscriptions
from ecommerce_streams.cli.schemas import schemas
from ecommerce_streams.cli.worker import worker


@click.group()
def main() -> None:
    """ecommerce-streams: an event-driven order platform on Faust and Kafka."""


for command in (
    kafka,
    worker,
    load,
    verify,
    demo,
    replay,
    compare,
    reset,
    dlq,
    chaos,
    bench,
    rules,
    subscriptions,
    deliver,
    queues,
    registry,
    schemas,
):
    main.add_command(command)
