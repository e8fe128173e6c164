"""The guarded HTTP layer, on the worker's real HTTP stack served in process."""

import asyncio
from collections.abc import Iterator, Mapping

import orjson
import pytest

from ecommerce_streams.worker.app import app
from tests.web_client import SIMPLE_CONTENT_TYPES, exchange, problem_of, raw_request
from tests.web_events import stock_received

Answer = tuple[int, Mapping[str, str], bytes]


async def send(
    url: str,
    method: str,
    target: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> Answer:
    """One raw request to the in-process server (from a thread: the server runs on this loop)."""
    return await asyncio.to_thread(exchange, url, raw_request(method, target, headers, body))


@pytest.fixture
def token() -> Iterator[str]:
    """ES_API_TOKEN set on the running guard for one test."""
    guard = app.guard
    before = guard.token
    guard.token = "s3cret"
    try:
        yield guard.token
    finally:
        guard.token = before


@pytest.fixture
def token_on_reads(token: str) -> Iterator[str]:
    """ES_API_TOKEN and ES_API_TOKEN_ON_READS set on the running guard for one test."""
    app.guard.token_on_reads = True
    try:
        yield token
    finally:
        app.guard.token_on_reads = False


async def test_an_unknown_path_is_a_404_problem_document(local_web: str) -> None:
    status, headers, body = await send(local_web, "GET", "/no/such/page")

    assert status == 404
    assert problem_of(404, headers, body)["detail"] == "no endpoint is served at this path"


async def test_a_method_the_endpoint_lacks_is_a_405_problem_naming_the_allowed_ones(
    local_web: str,
) -> None:
    status, headers, body = await send(local_web, "DELETE", "/events")

    assert status == 405
    problem_of(405, headers, body)
    assert "POST" in headers["Allow"].split(",")


async def test_head_on_an_endpoint_without_get_is_a_405_problem(local_web: str) -> None:
    status, headers, body = await send(local_web, "HEAD", "/events")

    assert status == 405
    assert headers["Content-Type"].startswith("application/problem+json")
    assert body == b""


@pytest.mark.parametrize(
    "path", ["/router/", "/router/topics", "/router/orders/ord-1/", "/table/", "/table/orders", "/"]
)
async def test_faust_built_in_pages_are_not_served(local_web: str, path: str) -> None:
    status, headers, body = await send(local_web, "GET", path)

    assert status == 404
    problem_of(404, headers, body)


async def test_an_over_long_request_line_is_a_400_problem_document(local_web: str) -> None:
    status, headers, body = await send(local_web, "GET", "/orders/" + "x" * 9000)

    assert status == 400
    assert "too long" in problem_of(400, headers, body)["detail"]


async def test_an_over_long_header_is_a_400_problem_document(local_web: str) -> None:
    status, headers, body = await send(local_web, "GET", "/health", {"X-Junk": "j" * 9000})

    assert status == 400
    problem_of(400, headers, body)


@pytest.mark.parametrize(
    "path",
    [
        "/orders/..%2Fmetrics",
        "/inventory/..%2Fhealth",
        "/orders/..%2F..%2Frouter%2F",
        "/orders/%2E%2E%2Fready",
    ],
)
async def test_an_id_that_decodes_to_a_path_is_a_400_not_another_endpoints_body(
    local_web: str, path: str
) -> None:
    status, headers, body = await send(local_web, "GET", path)

    assert status == 400
    assert problem_of(400, headers, body)["type"].endswith(":invalid-identifier")


@pytest.mark.parametrize(
    ("path", "hostile"),
    [
        ("/orders/ord-7-0000008%3Fx%3D1", b"?x"),
        ("/orders/ord-7-0000008%23x", b"#x"),
        ("/orders/ord%00-7", b"\\u0000"),
        ("/inventory/SKU%E2%80%AE1", "\u202e".encode()),
        ("/inventory/SKU%E2%80%8B1", "\u200b".encode()),
        ("/orders/" + "a" * 65, b"a" * 65),
    ],
)
async def test_an_id_with_query_fragment_nul_or_bidi_characters_is_a_400_that_echoes_none(
    local_web: str, path: str, hostile: bytes
) -> None:
    status, headers, body = await send(local_web, "GET", path)

    assert status == 400
    problem_of(400, headers, body)
    assert hostile not in body


async def test_a_valid_id_passes_the_guard_to_its_view(local_web: str) -> None:
    status, headers, body = await send(local_web, "GET", "/orders/ord-7.0000008:a_b")

    assert status == 503  # the view's answer: no worker owns any partition in this process
    assert problem_of(503, headers, body)["type"].endswith(":no-owner")


@pytest.mark.parametrize(
    "content_type",
    [*SIMPLE_CONTENT_TYPES, "application/json; charset=latin-1", "application/jsonx"],
)
async def test_events_not_sent_as_application_json_are_a_415(
    local_web: str, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}

    status, response_headers, body = await send(
        local_web, "POST", "/events", headers, orjson.dumps(stock_received("SKU-1"))
    )

    assert status == 415
    problem_of(415, response_headers, body)
    assert response_headers["Accept-Post"] == "application/json, application/octet-stream"


async def test_events_declared_larger_than_the_limit_are_a_413_before_being_read(
    local_web: str,
) -> None:
    request = raw_request(
        "POST", "/events", {"Content-Type": "application/json", "Content-Length": "99999999"}
    )

    status, headers, body = await asyncio.to_thread(exchange, local_web, request)

    assert status == 413
    problem_of(413, headers, body)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8"],
)
async def test_events_sent_as_json_reach_validation(local_web: str, content_type: str) -> None:
    status, headers, body = await send(
        local_web, "POST", "/events", {"Content-Type": content_type}, b"[]"
    )

    assert status == 400
    assert "1 to 500 events" in problem_of(400, headers, body)["detail"]


