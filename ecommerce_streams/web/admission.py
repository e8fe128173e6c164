"""What a request must pass before its events are read: capacity, a bearer token, a size."""

import hmac
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp.web import Request

from ecommerce_streams.web.problems import Problem

READ_CHUNK_BYTES = 64 * 1024


class InflightLimit:
    """Serves at most ``limit`` requests at once; the next ones are told to retry."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one place while the request is served, or raise a 503 Problem."""
        if self.in_flight >= self.limit:
            raise Problem(
                503,
                "overloaded",
                "Too many requests in flight",
                f"this worker serves {self.limit} requests at once; retry shortly",
                headers={"Retry-After": "1"},
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


def require_bearer(authorization: str | None, token: str | None) -> None:
    """Raise a 401 Problem unless ``Authorization`` is ``Bearer <token>`` (no token: open).

    The comparison takes the same time wherever the strings differ.
    """
    if token is None:
        return
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        presented.strip().encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass")
    ):
        raise Problem(
            401,
            "unauthorized",
            "Missing or wrong bearer token",
            "send the API token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="events"'},
        )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or a 413 Problem once the declared or the actual size passes ``limit``.

    The declared Content-Length is checked first; the body is then read in chunks and
    abandoned as soon as it grows past the limit (chunked uploads declare no size).
    """
    if request.content_length is not None and request.content_length > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(READ_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def body_too_large(limit: int) -> Problem:
    """The 413 problem for a body over ``limit`` bytes."""
    return Problem(
        413, "body-too-large", "Request body too large", f"the body may be at most {limit} bytes"
    )
