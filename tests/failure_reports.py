"""Failure reports that survive CPython 3.11's AST recursion-depth bug.

pytest parses a failing test's source with `ast.parse` to draw its report. On CPython
3.11.7, a garbage collection during that parse can run finalizers that parse source
themselves (asyncio logging a never-retrieved task exception formats a traceback, and
3.11's traceback module parses each line for its carets). The nested parse resets the
interpreter-wide AST depth counter, and the outer one fails with "SystemError: AST
constructor recursion depth mismatch": pytest crashes and the failure is never shown.
The cyclic collector is therefore paused while a report is made.
"""

import gc
from collections.abc import Generator

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Make the report with the cyclic garbage collector paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return (yield)
    finally:
        if was_enabled:
            gc.enable()
