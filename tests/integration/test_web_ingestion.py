"""POST /events on a worker that requires a token: 202 once stored, problem+json otherwise."""

import asyncio
import copy
import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecommerce_streams.harness.deployment import Deployment, WorkerProcess
from ecommerce_streams.web.views import partition_of
from tests.web_client import (
    SIMPLE_CONTENT_TYPES,
    exchange,
    poll,
    post,
    post_events,
    problem_of,
    raw_request,
    scrape,
    total,
)
from tests.web_deployment import running
from tests.web_events import order_placed, payment_authorized, stock_received, unique

pytestmark = pytest.mark.integration

TOKEN = "t0ken-for-tests"
LIMIT = 1_048_576  # ES_MAX_BODY_BYTES default


@dataclass
class OneWorker:
    """A deployment with one worker that requires ``Authorization: Bearer TOKEN``."""

    deployment: Deployment
    worker: WorkerProcess

    @property
    def url(self) -> str:
        """The worker's base URL."""
        return self.worker.url


@pytest.fixture(scope="module")
async def shop(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[OneWorker]:
    """One ready worker with ES_API_TOKEN set, for the whole module."""
    workdir = tmp_path_factory.mktemp("ingestion")
    async with running(broker, workdir, workers=1, env={"ES_API_TOKEN": TOKEN}) as (
        deployment,
        [worker],
    ):
        yield OneWorker(deployment, worker)


async def test_an_order_posted_with_its_stock_and_payment_shows_up_confirmed(
    shop: OneWorker,
) -> None:
    sku, order_id = unique("SKU"), unique("ord")

    status, _, _ = await post_events(shop.url, stock_received(sku, qty=10), token=TOKEN)
    assert status == 202
    await poll(f"{shop.url}/inventory/{sku}", lambda status, _: status == 200)
    status, _, _ = await post_events(
        shop.url,
        [order_placed(order_id, sku, qty=2), payment_authorized(order_id, qty=2)],
        token=TOKEN,
    )
    assert status == 202

    order = await poll(
        f"{shop.url}/orders/{order_id}",
        lambda status, body: status == 200 and body["status"] == "confirmed",
    )
    assert order["payment"]["amount"] == order["total"] == "19.00"


async def test_accepted_events_are_answered_with_their_topic_partition_and_offset(
    shop: OneWorker,
) -> None:
    sku, order_id = unique("SKU"), unique("ord")
    events = [stock_received(sku), order_placed(order_id, sku), payment_authorized(order_id)]
    before = await scrape(shop.url)

    status, headers, body = await post_events(shop.url, events, token=TOKEN)

    assert (status, headers["Content-Type"]) == (202, "application/json; charset=utf-8")
    topics = shop.deployment.topics
    partitions = shop.deployment.partitions
    assert [(r["event_id"], r["topic"], r["partition"]) for r in body["accepted"]] == [
        (events[0]["event_id"], topics.inventory, partition_of(sku, partitions)),
        (events[1]["event_id"], topics.orders, partition_of(order_id, partitions)),
        (events[2]["event_id"], topics.payments, partition_of(order_id, partitions)),
    ]
    assert all(isinstance(r["offset"], int) and r["offset"] >= 0 for r in body["accepted"])
    ingested = total(await scrape(shop.url), "es_events_ingested_total")
    assert ingested - total(before, "es_events_ingested_total") == 3


async def test_a_batch_with_a_bad_field_is_a_400_naming_the_path_and_stores_nothing(
    shop: OneWorker,
) -> None:
    sku = unique("SKU")
    broken = order_placed(unique("ord"), sku)
    broken["data"]["lines"][0]["qty"] = 0
    _, _, first = await post_events(shop.url, stock_received(sku), token=TOKEN)

    status, headers, body = await post(
        shop.url,
        orjson.dumps([stock_received(sku), broken]),
        {"Authorization": f"Bearer {TOKEN}"},
    )
    _, _, after = await post_events(shop.url, stock_received(sku), token=TOKEN)

    problem = problem_of(400, headers, body)
    assert status == 400
    assert problem["errors"] == [
        {"index": 1, "path": "data.lines.0.qty", "message": "Input should be greater than 0"}
    ]
    [before_receipt], [after_receipt] = first["accepted"], after["accepted"]
    assert after_receipt["partition"] == before_receipt["partition"]
    assert after_receipt["offset"] == before_receipt["offset"] + 1  # nothing in between


@pytest.mark.parametrize("content_type", SIMPLE_CONTENT_TYPES)
async def test_events_not_sent_as_application_json_are_a_415_and_store_nothing(
    shop: OneWorker, content_type: str | None
) -> None:
    sku = unique("SKU")
    _, _, first = await post_events(shop.url, stock_received(sku), token=TOKEN)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    request = raw_request("POST", "/events", headers, orjson.dumps(stock_received(sku)))

    status, response_headers, answer = await asyncio.to_thread(exchange, shop.url, request)
    _, _, after = await post_events(shop.url, stock_received(sku), token=TOKEN)

    assert status == 415
    problem_of(415, response_headers, answer)
    [before_receipt], [after_receipt] = first["accepted"], after["accepted"]
    assert after_receipt["offset"] == before_receipt["offset"] + 1  # nothing in between


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "not UTF-8 JSON"),
        (b"[]", "1 to 500 events"),
        (orjson.dumps([stock_received("SKU-1")] * 501), "not 501"),
    ],
)
async def test_a_body_that_is_not_a_batch_of_events_is_a_400(
    shop: OneWorker, body: bytes, detail: str
) -> None:
    status, headers, answer = await post(shop.url, body, {"Authorization": f"Bearer {TOKEN}"})

    assert status == 400
    assert detail in problem_of(400, headers, answer)["detail"]


