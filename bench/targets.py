"""The targets of issue #7, checked against a run's figures (reported, never asserted)."""

from typing import Any

CEILING_SHARE = 0.5
EXACTLY_ONCE_MAX_LOSS = 0.3
P99_LIMIT_MS = 100.0
RSS_LIMIT_MB = 300.0


def _case(cases: list[dict[str, Any]], guarantee: str, workers: int) -> dict[str, Any] | None:
    return next((c for c in cases if c["guarantee"] == guarantee and c["workers"] == workers), None)


def _rate(case: dict[str, Any] | None) -> float | None:
    return case["throughput"]["source_events_per_second"] if case else None


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: what was asked, what was measured, met or not."""
    cases = results["cases"]
    ceiling = results["ceilings"]["transactional"]["messages_per_second"]
    rows: list[dict[str, Any]] = []
    for guarantee in ("exactly_once", "at_least_once"):
        rate = _rate(_case(cases, guarantee, 1))
        if rate is not None and ceiling:
            share = rate / ceiling
            rows.append(
                {
                    "target": f"{guarantee} x1 >= {CEILING_SHARE:.0%} of the transactional "
                    "ceiling (source events/s)",
                    "measured": f"{rate:,} / {ceiling:,} = {share:.1%}",
                    "met": share >= CEILING_SHARE,
                }
            )
    for workers in sorted({c["workers"] for c in cases}):
        eos = _rate(_case(cases, "exactly_once", workers))
        alo = _rate(_case(cases, "at_least_once", workers))
        if eos and alo:
            rows.append(
                {
                    "target": f"x{workers}: exactly_once within {EXACTLY_ONCE_MAX_LOSS:.0%} of "
                    "at_least_once",
                    "measured": f"{eos:,} vs {alo:,} events/s = {eos / alo:.0%}",
                    "met": eos >= (1 - EXACTLY_ONCE_MAX_LOSS) * alo,
                }
            )
    for case in cases:
        if case["guarantee"] != "exactly_once":
            continue
        latency = case["latency"]
        for kind in ("record", "visible"):
            p99 = latency.get(f"{kind}_p99_ms")
            if p99 is not None:
                rows.append(
                    {
                        "target": f"{case['case']}: {kind} p99 <= {P99_LIMIT_MS:.0f} ms at "
                        f"{latency['offered_rate']:.0f} msg/s (about half max)",
                        "measured": f"{p99:,.0f} ms",
                        "met": p99 <= P99_LIMIT_MS,
                    }
                )
    for case in cases:
        projected = [v for v in case["rss_mb"]["extrapolated_100k_orders"] if v is not None]
        if projected:
            worst = max(projected)
            rows.append(
                {
                    "target": f"{case['case']}: RSS <= {RSS_LIMIT_MB:.0f} MB per worker after "
                    "100,000 orders (extrapolated)",
                    "measured": f"{worst:,.0f} MB",
                    "met": worst <= RSS_LIMIT_MB,
                }
            )
    return rows
