"""Framed values and the registry: garbage never waits for it, an outage is waited out once.

The registry is a real local HTTP server that counts the lookups it is asked and answers
503 (away) or the schema, as each test sets it.
"""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from ecommerce_streams.schemas.framed import FramedEvents, RegistryUnavailable
from models.schemas.framing import InvalidFraming, frame

SCHEMA = json.dumps({"type": "object", "required": ["event_type"]})


@dataclass
class Registry:
    """A registry that answers 503 while ``away``, else every id's schema."""

    url: str = ""
    away: bool = True
    lookups: int = 0

    async def schema(self, request: web.Request) -> web.Response:
        """``GET /schemas/ids/{id}``."""
        self.lookups += 1
        if self.away:
            return web.json_response({"error_code": 50003, "message": "away"}, status=503)
        return web.json_response({"schema": SCHEMA})


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    """The registry on a free local port."""
    served = Registry()
    app = web.Application()
    app.router.add_get("/schemas/ids/{id}", served.schema)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    served.url = f"http://127.0.0.1:{port}"
    try:
        yield served
    finally:
        await runner.cleanup()


ORDER = b'{"event_type": "OrderPlaced"}'


async def given_up(registry: Registry) -> FramedEvents:
    """A checker whose first lookup waited for the away registry, then gave up."""
    events = FramedEvents(registry.url, wait_seconds=0.3)
    with pytest.raises(RegistryUnavailable):
        await events.plain(frame(7, ORDER))
    return events


async def test_a_framed_value_that_is_not_json_is_refused_without_asking_the_registry(
    registry: Registry,
) -> None:
    events = FramedEvents(registry.url, wait_seconds=0.3)
    garbage = b"\x00\xff\xfey\x22\x9c\x01binary noise"

    with pytest.raises(InvalidFraming) as refused:
        await events.plain(garbage)

    assert not isinstance(refused.value, RegistryUnavailable)
    assert "not JSON" in refused.value.reason
    assert registry.lookups == 0


async def test_after_a_lookup_gave_up_on_the_registry_the_next_asks_once_and_is_refused(
    registry: Registry,
) -> None:
    events = await given_up(registry)
    asked_while_waiting = registry.lookups

    with pytest.raises(RegistryUnavailable):
        await events.plain(frame(8, ORDER))

    assert asked_while_waiting >= 2  # the first lookup waited, asking again
    assert registry.lookups == asked_while_waiting + 1
    assert events.registry_away


async def test_a_registry_answering_again_is_used_at_once(
    registry: Registry,
) -> None:
    events = await given_up(registry)

    registry.away = False
    plain = await events.plain(frame(8, ORDER))

    assert plain == ORDER
    assert not events.registry_away
