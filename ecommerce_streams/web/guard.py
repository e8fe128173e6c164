"""The one guarded layer every HTTP request passes before and after its endpoint.

An endpoint exists only once declared with :meth:`ShopApp.endpoint
<ecommerce_streams.worker.app.ShopApp.endpoint>` and what it needs (:class:`Endpoint`); a
route nobody declared is a 404 like an unknown path. For each request, in order:

1. a request id: the client's ``X-Request-Id`` when it is a plain identifier, else a
   fresh one; it is in the answer's headers, in every problem document and in the log;
2. the route: an unknown path is a 404, a method the endpoint lacks a 405;
3. the path parameters: each must be an :data:`~models.fields.Identifier`, the rule the
   events themselves obey, so ``?``, ``#``, ``/``, NUL or bidi characters never reach a
   view (400);
4. the bearer token (401) on endpoints that write, and on reads of the shop's data
   when ``ES_API_TOKEN_ON_READS`` is set;
5. the body: the endpoint's one media type (415) and the declared size (413);
6. errors: every answer of 400 and above is an RFC 9457 ``application/problem+json``
   document, whether a view raised a :class:`~ecommerce_streams.web.problems.Problem`,
   aiohttp refused the route, or an exception escaped (500, its traceback only in the log).

Requests aiohttp cannot even parse never reach a middleware; the server's connections
answer those (:mod:`ecommerce_streams.web.http_server`).
"""

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, cast

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from ecommerce_streams.web.admission import body_too_large, require_bearer
from ecommerce_streams.web.problems import (
    AWS_JSON,
    PROBLEM_JSON,
    REQUEST_ID_HEADER,
    Problem,
    http_problem,
    problem_response,
)
from models.fields import Identifier

logger = logging.getLogger(__name__)

REQUEST_ID = web.RequestKey("request_id", str)
"""Key of the request id in the aiohttp request's own mapping."""
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
READ_METHODS = frozenset({"GET", "HEAD"})

_identifier = TypeAdapter(Identifier)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def served(request: Any) -> web.Request:
    """The aiohttp request behind a Faust view's request (Faust's web driver is aiohttp)."""
    return cast(web.Request, request)


class Access(Enum):
    """Who may call an endpoint."""

    OPERATIONS = "operations"
    """Health, readiness, metrics: no customer data, always open to the network."""
    SHOP_DATA = "shop data"
    """Views of orders and stock: the bearer token when ``ES_API_TOKEN_ON_READS`` is set."""
    WRITE = "write"
    """Changes the shop: the bearer token whenever ``ES_API_TOKEN`` is set."""


@dataclass(frozen=True)
class Endpoint:
    """What an endpoint requires of a request before its view runs."""

    access: Access
    accepts: tuple[str, ...] = ()
    """The media types its body may have; none: it reads no body."""
    reads: Access | None = None
    """Who may GET it, when that differs from ``access`` (an endpoint that also writes)."""

    def access_of(self, method: str) -> Access:
        """Who may call the endpoint with ``method``."""
        if self.reads is not None and method in READ_METHODS:
            return self.reads
        return self.access


OPERATIONS = Endpoint(Access.OPERATIONS)
SHOP_DATA = Endpoint(Access.SHOP_DATA)


@dataclass
class Guard:
    """The aiohttp middleware that checks every request and shapes every error."""

    token: str | None
    token_on_reads: bool
    max_body_bytes: int
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    """Endpoint of each declared route, by its path pattern (``/orders/{order_id}``)."""

    __middleware_version__ = 1  # an aiohttp "new style" middleware

    def declare(self, path: str, endpoint: Endpoint) -> None:
        """Serve the route ``path`` with the checks ``endpoint`` asks for."""
        self.endpoints[path] = endpoint

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answer ``request`` through its checked endpoint; every error as a problem document."""
        request_id = request_id_of(request)
        request[REQUEST_ID] = request_id
        try:
            self.admit(request)
            response = await handler(request)
            if response.status >= 400 and response.content_type not in (PROBLEM_JSON, AWS_JSON):
                raise http_problem(response.status, response.headers)
        except Problem as problem:
            response = self.refuse(request, problem)
        except web.HTTPException as refusal:
            if refusal.status < 400:
                raise
            response = self.refuse(request, http_problem(refusal.status, refusal.headers))
        except Exception:
            logger.exception(
                "%s %r failed [request %s]", request.method, request.raw_path, request_id
            )
            response = problem_response(
                Problem(
                    500,
                    "internal-error",
                    "Internal error",
                    "the worker could not answer; its log names this request id",
                ),
                request_id,
            )
        if response.status < 400:
            logger.debug(
                "%s %r answered %d [request %s]",
                request.method,
                request.raw_path,
                response.status,
                request_id,
            )
        response.headers[REQUEST_ID_HEADER] = request_id
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def admit(self, request: web.Request) -> None:
        """Raise the first check ``request`` fails: route, path, token, then body."""
        match_info = request.match_info
        if match_info.http_exception is not None:
            raise match_info.http_exception
        resource = match_info.route.resource
        endpoint = self.endpoints.get(resource.canonical) if resource is not None else None
        if endpoint is None:
            raise http_problem(404)
        for name, value in match_info.items():
            try:
                _identifier.validate_python(value)
            except ValidationError:
                raise Problem(
                    400,
                    "invalid-identifier",
                    "Invalid identifier",
                    f"{name} must be 1 to 64 letters, digits or '._:-'",
                ) from None
        access = endpoint.access_of(request.method)
        if access is Access.WRITE or (access is Access.SHOP_DATA and self.token_on_reads):
            require_bearer(request.headers.get("Authorization"), self.token)
        if request.method in BODY_METHODS:
            self.admit_body(request, endpoint)

    def admit_body(self, request: web.Request, endpoint: Endpoint) -> None:
        """Raise a 415 unless the body is the endpoint's media type, a 413 if declared too large.

        The size is checked again while the body is read
        (:func:`~ecommerce_streams.web.admission.read_body`): chunked uploads declare none.
        """
        if not endpoint.accepts:
            return
        charset = (request.charset or "utf-8").lower()
        declared = "Content-Type" in request.headers  # aiohttp reports none as octet-stream
        if not declared or request.content_type not in endpoint.accepts or charset != "utf-8":
            accepted = ", ".join(endpoint.accepts)
            raise Problem(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                f"the body must be sent as Content-Type: {' or '.join(endpoint.accepts)}",
                headers={"Accept-Post": accepted},
            )
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise body_too_large(self.max_body_bytes)

    def refuse(self, request: web.Request, problem: Problem) -> web.Response:
        """The problem answer, logged with the request id."""
        request_id = request[REQUEST_ID]
        logger.info(
            "%s %r answered %d %s [request %s]",
            request.method,
            request.raw_path,
            problem.status,
            problem.kind,
            request_id,
        )
        return problem_response(problem, request_id)


def request_id_of(request: web.BaseRequest) -> str:
    """The client's ``X-Request-Id`` if it is a plain identifier, else a fresh one."""
    offered = request.headers.get(REQUEST_ID_HEADER)
    if offered is not None:
        try:
            return _identifier.validate_python(offered)
        except ValidationError:
            pass
    return uuid.uuid4().hex
