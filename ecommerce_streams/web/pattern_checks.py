"""AWS's pattern checks over HTTP: test an event pattern or a filter policy against a message.

``POST /rules/test-event-pattern`` is EventBridge's TestEventPattern and
``POST /subscriptions/test-filter-policy`` the same for an SNS filter policy: AWS's field
names in, ``{"Result": true|false}`` out, and AWS's ``{"__type", "message"}`` with a 400
for anything refused (``models/routing/checks.py``), in AWS's JSON protocol
(``application/x-amz-json-1.1``), which the guard passes as it is. Nothing is stored.
"""

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from faust.web import Request, Response, View

from ecommerce_streams.web.admission import read_body
from ecommerce_streams.web.guard import Access, Endpoint, served
from ecommerce_streams.web.problems import AWS_JSON
from ecommerce_streams.worker.app import app, settings
from models.routing.checks import AwsError, check_event_pattern, check_filter_policy

CHECK = Endpoint(Access.SHOP_DATA, accepts="application/json")


async def answer(
    view: View, request: Request, check: Callable[[Mapping[str, Any]], bool]
) -> Response:
    """Run one check on the request's JSON object: its result, or AWS's error with a 400."""
    body = await read_body(served(request), settings.max_body_bytes)
    try:
        document = orjson.loads(body)
        if not isinstance(document, dict):
            raise AwsError("SerializationException", "The request body must be a JSON object")
        return view.json({"Result": check(document)})
    except orjson.JSONDecodeError as error:
        refused = AwsError("SerializationException", f"The request body is not JSON: {error}")
    except AwsError as refusal:
        refused = refusal
    return view.json(refused.body(), status=400, content_type=AWS_JSON)


@app.endpoint("/rules/test-event-pattern", CHECK)
class EventPatternCheck(View):
    """EventBridge's TestEventPattern."""

    async def post(self, request: Request) -> Response:
        """200 with whether ``Event`` matches ``EventPattern``, or AWS's error."""
        return await answer(self, request, check_event_pattern)


@app.endpoint("/subscriptions/test-filter-policy", CHECK)
class FilterPolicyCheck(View):
    """Whether a message passes an SNS filter policy."""

    async def post(self, request: Request) -> Response:
        """200 with whether the message passes ``FilterPolicy``, or AWS's error."""
        return await answer(self, request, check_filter_policy)
