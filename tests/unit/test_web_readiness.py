"""``/ready`` at start-up: not ready is a 503, never a server error."""

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer

from ecommerce_streams.harness.kafka import free_port
from ecommerce_streams.web import health
from ecommerce_streams.web.health import changelogs_in_metadata
from ecommerce_streams.worker.app import app
from tests.web_client import exchange, problem_of, raw_request


async def test_changelogs_are_not_in_metadata_before_the_consumer_joins_its_group(
    local_web: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unjoined = AIOKafkaConsumer(bootstrap_servers=f"127.0.0.1:{free_port()}")  # no coordinator
    monkeypatch.setattr(app.consumer._thread, "_consumer", unjoined)
    try:
        assert app.tables  # the worker's tables are registered, so each one is asked about
        assert changelogs_in_metadata() is False
    finally:
        await unjoined.stop()


async def test_ready_is_a_503_problem_when_the_workers_state_cannot_be_read(
    local_web: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def starting() -> dict[str, object]:
        raise AttributeError("'NoneType' object has no attribute '_metadata_snapshot'")

    monkeypatch.setattr(health, "readiness", starting)

    status, headers, body = await asyncio.to_thread(
        exchange, local_web, raw_request("GET", "/ready")
    )

    assert status == 503
    assert headers["Retry-After"] == "1"
    assert problem_of(503, headers, body)["type"].endswith(":not-ready")
