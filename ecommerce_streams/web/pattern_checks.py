"""AWS's pattern checks over HTTP: test an event pattern or a filter policy against a message.

``POST /rules/test-event-pattern`` is EventBridge's TestEventPattern and
``POST /subscriptions/test-filter-policy`` the same for an SNS filter policy: AWS's field
names in, ``{"Result": true|false}`` out, and AWS's ``{"__type", "message"}`` with a 400
for anything refused (``models/routing/checks.py``), in AWS's JSON protocol
(``application/x-amz-json-1.1``), which the guard passes as it is. Nothing is stored.
"""

from collections.abc import Callable, Mapping
from typing import Any

from faust.web import Request, Response, View

from ecommerce_streams.web.aws_json import aws_refusal, aws_request
from ecommerce_streams.web.guard import Access, Endpoint
from ecommerce_streams.worker.app import app
from models.routing.checks import AwsError, check_event_pattern, check_filter_policy

CHECK = Endpoint(Access.SHOP_DATA, accepts=("application/json",))


async def answer(
    view: View, request: Request, check: Callable[[Mapping[str, Any]], bool]
) -> Response:
    """Run one check on the request's JSON object: its result, or AWS's error with a 400."""
    try:
        return view.json({"Result": check(await aws_request(request))})
    except AwsError as refusal:
        return aws_refusal(view, refusal)


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
