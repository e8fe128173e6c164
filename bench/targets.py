"""The targets of issue #12, checked against a run's figures (reported, never asserted).

They replace those of issue #7 (shares of the transactional ceiling, p99 at half the
maximum rate, extrapolated RSS), whose figures the report still shows. A row's ``met``
is None when its figure was not measured in this run.
"""

from typing import Any

from bench.report import records_per_source

EXACTLY_ONCE_X1_MIN_RATE = 600.0
"""Source events/s of exactly_once x1."""
WORKER_CPU_LIMIT_MS = 1.6
"""Worker CPU milliseconds per source event."""
EXACTLY_ONCE_MAX_LOSS = 0.2
"""How far exactly_once x1 may fall behind at_least_once x1."""
ONE_HOP_P99_LIMIT_MS = 100.0
FULL_SAGA_P50_LIMIT_MS = 150.0
RECORDS_PER_SOURCE_LIMIT = 10.0
RSS_LIMIT_MB = 300.0
SOAK_ORDERS = 100_000
"""Orders a soak run must have drained for its RSS to count."""


def _case(cases: list[dict[str, Any]], guarantee: str, workers: int) -> dict[str, Any] | None:
    return next((c for c in cases if c["guarantee"] == guarantee and c["workers"] == workers), None)


def _rate(case: dict[str, Any] | None) -> float | None:
    return case["throughput"]["source_events_per_second"] if case else None


def _row(target: str, measured: str, met: bool | None) -> dict[str, Any]:
    return {"target": target, "measured": measured, "met": met}


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: what was asked, what was measured, met or not (None: not measured)."""
    cases = results["cases"]
    exactly_once = [c for c in cases if c["guarantee"] == "exactly_once"]
    rows: list[dict[str, Any]] = []
    rate = _rate(_case(cases, "exactly_once", 1))
    if rate is not None:
        rows.append(
            _row(
                f"exactly_once x1 >= {EXACTLY_ONCE_X1_MIN_RATE:,.0f} source events/s",
                f"{rate:,} events/s",
                rate >= EXACTLY_ONCE_X1_MIN_RATE,
            )
        )
    for case in exactly_once:
        cpu = case["throughput"].get("worker_cpu_ms_per_source_event")
        rows.append(
            _row(
                f"{case['case']}: <= {WORKER_CPU_LIMIT_MS} ms worker CPU per source event",
                "not measured" if cpu is None else f"{cpu:.2f} ms",
                None if cpu is None else cpu <= WORKER_CPU_LIMIT_MS,
            )
        )
    eos, alo = _rate(_case(cases, "exactly_once", 1)), _rate(_case(cases, "at_least_once", 1))
    if eos and alo:
        rows.append(
            _row(
                f"x1: exactly_once within {EXACTLY_ONCE_MAX_LOSS:.0%} of at_least_once",
                f"{eos:,} vs {alo:,} events/s = {eos / alo:.0%}",
                eos >= (1 - EXACTLY_ONCE_MAX_LOSS) * alo,
            )
        )
    for case in exactly_once:
        rows += _latency_rows(case)
    for case in exactly_once:
        written = records_per_source(case, "fan_out_backlog")
        overall = records_per_source(case, "fan_out")
        measured = "not measured" if written is None else f"{written:.1f} in the backlog"
        if overall is not None:
            measured += f" ({overall:.1f} over every phase)"
        rows.append(
            _row(
                f"{case['case']}: <= {RECORDS_PER_SOURCE_LIMIT:.0f} records written per "
                "source event",
                measured,
                None if written is None else written <= RECORDS_PER_SOURCE_LIMIT,
            )
        )
    rows.append(_soak_row(results.get("soak")))
    return rows


def _latency_rows(case: dict[str, Any]) -> list[dict[str, Any]]:
    """One-hop p99 and full-saga (visible) p50 of the case's fixed-rate latency phase."""
    fixed = case.get("latency", {}).get("fixed")
    if fixed is None:
        return []
    at = f"at {fixed['offered_rate']:.0f} msg/s"
    rows = []
    for name, key, limit in (
        ("one-hop p99", "one_hop_p99_ms", ONE_HOP_P99_LIMIT_MS),
        ("full-saga p50 (visible)", "visible_p50_ms", FULL_SAGA_P50_LIMIT_MS),
    ):
        value = fixed.get(key)
        rows.append(
            _row(
                f"{case['case']}: {name} <= {limit:.0f} ms {at}",
                "not measured" if value is None else f"{value:,.0f} ms",
                None if value is None else value <= limit,
            )
        )
    return rows


def _soak_row(soak: dict[str, Any] | None) -> dict[str, Any]:
    """RSS of the soak run's worker after 100,000 orders, if the last soak run drained them."""
    target = f"RSS <= {RSS_LIMIT_MB:.0f} MB after {SOAK_ORDERS:,} orders (soak run, 1 worker)"
    if soak is None:
        return _row(target, "not measured (no soak run)", None)
    rss = soak["rss_mb"]["at_end"]
    if soak["orders"] < SOAK_ORDERS or not soak.get("complete") or rss is None:
        return _row(
            target,
            f"not measured (last soak run: {soak['orders']:,} orders, "
            f"{'complete' if soak.get('complete') else 'incomplete'}, RSS {rss} MB)",
            None,
        )
    return _row(target, f"{rss:,.0f} MB ({soak['started_at']})", rss <= RSS_LIMIT_MB)
