"""pytest shows a failure even when collections during its report parse source again."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A test that fails while cyclic garbage keeps being collected, each finalizer parsing
# source, as asyncio's logging of a lost task exception does on Python 3.11. The
# inner conftest stops the chain once the report has been logged.
FAILING_TEST = """
import ast
import gc

chain = [True]


class ParsesWhenCollected:
    def __del__(self):
        if chain[0]:
            again = ParsesWhenCollected()
            again.me = again
            ast.parse("a = [1, 2, 3]\\nb = a[0]\\n")


def test_fails_while_finalizers_parse():
    gc.set_threshold(1)
    first = ParsesWhenCollected()
    first.me = first
    del first
    assert 1 == 2
"""

STOP_CHAIN = """
import gc
import sys


def pytest_runtest_logreport(report):
    module = sys.modules.get("test_inner")
    if module is not None and report.when == "call":
        module.chain[0] = False
        gc.set_threshold(700)
"""


def run_inner(tmp_path: Path, *plugin: str) -> subprocess.CompletedProcess[str]:
    """Run the failing test in its own pytest, with the given extra plugin options."""
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(FAILING_TEST))
    (tmp_path / "conftest.py").write_text(textwrap.dedent(STOP_CHAIN))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin]
    return subprocess.run(
        [*command, "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_failure_is_reported_while_finalizers_parse_source(tmp_path: Path) -> None:
    result = run_inner(tmp_path, "-p", "tests.failure_reports")
    assert "INTERNALERROR" not in result.stdout + result.stderr
    assert "assert 1 == 2" in result.stdout
    assert "1 failed" in result.stdout


def test_the_interpreter_bug_is_what_the_plugin_guards_against(tmp_path: Path) -> None:
    result = run_inner(tmp_path)
    if "AST constructor recursion depth mismatch" not in result.stdout + result.stderr:
        pytest.skip(f"Python {sys.version.split()[0]} parses nested source correctly")
    assert "1 failed" not in result.stdout
