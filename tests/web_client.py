"""HTTP helpers for the web tests: post events, read JSON, poll a page until it shows a state."""

import asyncio
import http.client
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
import orjson
from prometheus_client.parser import text_string_to_metric_families
from yarl import URL

T = TypeVar("T")
Samples = Mapping[tuple[str, tuple[tuple[str, str], ...]], float]
"""Scraped metric samples by (sample name, sorted labels)."""


JSON_BODY = {"Content-Type": "application/json"}
SIMPLE_CONTENT_TYPES = (
    None,
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
)
"""None, and the bodies a browser posts cross-origin without a preflight (a form's)."""


async def post(
    url: str, body: Any, headers: Mapping[str, str] | None = None
) -> tuple[int, Mapping[str, str], bytes]:
    """POST raw ``body`` (bytes, or an async iterable sent chunked) to ``{url}/events``.

    The body is declared ``application/json`` unless ``headers`` name a Content-Type.
    """
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/events", data=body, headers={**JSON_BODY, **(headers or {})}
        ) as response,
    ):
        return response.status, response.headers, await response.read()


async def post_events(
    url: str, events: Any, *, token: str | None = None
) -> tuple[int, Mapping[str, str], Any]:
    """POST ``events`` as JSON, with a bearer token if given; return status, headers, JSON."""
    headers = dict(JSON_BODY)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    status, response_headers, body = await post(url, orjson.dumps(events), headers)
    return status, response_headers, orjson.loads(body)


async def get_json(url: str) -> tuple[int, str, Any]:
    """GET a page; return status, content type and the decoded JSON body."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.content_type, orjson.loads(await response.read())


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, timeout: float = 60.0
) -> T:
    """Call ``probe`` until ``done`` holds for its answer; fail with the last one at the deadline.

    Views and metrics have no push signal, so this is the one place the web tests poll.
    """
    deadline = time.monotonic() + timeout
    while True:
        answer = await probe()
        if done(answer):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s; last answer {answer}")
        await asyncio.sleep(0.2)


async def poll(url: str, done: Callable[[int, Any], bool], *, timeout: float = 60.0) -> Any:
    """GET ``url`` until ``done(status, json)`` holds, and return that JSON."""
    _, _, body = await eventually(
        lambda: get_json(url), lambda answer: done(answer[0], answer[2]), timeout=timeout
    )
    return body


async def scrape(url: str) -> Samples:
    """Every sample of ``{url}/metrics``, parsed as Prometheus text."""
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and labels.items() <= dict(sample_labels).items()
    )


def problem_of(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The problem+json document of an error answer, checked for its required members."""
    assert headers["Content-Type"].startswith("application/problem+json"), headers
    problem = orjson.loads(body)
    assert problem["status"] == status
    assert {"type", "title", "detail", "request_id"} <= problem.keys()
    assert problem["request_id"] == headers["X-Request-Id"]
    return problem


def raw_request(
    method: str, target: str, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> bytes:
    """An HTTP/1.1 request exactly as written: no normalisation of the target or headers."""
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if (body or method in ("POST", "PUT", "PATCH")) and "Content-Length" not in (headers or {}):
        lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join([*lines, "", ""]).encode("utf-8", "surrogateescape") + body


def exchange(
    url: str, request: bytes, timeout: float = 30.0
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Send raw request bytes to the server at ``url``; its answer's status, headers and body.

    Blocking (run it in a thread next to an in-process server), so that any bytes at
    all can be sent: HTTP clients refuse or normalise what a hostile client would send.
    """
    address = URL(url)
    with socket.create_connection((address.host, address.port), timeout=timeout) as sock:
        sock.sendall(request)
        method = request.split(b" ", 1)[0].decode("latin-1")
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        return response.status, response.headers, response.read()


async def call(
    url: str, method: str, path: str, body: Any = None, *, token: str | None = None
) -> tuple[int, str, Any]:
    """One JSON request (``body`` sent as JSON unless None); status, content type and JSON."""
    headers = dict(JSON_BODY)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else orjson.dumps(body)
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{url}{path}", data=data, headers=headers) as response,
    ):
        return response.status, response.content_type, orjson.loads(await response.read())