async def test_with_a_token_set_writes_need_it(local_web: str, token: str) -> None:
    json_body = {"Content-Type": "application/json"}
    refused = await send(local_web, "POST", "/events", json_body, b"[]")
    admitted = await send(
        local_web, "POST", "/events", {**json_body, "Authorization": f"Bearer {token}"}, b"[]"
    )

    assert refused[0] == 401
    assert problem_of(*refused)["type"].endswith(":unauthorized")
    assert refused[1]["WWW-Authenticate"].startswith("Bearer")
    assert admitted[0] == 400  # past the token, refused for its empty batch


async def test_a_token_is_checked_before_the_content_type(local_web: str, token: str) -> None:
    status, _, _ = await send(local_web, "POST", "/events", {"Content-Type": "text/plain"})

    assert status == 401


async def test_with_a_token_set_reads_stay_open_unless_configured(
    local_web: str, token: str
) -> None:
    status, _, _ = await send(local_web, "GET", "/orders/ord-1")

    assert status == 503  # reached the view


async def test_reads_of_shop_data_need_the_token_when_configured(
    local_web: str, token_on_reads: str
) -> None:
    without = await send(local_web, "GET", "/inventory/SKU-1")
    with_token = await send(
        local_web, "GET", "/inventory/SKU-1", {"Authorization": f"Bearer {token_on_reads}"}
    )
    health = await send(local_web, "GET", "/health")

    assert without[0] == 401
    problem_of(*without)
    assert with_token[0] == 503  # reached the view
    assert health[0] == 200  # operations stay open


async def test_every_answer_names_its_request_id_and_a_plain_client_id_is_kept(
    local_web: str,
) -> None:
    fresh = await send(local_web, "GET", "/health")
    kept = await send(local_web, "GET", "/nowhere", {"X-Request-Id": "trace-42"})
    replaced = await send(local_web, "GET", "/nowhere", {"X-Request-Id": "a\u202eb"})

    assert fresh[0] == 200
    assert len(fresh[1]["X-Request-Id"]) == 32
    assert problem_of(*kept)["request_id"] == "trace-42"
    assert problem_of(*replaced)["request_id"] != "a\u202eb"
    assert "\u202e".encode() not in replaced[2]


async def test_answers_are_not_sniffed_or_cached(local_web: str) -> None:
    _, headers, _ = await send(local_web, "GET", "/health")

    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


async def test_ready_is_a_503_problem_with_its_facts_before_the_worker_runs(
    local_web: str,
) -> None:
    status, headers, body = await send(local_web, "GET", "/ready")

    assert status == 503
    assert problem_of(503, headers, body)["consumer_running"] is False


async def test_metrics_report_no_table_key_estimate(local_web: str) -> None:
    status, _, body = await send(local_web, "GET", "/metrics")

    assert status == 200
    assert b"es_consumer_lag" in body
    assert b"es_table_keys" not in body


async def test_every_served_route_is_declared_to_the_guard(local_web: str) -> None:
    served = {resource.canonical for resource in app.web.web_app.router.resources()}

    assert served == set(app.guard.endpoints)
    assert served == {
        "/health",
        "/ready",
        "/metrics",
        "/events",
        "/orders/{order_id}",
        "/inventory/{sku}",
        "/rules/test-event-pattern",
        "/subscriptions/test-filter-policy",
        "/rules",
        "/rules/{name}",
        "/rules/{name}/targets",
        "/subscriptions",
        "/subscriptions/{subscription_id}",
        "/schemas",
    }
    assert app.guard in app.web.web_app.middlewares
