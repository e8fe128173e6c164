"""Run the delivery service from the settings until SIGTERM or SIGINT."""

import asyncio
import signal

from prometheus_client import start_http_server

from ecommerce_streams.delivery.service import DeliveryConfig, DeliveryService
from ecommerce_streams.settings import Settings
from models.delivery.retry_policy import RetryPolicy


def delivery_config(settings: Settings) -> DeliveryConfig:
    """The service's configuration from the ES_DELIVERY_* settings."""
    return DeliveryConfig(
        bootstrap=settings.bootstrap,
        topic=settings.topics.http_deliveries,
        dead_letters=settings.topics.dead_letters,
        group=f"{settings.app_id}-deliveries",
        policy=RetryPolicy(
            maximum_retry_attempts=settings.delivery_max_retries,
            maximum_event_age_seconds=settings.delivery_max_event_age_seconds,
            base_delay_seconds=settings.delivery_base_delay_seconds,
            max_delay_seconds=settings.delivery_max_delay_seconds,
        ),
        timeout_seconds=settings.delivery_timeout_seconds,
        concurrency_per_endpoint=settings.delivery_concurrency_per_endpoint,
        breaker_failures=settings.delivery_breaker_failures,
        breaker_cooldown_seconds=settings.delivery_breaker_cooldown_seconds,
    )


async def run_delivery(settings: Settings) -> None:
    """Deliver until the process is asked to stop."""
    if settings.delivery_metrics_port is not None:
        start_http_server(settings.delivery_metrics_port, addr=settings.web_host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await DeliveryService(delivery_config(settings)).run(stop)
