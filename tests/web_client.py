"""HTTP helpers for the web tests: post events, read JSON, poll a page until it shows a state."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
import orjson
from prometheus_client.parser import text_string_to_metric_families

T = TypeVar("T")
Samples = Mapping[tuple[str, tuple[tuple[str, str], ...]], float]
"""Scraped metric samples by (sample name, sorted labels)."""


async def post(
    url: str, body: Any, headers: Mapping[str, str] | None = None
) -> tuple[int, Mapping[str, str], bytes]:
    """POST raw ``body`` (bytes, or an async iterable sent chunked) to ``{url}/events``."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/events", data=body, headers=headers or {}) as response,
    ):
        return response.status, response.headers, await response.read()


async def post_events(
    url: str, events: Any, *, token: str | None = None
) -> tuple[int, Mapping[str, str], Any]:
    """POST ``events`` as JSON, with a bearer token if given; return status, headers, JSON."""
    headers = {"Content-Type": "application/json"}
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
