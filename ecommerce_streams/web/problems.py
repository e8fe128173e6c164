"""Error answers as RFC 9457 problem details: ``application/problem+json`` bodies."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web

PROBLEM_JSON = "application/problem+json"
#: AWS's JSON protocol: the endpoints that mirror an AWS action answer its errors in it.
AWS_JSON = "application/x-amz-json-1.1"
REQUEST_ID_HEADER = "X-Request-Id"
TYPE_PREFIX = "urn:ecommerce-streams:problem:"


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one event of a request: its index, the field path and why."""

    index: int
    path: str
    message: str


class Problem(Exception):
    """An error answer: status, problem type, title and detail, and field errors for a 400."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})

    def body(self) -> dict[str, Any]:
        """The problem+json document: extension members, then the standard ones.

        ``errors`` is there only when there are field errors.
        """
        document: dict[str, Any] = {
            **self.extensions,
            "type": f"{TYPE_PREFIX}{self.kind}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            document["errors"] = [
                {"index": e.index, "path": e.path, "message": e.message} for e in self.errors
            ]
        return document


def problem_response(problem: Problem, request_id: str) -> web.Response:
    """The HTTP response that carries ``problem``, naming the request it answers."""
    return web.Response(
        body=orjson.dumps({**problem.body(), "request_id": request_id}),
        content_type=PROBLEM_JSON,
        status=problem.status,
        headers={**problem.headers, REQUEST_ID_HEADER: request_id},
    )


HTTP_DETAILS = {
    400: "the request is not valid HTTP/1.1, or a line of it is too long",
    404: "no endpoint is served at this path",
    405: "the endpoint does not take this method",
}
"""What the server's own refusals mean; never the request's text, which may be hostile."""
PASSED_HEADERS = ("Allow", "Retry-After")
"""Headers of a refusal, or of an owner's answer, that are passed on to the client."""


def http_problem(status: int, headers: Mapping[str, str] | None = None) -> Problem:
    """The problem for a bare HTTP ``status`` (the server's own refusals), by its reason phrase.

    Of ``headers`` (the refusal's own) only those a client needs, such as Allow, are kept.
    """
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return Problem(
        status,
        phrase.lower().replace(" ", "-"),
        phrase,
        HTTP_DETAILS.get(status, phrase),
        headers={
            name: value
            for name in PASSED_HEADERS
            if (value := (headers or {}).get(name)) is not None
        },
    )
