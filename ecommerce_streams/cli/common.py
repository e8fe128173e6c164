"""What the command groups share: settings, the embedded broker, failing with a message."""

import sys
from datetime import datetime
from typing import TYPE_CHECKING, NoReturn

import click

from ecommerce_streams.settings import Settings, settings_from_environment

if TYPE_CHECKING:
    from ecommerce_streams.harness.kafka import EmbeddedKafka


def load_settings() -> Settings:
    """The settings from the environment (ES_*); exit with the variable at fault if invalid."""
    try:
        return settings_from_environment()
    except ValueError as invalid:
        fail(str(invalid))


def embedded_broker() -> "EmbeddedKafka":
    """The embedded broker as configured by ES_KAFKA_* and KAFKA_VERSION (exit if invalid)."""
    from ecommerce_streams.harness.kafka import BrokerError, EmbeddedKafka

    try:
        return EmbeddedKafka()
    except BrokerError as error:
        fail(str(error))


def fail(message: str) -> NoReturn:
    """Print the message in red on stderr and exit with status 1."""
    click.secho(message, fg="red", err=True)
    sys.exit(1)


def log_time(text: str | None) -> datetime | None:
    """An ISO-8601 log time for the --*-datetime options; a time without offset is UTC."""
    from ecommerce_streams.operations.consumer_group import parse_log_time

    try:
        return parse_log_time(text)
    except ValueError as invalid:
        raise click.BadParameter(str(invalid)) from None
