"""AWS's JSON protocol for the endpoints that mirror an AWS action: request objects, refusals.

A request body is one JSON object (else ``SerializationException``); a refusal is AWS's
``{"__type", "message"}`` sent as ``application/x-amz-json-1.1`` (which the guard passes
as it is) with a 404 for a missing resource, a 503 when the catalogues cannot be reached,
and a 400 otherwise.
"""

from typing import Any

import orjson
from faust.web import Request, Response, View

from ecommerce_streams.web.admission import read_body
from ecommerce_streams.web.guard import served
from ecommerce_streams.web.problems import AWS_JSON
from ecommerce_streams.worker.app import settings
from models.routing.checks import AwsError

NOT_FOUND_TYPES = frozenset({"ResourceNotFoundException", "NotFoundException"})
UNAVAILABLE = "ServiceUnavailableException"


async def aws_request(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object (an empty body is ``{}`` when ``optional``), or AwsError."""
    body = await read_body(served(request), settings.max_body_bytes)
    if optional and not body.strip():
        return {}
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise AwsError("SerializationException", f"The request body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise AwsError("SerializationException", "The request body must be a JSON object")
    return document


def aws_refusal(view: View, refusal: AwsError) -> Response:
    """AWS's error document with its status: 404 for a missing resource, 503, or 400."""
    if refusal.aws_type in NOT_FOUND_TYPES:
        status, headers = 404, {}
    elif refusal.aws_type == UNAVAILABLE:
        status, headers = 503, {"Retry-After": "1"}
    else:
        status, headers = 400, {}
    return view.json(refusal.body(), status=status, content_type=AWS_JSON, headers=headers)
