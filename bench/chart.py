"""Draw a run's figures as one PNG: throughput, latency, memory and restore per case."""

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def draw(results: dict[str, Any], path: Path) -> Path:
    """Four panels comparing the cases, with the ceilings as reference lines."""
    cases = results["cases"]
    names = [c["case"].replace("_", "-") for c in cases]
    positions = range(len(cases))
    figure, axes = plt.subplots(2, 2, figsize=(12, 8))
    throughput, latency, memory, restore = axes.flat

    rates = [c["throughput"]["source_events_per_second"] for c in cases]
    throughput.bar(positions, rates, color="tab:blue")
    ceiling = results["ceilings"]["transactional"]["messages_per_second"]
    if ceiling:
        throughput.axhline(ceiling, color="tab:red", linestyle="--", label="txn ceiling (1 proc)")
        throughput.axhline(ceiling / 2, color="tab:red", linestyle=":", label="50% of ceiling")
    throughput.set_title("Source events/s (outputs committed)")
    throughput.set_yscale("log")
    throughput.legend(fontsize=8)

    width = 0.12
    bars = [
        ("fixed", "one_hop", 99, "tab:green"),
        ("fixed", "visible", 50, "tab:cyan"),
        ("fixed", "visible", 99, "tab:blue"),
        ("half_max", "one_hop", 99, "tab:olive"),
        ("half_max", "visible", 50, "tab:pink"),
        ("half_max", "visible", 99, "tab:purple"),
    ]
    for offset, (phase, kind, q, colour) in enumerate(bars):
        values = [(c["latency"].get(phase) or {}).get(f"{kind}_p{q}_ms") or math.nan for c in cases]
        name = "one-hop" if kind == "one_hop" else "full saga"
        latency.bar(
            [p + (offset - 2.5) * width for p in positions],
            values,
            width,
            label=f"{name} p{q}, {'50 msg/s' if phase == 'fixed' else 'half max'}",
            color=colour,
        )
    latency.axhline(100, color="tab:red", linestyle="--", label="one-hop p99 target")
    latency.axhline(150, color="tab:red", linestyle=":", label="full-saga p50 target")
    latency.set_title("Latency, read_committed visible (ms)")
    latency.set_yscale("log")
    latency.legend(fontsize=6, ncol=2)

    for index, case in enumerate(cases):
        rss = case["rss_mb"]["at_end"]
        memory.scatter([index] * len(rss), rss, color="tab:blue", label="end" if not index else "")
        projected = case["rss_mb"]["extrapolated_100k_orders"]
        memory.scatter(
            [index] * len(projected),
            projected,
            color="tab:orange",
            marker="x",
            label="100k orders (extrapolated)" if not index else "",
        )
    soak = results.get("soak")
    if soak and soak["rss_mb"]["at_end"] is not None:
        memory.axhline(
            soak["rss_mb"]["at_end"],
            color="tab:green",
            linestyle="-.",
            label=f"soak: {soak['orders']:,} orders, 1 worker",
        )
    memory.axhline(300, color="tab:red", linestyle="--", label="300 MB target")
    memory.set_title("RSS per worker (MB)")
    memory.legend(fontsize=8)

    restore_rates = [(c.get("restore") or {}).get("keys_per_second") or 0 for c in cases]
    restore.bar(positions, restore_rates, color="tab:green")
    restore.set_title("Table restore from changelogs (keys/s)")

    for axis in axes.flat:
        axis.set_xticks(list(positions))
        axis.set_xticklabels(names, rotation=15, fontsize=8)
    load = results["load_average_end"]
    figure.suptitle(
        f"ecommerce-streams bench {results['started_at']} — {results['machine']['cpu_count']} "
        f"cores, load avg at end {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
