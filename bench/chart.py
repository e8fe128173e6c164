"""Draw a run's figures as one PNG: throughput, latency, memory and restore per case."""

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
    for offset, (kind, q, colour) in enumerate(
        [
            ("record", 50, "tab:green"),
            ("record", 95, "tab:olive"),
            ("record", 99, "tab:brown"),
            ("visible", 50, "tab:cyan"),
            ("visible", 95, "tab:blue"),
            ("visible", 99, "tab:purple"),
        ]
    ):
        values = [c["latency"].get(f"{kind}_p{q}_ms") or 0 for c in cases]
        latency.bar(
            [p + (offset - 2.5) * width for p in positions],
            values,
            width,
            label=f"{kind} p{q}",
            color=colour,
        )
    latency.axhline(100, color="tab:red", linestyle="--", label="100 ms target")
    latency.set_title("End-to-end latency at ~half max rate (ms)")
    latency.legend(fontsize=7, ncol=2)

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
