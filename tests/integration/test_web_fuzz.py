"""Hostile requests against every route of a real worker: a problem or a valid answer, never 5xx.

Each case is one raw HTTP/1.1 request (any method, a path built from the routes with
hostile segments, hostile headers, any body), sent byte for byte so that nothing
normalises it on the way. Every answer must be a 4xx problem document naming its
request id, or the 2xx answer of the endpoint the path names (never another
endpoint's body); afterwards the worker still serves and is ready, and the source
topics hold exactly the events the worker answered 202 for.
"""

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecommerce_streams.harness.deployment import WorkerProcess
from tests.integration.operator import end_offsets
from tests.web_client import exchange, poll, post_events, problem_of, raw_request
from tests.web_deployment import running
from tests.web_events import order_placed, payment_authorized, stock_received, unique

pytestmark = pytest.mark.integration

TOKEN = "fuzz-t0ken"
CASES = 150


@dataclass
class Target:
    """The worker under fire and the keys it is known to hold."""

    worker: WorkerProcess
    bootstrap: str
    sources: tuple[str, ...]
    order_id: str
    sku: str


@pytest.fixture(scope="module")
async def target(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Target]:
    """One ready worker requiring a token for writes, holding one order and one sku."""
    async with running(
        broker, tmp_path_factory.mktemp("fuzz"), workers=1, env={"ES_API_TOKEN": TOKEN}
    ) as (deployment, [worker]):
        sku, order_id = unique("SKU"), unique("ord")
        status, _, _ = await post_events(
            worker.url, [stock_received(sku), order_placed(order_id, sku)], token=TOKEN
        )
        assert status == 202
        await poll(f"{worker.url}/orders/{order_id}", lambda status, _: status == 200)
        yield Target(worker, broker, deployment.topics.sources(), order_id, sku)


HOSTILE_SEGMENTS = [
    "..",
    ".",
    "%2E%2E",
    "..%2Fmetrics",
    "..%2F..%2Frouter%2F",
    "%2F",
    "%5C",
    "%00",
    "%3Fx%3D1",
    "%23x",
    "%E2%80%AE",
    "%E2%80%8B",
    "%C0%AE",
    "%FF",
    "%25",
    "%",
    ";x=1",
    "?x=1",
    "#f",
    "//",
    "~",
    "a" * 65,
    "\u00e9",
    "\u202e",
]
PAGES = ["health", "ready", "metrics", "events", "orders", "inventory", "router", "table", ""]


def encoded(text: str) -> str:
    """``text`` as a path segment, percent-encoded the way a client would."""
    return quote(text, safe="")


@st.composite
def targets(draw: st.DrawFn, order_id: str, sku: str) -> str:
    """A request target: mostly a route's own shape with a hostile key, else any segments."""
    segment = st.one_of(
        st.sampled_from(HOSTILE_SEGMENTS),
        st.sampled_from([order_id, sku, "ord-1", "SKU-1"]),
        st.text(max_size=12).map(encoded),
        st.from_regex(r"\A[A-Za-z0-9._:-]{1,70}\Z"),
    )
    if draw(st.booleans()):
        if draw(st.booleans()):
            return draw(st.sampled_from(["/health", "/ready", "/metrics", "/events"]))
        return f"/{draw(st.sampled_from(['orders', 'inventory']))}/{draw(segment)}"
    page = draw(st.sampled_from(PAGES))
    rest = draw(st.lists(segment, max_size=3))
    return "/" + "/".join([page, *rest]) if rest else f"/{page}"


def bodies(order_id: str, sku: str) -> st.SearchStrategy[bytes]:
    """Bodies: valid batches, batches with one field broken, JSON of any shape, any bytes."""
    valid = st.builds(
        lambda key: [stock_received(key), order_placed(unique("ord"), key)],
        st.sampled_from([sku, "SKU-FUZZ"]),
    )
    broken = valid.flatmap(
        lambda events: st.sampled_from(["event_id", "event_type", "data", "source"]).map(
            lambda field: [events[0], {k: v for k, v in events[1].items() if k != field}]
        )
    )
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=8,
    )
    return st.one_of(
        st.just(b""),
        valid.map(orjson.dumps),
        broken.map(orjson.dumps),
        st.just(orjson.dumps(payment_authorized(order_id))),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=200),
    )


