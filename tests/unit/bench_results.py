"""Synthetic benchmark figures, shaped like a run's results, for the bench unit tests."""

from typing import Any


def latency_phase(rate: float, one_hop_p99: float, visible_p50: float) -> dict[str, Any]:
    """One latency phase's figures at ``rate`` msg/s."""
    return {
        "offered_rate": rate,
        "achieved_send_rate": rate,
        "orders": 100,
        "messages": 230,
        "complete": True,
        "samples": 100,
        **{f"record_p{q}_ms": visible_p50 / 2 for q in (50, 95, 99)},
        "visible_p50_ms": visible_p50,
        "visible_p95_ms": visible_p50 * 2,
        "visible_p99_ms": visible_p50 * 3,
        "untraced": 0,
        "one_hop_p50_ms": one_hop_p99 / 2,
        "one_hop_p95_ms": one_hop_p99,
        "one_hop_p99_ms": one_hop_p99,
        **{f"one_hop_sent_p{q}_ms": 5.0 for q in (50, 95, 99)},
        **{f"one_hop_committed_p{q}_ms": one_hop_p99 - 5 for q in (50, 95, 99)},
        "commit_round_ms_mean": 12.0,
        "commit_steps_ms_mean": {"units": 0.5, "changes": 1.0, "transactions": 10.0, "stores": 0.5},
        "loop_lag_ms_mean": 2.5,
        "markers_seen_ms_mean": 7.5,
        "one_hop_samples": 180,
        "one_hop_without_output": 50,
        "full_gc_pauses": 0.0,
        "commits_per_second": 41.5,
        "core_shares": {
            "workers": 0.4,
            "workers_waiting": 0.25,
            "broker": 0.9,
            "broker_jit": 0.05,
            "bench": 0.15,
        },
        "one_hop_slowest": [
            {"at_s": 3.25, "ms": one_hop_p99, "sent_ms": 5.0, "seen_ms": one_hop_p99 - 5},
            {"at_s": 3.3, "ms": one_hop_p99 + 12, "sent_ms": 5.0, "seen_ms": one_hop_p99 + 7},
        ],
    }


def case(
    guarantee: str,
    workers: int,
    *,
    rate: float,
    cpu_ms: float = 1.0,
    records_per_source: float = 8.0,
    records_over_every_phase: float | None = None,
    fixed: tuple[float, float] = (50.0, 100.0),
    half_max: tuple[float, float] = (500.0, 900.0),
) -> dict[str, Any]:
    """One case's figures; ``fixed`` and ``half_max`` are (one-hop p99, full-saga p50) ms;
    ``records_per_source`` is the backlog's, ``records_over_every_phase`` the whole case's."""
    return {
        "case": f"{guarantee} x{workers}",
        "guarantee": guarantee,
        "workers": workers,
        "startup_seconds": 5.0,
        "throughput": {
            "source_events_per_second": rate,
            "agent_inputs_per_second": rate * 5,
            "source_events_per_second_drained": rate * 0.8,
            "worker_cpu_ms_per_source_event": cpu_ms,
            "worker_cpu_utilisation": 0.9,
            "broker_cpu_ms_per_source_event": 0.5,
            "transactions_committed": 400,
            "commits_per_second": 8.0,
            "source_events_per_commit": 12.5,
            "commit_round_ms_mean": 42.0,
        },
        "latency": {
            "fixed": latency_phase(50.0, *fixed),
            "half_max": latency_phase(rate * 0.4, *half_max),
        },
        "load_average_throughput": [1.0, 1.0, 1.0],
        "rss_mb": {"at_end": [120.0], "extrapolated_100k_orders": [400.0]},
        "verified": {"ok": True, "violations": 0},
        "fan_out_backlog": {"records_per_source_message": records_per_source},
        "fan_out": {"records_per_source_message": records_over_every_phase or records_per_source},
        "crash_restarts": 0,
    }


def soak(orders: int, rss_at_end: float, *, complete: bool = True) -> dict[str, Any]:
    """A soak run's figures."""
    return {
        "started_at": "2026-12-01T10:00:00Z",
        "machine": {"git_commit": "abc", "cpu_count": 2, "load_average_at_start": [1, 1, 1]},
        "load_average_end": [1, 1, 1],
        "duration_seconds": 600.0,
        "orders": orders,
        "messages": round(orders * 2.3),
        "complete": complete,
        "undecided": 0 if complete else 1,
        "seconds_to_all_decided": 500.0,
        "seconds_to_drained": 510.0,
        "source_events_per_second": 450,
        "worker_cpu_ms_per_source_event": 1.5,
        "rss_mb": {
            "at_ready": 80.0,
            "at_end": rss_at_end,
            "after_recovery": 100.0,
            "samples": [
                {"seconds": 30.0 * n, "orders_decided": 1000 * n, "rss_mb": 80.0 + n}
                for n in range(1, 25)
            ],
        },
        "recovery": {
            "exit_code": -9,
            "seconds_to_ready": 14.2,
            "seconds_to_caught_up": 16.0,
            "seconds_reading_changelogs": 9.5,
        },
        "crash_restarts": 0,
    }


def results(cases: list[dict[str, Any]], soak_run: dict[str, Any] | None = None) -> dict[str, Any]:
    """A whole run's results around ``cases``."""
    figures: dict[str, Any] = {
        "started_at": "2026-12-01T09:00:00Z",
        "plan_name": "quick",
        "duration_seconds": 240.0,
        "machine": {
            "cpu_count": 2,
            "cpu_model": "test",
            "ram_gb": 8,
            "python": "3.11",
            "faust_streaming": "0.15",
            "aiokafka": "0.14",
            "kafka": "4.4",
            "git_commit": "abc",
            "load_average_at_start": [0.1, 0.1, 0.1],
        },
        "ceilings": {
            "producer": {
                "messages": 1000,
                "messages_per_second": 10000,
                "megabytes_per_second": 4.0,
                "mean_message_bytes": 400,
            },
            "transactional": {"messages": 1000, "messages_per_second": 9000, "transactions": 2},
        },
        "cases": cases,
        "commit_sweep": [],
        "load_average_end": [0.1, 0.1, 0.1],
    }
    if soak_run is not None:
        figures["soak"] = soak_run
    return figures
