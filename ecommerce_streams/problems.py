"""Error answers as RFC 9457 problem details: ``application/problem+json`` bodies."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from faust.web import Response, View

PROBLEM_JSON = "application/problem+json"
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
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The problem+json document (``errors`` only when there are field errors)."""
        document: dict[str, Any] = {
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


def respond(view: View, problem: Problem) -> Response:
    """The HTTP response that carries ``problem``."""
    return view.bytes(
        orjson.dumps(problem.body()),
        content_type=PROBLEM_JSON,
        status=problem.status,
        headers=problem.headers,
    )
