"""Unit tests: the benchmark's markdown shows both latency phases and the commits."""

from bench.report import render_markdown
from bench.targets import evaluate
from tests.unit.bench_results import case, results


def _render() -> str:
    """The markdown of a two-case run."""
    figures = results([case("exactly_once", 1, rate=650), case("at_least_once", 1, rate=700)])
    figures["targets"] = evaluate(figures)
    return render_markdown(figures, json_name="run.json", chart_name="run.png")


def test_each_case_has_a_latency_row_per_phase_with_one_hop_beside_the_full_saga() -> None:
    markdown = _render()

    rows = [line for line in markdown.splitlines() if line.startswith("| exactly_once x1 | 50 (")]
    assert len(rows) == 1
    assert "fixed | 25 / 50 / 50 | 50 / 50 / 50 | 100 / 200 / 300 |" in rows[0]
    assert "| exactly_once x1 | 260 (260), half max |" in markdown
    assert "one-hop p50/p95/p99 ms" in markdown


def test_the_cost_table_shows_commits_per_second_and_events_per_commit() -> None:
    assert "| 8.0 (12.5) | 8.0 |" in _render()