async def test_a_derived_event_type_is_a_400_on_its_event_type(shop: OneWorker) -> None:
    forged = stock_received("SKU-1")
    forged["event_type"] = "StockReserved"

    status, headers, answer = await post(
        shop.url, orjson.dumps(forged), {"Authorization": f"Bearer {TOKEN}"}
    )

    assert status == 400
    [error] = problem_of(400, headers, answer)["errors"]
    assert error["path"] == "event_type"


async def test_a_body_declared_larger_than_the_limit_is_a_413(shop: OneWorker) -> None:
    status, headers, answer = await post(
        shop.url, b" " * (LIMIT + 1), {"Authorization": f"Bearer {TOKEN}"}
    )

    assert status == 413
    problem_of(413, headers, answer)


async def test_a_chunked_body_that_grows_past_the_limit_is_a_413(shop: OneWorker) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(LIMIT // 65_536 + 2):
            yield b" " * 65_536

    status, headers, answer = await post(shop.url, chunks(), {"Authorization": f"Bearer {TOKEN}"})

    assert status == 413
    problem_of(413, headers, answer)


@pytest.mark.parametrize("authorization", [None, f"Bearer {TOKEN}x", f"Basic {TOKEN}"])
async def test_without_the_right_bearer_token_the_answer_is_401(
    shop: OneWorker, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    status, response_headers, answer = await post(
        shop.url, orjson.dumps(stock_received("SKU-1")), headers
    )

    assert status == 401
    assert response_headers["WWW-Authenticate"].startswith("Bearer")
    problem_of(401, response_headers, answer)


# --- fuzzing ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["OrderPlaced", "StockReceived", "OrderConfirmed", "19.99", "EUR", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=15,
)
VALID = [
    order_placed("ord-fuzz", "SKU-FUZZ"),
    stock_received("SKU-FUZZ"),
    payment_authorized("ord-fuzz"),
]


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    yield prefix
    if isinstance(document, dict | list):
        children = document.items() if isinstance(document, dict) else enumerate(document)
        for name, value in children:
            yield from paths(value, (*prefix, name))


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    """A valid source event with one value replaced or removed."""
    event = copy.deepcopy(draw(st.sampled_from(VALID)))
    *parents, last = draw(st.sampled_from(list(paths(event))[1:]))
    parent = event
    for part in parents:
        parent = parent[part]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[last]
    else:
        parent[last] = draw(json_values)
    return event


def as_json(value: Any) -> bytes:
    """JSON as lenient writers send it: integers of any size, NaN and Infinity included."""
    return json.dumps(value).encode()


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(as_json),
    mutated_events().map(as_json),
    st.lists(mutated_events() | st.sampled_from(VALID), min_size=1, max_size=5).map(as_json),
)
authorizations = st.sampled_from([f"Bearer {TOKEN}"] * 4 + [None, "Bearer", "Bearer \u00e9"])


def post_blocking(url: str, body: bytes, authorization: str | None) -> int:
    """POST with the standard library (hypothesis drives plain functions) and return the status."""
    request = urllib.request.Request(
        f"{url}/events", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_fuzzed_bodies_never_get_a_server_error_and_the_worker_keeps_serving(
    shop: OneWorker,
) -> None:
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=bodies, authorization=authorizations)
    def never_a_server_error(body: bytes, authorization: str | None) -> None:
        status = post_blocking(shop.url, body, authorization)
        statuses[status] += 1
        assert status < 500, (status, body)

    never_a_server_error()

    assert shop.worker.running
    with urllib.request.urlopen(f"{shop.url}/health", timeout=5) as health:
        assert health.status == 200
    assert {202, 400, 401} <= statuses.keys(), statuses
