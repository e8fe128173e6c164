"""Write a run's results: the JSON record, and the markdown table ``latest.md`` links to."""

import json
from pathlib import Path
from typing import Any

from bench.machine import busy


def write_json(results: dict[str, Any], out_dir: Path) -> Path:
    """Save the run as ``<started>.json`` and as ``latest.json``; return the dated file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, sort_keys=False) + "\n"
    dated = out_dir / f"{results['started_at'].replace(':', '').replace('-', '')}.json"
    dated.write_text(text)
    (out_dir / "latest.json").write_text(text)
    return dated


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _triple(latency: dict[str, Any], kind: str) -> str:
    return " / ".join(_fmt(latency.get(f"{kind}_p{q}_ms")) for q in (50, 95, 99))


def render_markdown(results: dict[str, Any], *, json_name: str, chart_name: str) -> str:
    """The results as markdown: machine, table of cases, ceilings, sweep, targets."""
    machine = results["machine"]
    ceilings = results["ceilings"]
    ceiling = ceilings["transactional"]["messages_per_second"]
    loads = [results["machine"]["load_average_at_start"], results["load_average_end"]]
    shared = any(busy(load, machine["cpu_count"]) for load in loads) or any(
        busy(c["load_average_throughput"], machine["cpu_count"]) for c in results["cases"]
    )
    lines = [
        "# Benchmark results",
        "",
        f"Run {results['started_at']} ({results['plan_name']} plan, "
        f"{results['duration_seconds'] / 60:.1f} min), commit `{machine['git_commit']}`. "
        f"Raw figures: [`{json_name}`]({json_name}); chart: [`{chart_name}`]({chart_name}).",
        "",
        f"Machine: {machine['cpu_count']} x {machine['cpu_model']}, {machine['ram_gb']} GB RAM; "
        f"Python {machine['python']}, faust-streaming {machine['faust_streaming']}, "
        f"aiokafka {machine['aiokafka']}, Kafka {machine['kafka']} (embedded, single node, "
        "on the same machine as the workers and the load generator).",
        "",
    ]
    if shared:
        lines += [
            "**Taken on a shared, busy machine**: other engineers' tests, brokers and workers "
            "ran at the same time (load averages below, 1/5/15 min, on "
            f"{machine['cpu_count']} cores). Treat the figures as a lower bound and compare "
            "rows of the same run rather than runs.",
            "",
        ]
    lines += [
        "| case | source events/s | agent inputs/s | vs txn ceiling "
        "| latency record p50/p95/p99 ms | latency visible p50/p95/p99 ms | offered msg/s "
        "| RSS MB end (100k est.) "
        "| restore keys/s (MB/s) | invariants | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for case in results["cases"]:
        throughput, latency = case["throughput"], case["latency"]
        rss = case["rss_mb"]
        restore = case.get("restore") or {}
        rate = throughput["source_events_per_second"]
        share = f"{rate / ceiling:.0%}" if ceiling else "n/a"
        rss_text = ", ".join(
            f"{_fmt(end)} ({_fmt(est)})"
            for end, est in zip(rss["at_end"], rss["extrapolated_100k_orders"], strict=True)
        )
        restore_text = (
            f"{_fmt(restore['keys_per_second'])} ({_fmt(restore['megabytes_per_second'], 2)})"
            if restore
            else "n/a"
        )
        load = "/".join(f"{v:.1f}" for v in case["load_average_throughput"])
        lines.append(
            f"| {case['case']} | {_fmt(rate)} | {_fmt(throughput['agent_inputs_per_second'])} "
            f"| {share} | {_triple(latency, 'record')} | {_triple(latency, 'visible')} "
            f"| {_fmt(latency['offered_rate'])} | {rss_text} | {restore_text} "
            f"| {'ok' if case['verified']['ok'] else 'VIOLATED'} | {load} |"
        )
    lines += [
        "",
        "| case | source events/s until all agents idle | worker CPU ms / source event "
        "| worker CPU busy | broker CPU ms / source event | records written / source message "
        "| start-up s | restart to ready s | crash restarts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in results["cases"]:
        throughput = case["throughput"]
        restore = case.get("restore") or {}
        lines.append(
            f"| {case['case']} | {_fmt(throughput.get('source_events_per_second_drained'))} "
            f"| {_fmt(throughput.get('worker_cpu_ms_per_source_event'), 2)} "
            f"| {_percent(throughput.get('worker_cpu_utilisation'))} "
            f"| {_fmt(throughput.get('broker_cpu_ms_per_source_event'), 2)} "
            f"| {_fmt(case.get('fan_out', {}).get('records_per_source_message'), 1)} "
            f"| {_fmt(case['startup_seconds'], 1)} | {_fmt(restore.get('seconds_to_ready'), 1)} "
            f"| {case['crash_restarts']} |"
        )
    producer, transactional = ceilings["producer"], ceilings["transactional"]
    lines += [
        "",
        "- **source events/s**: messages on `orders`, `payments` and `inventory` (including the "
        "5% duplicates and 2% malformed) per second, from the first derived record to the last "
        "order's terminal event as seen by a read_committed consumer: only inputs whose outputs "
        "are committed count. **agent inputs/s** adds the internal hops every order takes "
        "(`inventory-commands`, `inventory-results`, and `order-events` read by two agents).",
        "- **latency record**: terminal event's record timestamp - causing input's record "
        "timestamp (both set at send time, so the transaction commit wait is *excluded*). "
        "**latency visible**: when a read_committed consumer received the terminal event - the "
        "input's record timestamp (commit wait *included*: what a downstream service sees).",
        "- **RSS**: VmRSS per worker at the end of the case; in brackets a linear "
        "extrapolation to 100,000 orders from the growth per order during the latency phase "
        "(after the backlog, when start-up allocations have settled). No 100k-order run fits "
        "in the time budget.",
        "- **CPU**: user+system CPU seconds (`/proc/<pid>/stat`) of all workers, and of the "
        "broker when the run started its own, from ready until every agent caught up, per "
        "source message. **worker CPU busy** is that CPU over the wall time per worker "
        "(100% = one core each): well below 100% on a loaded machine means the workers "
        "waited for a core (or for the broker), not that they had nothing to do.",
        "- **restore**: workers stopped, datadirs deleted, restarted; live changelog keys (and "
        "MB of keys and values read) over the seconds the workers' restorers log for their "
        "passes (`restored N records into ... in S s`). The seconds from process start to "
        "`/ready` are in the second table.",
        "",
        "## Ceilings (same messages, no Faust)",
        "",
        "| measure | messages | messages/s | MB/s | notes |",
        "|---|---:|---:|---:|---|",
        f"| aiokafka producer, acks=all, idempotent | {_fmt(producer['messages'])} "
        f"| {_fmt(producer['messages_per_second'])} | {_fmt(producer['megabytes_per_second'], 2)} "
        f"| mean {producer['mean_message_bytes']} B per message |",
        f"| transactional consume→transform→produce, 1 process | "
        f"{_fmt(transactional['messages'])} | {_fmt(transactional['messages_per_second'])} | "
        f"| {transactional['transactions']} transactions (one per fetched batch) |",
        "",
    ]
    if results.get("commit_sweep"):
        lines += [
            "## Commit interval under exactly-once (1 worker)",
            "",
            "| ES_COMMIT_INTERVAL_SECONDS | orders | source events/s | until idle "
            "| worker CPU ms / event | offered msg/s | latency record p50/p95/p99 ms "
            "| latency visible p50/p95/p99 ms | load avg |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for row in results["commit_sweep"]:
            load = "/".join(f"{v:.1f}" for v in row["load_average_throughput"])
            throughput = row["throughput"]
            lines.append(
                f"| {row['commit_interval_seconds']} "
                f"| {_fmt(row.get('orders'))} "
                f"| {_fmt(throughput['source_events_per_second'])} "
                f"| {_fmt(throughput.get('source_events_per_second_drained'))} "
                f"| {_fmt(throughput.get('worker_cpu_ms_per_source_event'), 2)} "
                f"| {_fmt(row['latency']['offered_rate'])} "
                f"| {_triple(row['latency'], 'record')} | {_triple(row['latency'], 'visible')} "
                f"| {load} |"
            )
        lines.append("")
    lines += ["## Targets (issue #7)", "", "| target | measured | met |", "|---|---|---|"]
    for row in results["targets"]:
        lines.append(f"| {row['target']} | {row['measured']} | {'yes' if row['met'] else 'no'} |")
    lines += [
        "",
        f"Load average at start {results['machine']['load_average_at_start']}, at end "
        f"{results['load_average_end']}.",
        "",
    ]
    return "\n".join(lines)
