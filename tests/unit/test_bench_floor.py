"""Unit tests: the client floor's report names each producer layout with its median."""

from bench.floor import Shape, render_floor


def run(cpu_ms: float, producers: int) -> dict[str, float | int]:
    """One floor run's figures."""
    return {"producers": producers, "cpu_ms_per_source_event": cpu_ms}


def test_the_floor_report_shows_each_layout_with_its_median_and_runs() -> None:
    result = {
        "shape": {
            "inputs": 4.5,
            "records": 9.7,
            "events_per_commit": 16.0,
            "partitions": 4,
            "events": 3000,
        },
        "runs": {
            "per_partition": [run(0.5, 4), run(0.44, 4), run(0.6, 4)],
            "one_producer": [run(0.46, 1), run(0.38, 1), run(0.4, 1)],
        },
        "median_cpu_ms_per_source_event": {"per_partition": 0.5, "one_producer": 0.4},
    }

    markdown = render_floor(result)

    assert "| per partition (4) | 0.50 | 0.50, 0.44, 0.60 | 2,000 |" in markdown
    assert "| one producer (1) | 0.40 | 0.46, 0.38, 0.40 | 2,500 |" in markdown
    assert f"{Shape.records} records produced" in markdown
