"""Fixtures of the unit tests: the worker's HTTP stack served in process."""

from collections.abc import AsyncIterator

import pytest

from tests.web_local import serving


@pytest.fixture(scope="session")
async def local_web() -> AsyncIterator[str]:
    """Base URL of the worker's real HTTP stack, served once for the session."""
    async with serving() as url:
        yield url
