"""Unit tests: the benchmark's markdown shows both latency phases, commits and the soak."""

from bench.report import render_markdown, render_soak
from bench.targets import evaluate
from tests.unit.bench_results import case, results, soak


def _render(with_soak: bool) -> str:
    """The markdown of a two-case run, with or without a soak run beside it."""
    figures = results(
        [case("exactly_once", 1, rate=650), case("at_least_once", 1, rate=700)],
        soak(100_000, 250.0) if with_soak else None,
    )
    figures["targets"] = evaluate(figures)
    return render_markdown(figures, json_name="run.json", chart_name="run.png")


def test_a_latency_row_splits_one_hop_beside_the_full_saga_and_the_markers_wait() -> None:
    markdown = _render(with_soak=False)

    rows = [line for line in markdown.splitlines() if line.startswith("| exactly_once x1 | 50 (")]
    assert len(rows) == 1
    assert (
        "fixed | 25 / 50 / 50 | 5 / 5 / 5, 45 / 45 / 45 | 50 / 50 / 50 | 100 / 200 / 300 |"
        in (rows[0])
    )
    assert "| 12.0 (0.5 / 1.0 / 10.0 / 0.5) | 2.5 | 7.5 | 100 (0) |" in rows[0]
    assert "| exactly_once x1 | 260 (260), half max |" in markdown
    assert "one-hop p50/p95/p99 ms" in markdown


def test_the_slowest_one_hops_are_listed_per_case_and_phase_with_when_they_were_sent() -> None:
    markdown = _render(with_soak=False)

    assert "Slowest 1 % of one hops" in markdown
    assert "- exactly_once x1, fixed: 3.2 s (50), 3.3 s (62); full collections: 0;" in markdown


def test_each_latency_phase_shows_its_commit_rate_and_who_else_took_the_cores() -> None:
    markdown = _render(with_soak=False)

    assert (
        "; 41.5 commits/s; CPU in the phase: each worker 40% of a core"
        " (its event loop waiting for a core 25%), broker 90% (its JIT compiler 5%), bench 15%"
    ) in markdown


def test_the_cost_table_shows_commits_round_time_and_records_of_the_backlog_and_every_phase() -> (
    None
):
    assert "| 8.0 (12.5) | 42.0 | 8.0 (8.0) |" in _render(with_soak=False)


def test_an_unmeasured_target_says_so() -> None:
    assert "| not measured (no soak run) | not measured |" in _render(with_soak=False)


def test_a_soak_run_renders_as_a_section_and_meets_the_rss_target() -> None:
    markdown = _render(with_soak=True)

    assert "## Soak: 100,000 orders through one exactly-once worker" in markdown
    assert "| 80 / 250 / 100 | 14.2 | 16.0 | 9.5 | 0 |" in markdown
    assert "| RSS <= 300 MB after 100,000 orders (soak run, 1 worker) | 250 MB" in markdown


def test_the_soak_document_spreads_at_most_ten_rss_samples_ending_with_the_last() -> None:
    text = "\n".join(render_soak(soak(2_000, 150.0)))

    line = next(line for line in text.splitlines() if line.startswith("RSS while"))
    shown = line.removesuffix(".").split("MB): ", 1)[1].split(", ")
    assert len(shown) == 10
    assert shown[0] == "1,000: 81"
    assert shown[-1] == "24,000: 104"
    assert text.startswith("# Soak: 2,000 orders")


def test_a_case_without_commit_steps_shows_only_its_mean_commit_round() -> None:
    from bench.report import _commit_round

    untimed = {"commit_round_ms_mean": None, "commit_steps_ms_mean": dict.fromkeys(("units",))}

    assert _commit_round(untimed) == "n/a"


def test_a_case_whose_workers_had_cores_of_their_own_says_which() -> None:
    pinned = case("exactly_once", 1, rate=650)
    pinned["own_cores"] = {"workers": [1], "broker_and_bench": [0]}
    figures = results([pinned], None)
    figures["targets"] = evaluate(figures)

    markdown = render_markdown(figures, json_name="run.json", chart_name="run.png")

    assert (
        "**Workers on cores of their own** in exactly_once x1: worker cores [1], "
        "the broker and the bench on [0] (`--own-cores`)."
    ) in markdown
    assert "cores of their own" not in _render(with_soak=False)


def test_the_markdown_says_how_the_broker_was_warmed_up_or_that_it_was_not() -> None:
    figures = results([case("exactly_once", 1, rate=650)], None)
    figures["targets"] = evaluate(figures)
    cold = render_markdown(figures, json_name="run.json", chart_name="run.png")
    figures["broker_warm_up"] = {
        "orders": 3000,
        "case_seconds": 80.2,
        "seconds": 85.3,
        "jit_cpu_seconds": 21.4,
        "jit_share_last_window": 0.02,
        "quiet": True,
    }

    warm = render_markdown(figures, json_name="run.json", chart_name="run.png")

    assert "The broker was measured as started (no warm-up case)" in cold
    assert (
        "**Broker warmed up** by an uncounted exactly-once case of 3,000 orders (85 s); "
        "its JIT compiler used 21.4 CPU s meanwhile and was then quiet (2% of a core)."
    ) in warm


def test_a_run_on_the_users_own_broker_says_nothing_of_warming_it_up() -> None:
    figures = results([case("exactly_once", 1, rate=650)], None)
    figures["machine"]["kafka"] = "external"
    figures["targets"] = evaluate(figures)

    markdown = render_markdown(figures, json_name="run.json", chart_name="run.png")

    assert "Broker warmed up" not in markdown
    assert "measured as started" not in markdown