HEADER_CHOICES: Mapping[str, list[str]] = {
    "Content-Type": [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "application/problem+json",
        "",
    ],
    "Authorization": [
        f"Bearer {TOKEN}",
        f"Bearer {TOKEN}x",
        f"bearer {TOKEN}",
        "Bearer",
        f"Basic {TOKEN}",
        "Bearer \u00e9",
    ],
    "X-ES-Routed": ["1", "", "yes"],
    "X-Request-Id": ["trace-1", "a\u202eb", "x" * 200, "../../etc", "id with spaces"],
    "Accept": ["text/html", "*/*", "application/problem+json"],
}


@st.composite
def header_sets(draw: st.DrawFn, valid: bool) -> dict[str, str]:
    """Up to three of the headers above with one of their values, after a valid pair if asked."""
    headers = (
        {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"} if valid else {}
    )
    for name in sorted(draw(st.sets(st.sampled_from(sorted(HEADER_CHOICES)), max_size=3))):
        headers[name] = draw(st.sampled_from(HEADER_CHOICES[name]))
    return headers


METHODS = ["GET"] * 4 + ["POST"] * 3 + ["HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"]


def requests(order_id: str, sku: str) -> st.SearchStrategy[tuple[str, str, dict[str, str], bytes]]:
    """Method, target, headers and body: a third are event posts that may well be valid."""
    anything = st.tuples(
        st.sampled_from(METHODS),
        targets(order_id, sku),
        st.booleans().flatmap(header_sets),
        bodies(order_id, sku),
    )
    event_posts = st.tuples(
        st.just("POST"),
        st.sampled_from(["/events", "/events?x=1", "/events/", "/events%2F"]),
        header_sets(valid=True),
        bodies(order_id, sku),
    )
    return st.one_of(anything, anything, event_posts)


def endpoint_answer(target: str, body: bytes, content_type: str) -> str:
    """Which endpoint a 2xx body comes from, judged by the body alone."""
    if content_type.startswith("text/plain") and b"# HELP" in body:
        return "/metrics"
    document = orjson.loads(body)
    if document == {"status": "ok"}:
        return "/health"
    if "consumer_running" in document:
        return "/ready"
    if "accepted" in document:
        return "/events"
    if "order_id" in document:
        return f"/orders/{document['order_id']}"
    if "sku" in document:
        return f"/inventory/{document['sku']}"
    return f"unknown body {document!r}"


def assert_valid_answer(method: str, target: str, status: int, headers: Any, body: bytes) -> int:
    """Check one answer; return the number of events it accepted."""
    assert status < 500, (method, target, status, body)
    if status >= 400:
        if method == "HEAD":
            assert headers["Content-Type"].startswith("application/problem+json")
        else:
            problem_of(status, headers, body)
        return 0
    assert 200 <= status < 300, (method, target, status)
    if method == "HEAD":
        return 0
    answered = endpoint_answer(target, body, headers["Content-Type"])
    path = target.split("?", 1)[0].split("#", 1)[0]
    assert answered == unquote(path), (method, target, answered)
    return len(orjson.loads(body)["accepted"]) if answered == "/events" else 0


async def test_hostile_requests_get_a_problem_or_their_own_answer_and_write_only_when_valid(
    target: Target,
) -> None:
    before = await end_offsets(target.bootstrap, target.sources)
    statuses: Counter[int] = Counter()
    accepted = 0

    @settings(
        max_examples=CASES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=requests(target.order_id, target.sku))
    def hostile_request(request: tuple[str, str, dict[str, str], bytes]) -> None:
        nonlocal accepted
        method, path, headers, body = request
        status, response_headers, answer = exchange(
            target.worker.url, raw_request(method, path, headers, body)
        )
        statuses[status] += 1
        accepted += assert_valid_answer(method, path, status, response_headers, answer)

    await asyncio.to_thread(hostile_request)

    print(f"{sum(statuses.values())} hostile requests, statuses {sorted(statuses.items())}")
    assert target.worker.running
    ready = await asyncio.to_thread(exchange, target.worker.url, raw_request("GET", "/ready"))
    assert ready[0] == 200
    after = await end_offsets(target.bootstrap, target.sources)
    assert sum(after.values()) - sum(before.values()) == accepted
    assert {200, 202, 400, 404} <= statuses.keys(), statuses
    assert accepted > 0
