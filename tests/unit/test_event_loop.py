"""The worker's event loop: uvloop by default, Python's own on request."""

import asyncio
from collections.abc import Iterator

import pytest
import uvloop

from ecommerce_streams.settings import Settings
from ecommerce_streams.worker.event_loop import use_event_loop


@pytest.fixture
def loop_policy() -> Iterator[None]:
    """The event loop policy as the test found it, afterwards."""
    policy = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(policy)


def new_loop_kind() -> type:
    """The class of a loop created now (closed again at once)."""
    loop = asyncio.new_event_loop()
    loop.close()
    return type(loop)


def test_workers_run_on_uvloop_unless_told_otherwise(loop_policy: None) -> None:
    use_event_loop(Settings().event_loop)
    assert new_loop_kind() is uvloop.Loop


def test_the_asyncio_setting_gives_pythons_own_loop(loop_policy: None) -> None:
    use_event_loop("uvloop")
    use_event_loop("asyncio")
    assert not issubclass(new_loop_kind(), uvloop.Loop)
    assert issubclass(new_loop_kind(), asyncio.BaseEventLoop)
