"""Forwarding a view request to the key's owner, between real in-process HTTP servers."""

import asyncio

import pytest
from faust.types import TP

from ecommerce_streams.web.views import partition_of
from ecommerce_streams.worker.app import app
from tables.orders import orders
from tests.web_client import exchange, problem_of, raw_request


async def test_a_forwarded_request_that_misses_the_owner_is_a_503_to_retry_with_its_request_id(
    local_web: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This worker is told another URL (its own, under another name) owns '..': one hop only."""
    partition = TP(orders.changelog_topic.get_topic_name(), partition_of(".."))
    monkeypatch.setitem(app.assignor._tps_url, partition, local_web)
    request = raw_request("GET", "/orders/%2E%2E", {"X-Request-Id": "trace-hop"})

    status, headers, body = await asyncio.to_thread(exchange, local_web, request)

    assert status == 503
    problem = problem_of(503, headers, body)
    assert problem["type"].endswith(":owner-moving")  # reached /orders/.. again, not elsewhere
    assert problem["request_id"] == "trace-hop"  # the hop carried the client's request id
    assert headers["Retry-After"] == "1"
