"""Write a run's results: the JSON record, and the markdown tables ``latest.md`` links to.

A soak run (``python -m bench soak``) is written the same way under the name ``soak``;
the benchmark's report renders the latest one as a section of its own.
"""

import json
from pathlib import Path
from typing import Any

from bench.machine import busy


def write_json(results: dict[str, Any], out_dir: Path, kind: str | None = None) -> Path:
    """Save as ``[<kind>-]<started>.json`` and ``<kind or latest>.json``; return the first."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, sort_keys=False) + "\n"
    stamp = results["started_at"].replace(":", "").replace("-", "")
    dated = out_dir / f"{kind}-{stamp}.json" if kind else out_dir / f"{stamp}.json"
    dated.write_text(text)
    (out_dir / f"{kind or 'latest'}.json").write_text(text)
    return dated


def read_latest(out_dir: Path, kind: str) -> dict[str, Any] | None:
    """The latest results of ``kind`` written to ``out_dir`` (None when there are none)."""
    path = out_dir / f"{kind}.json"
    return json.loads(path.read_text()) if path.exists() else None


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


def _commit_round(figures: dict[str, Any]) -> str:
    """The mean commit round, and its steps' means where the run timed them."""
    mean = _fmt(figures.get("commit_round_ms_mean"), 1)
    steps = figures.get("commit_steps_ms_mean")
    if not steps or all(ms is None for ms in steps.values()):
        return mean
    return f"{mean} ({' / '.join(_fmt(ms, 1) for ms in steps.values())})"


PHASES = {"fixed": "fixed", "half_max": "half max"}
"""The latency phases of a case, in run order, as the tables name them."""


def _loads(load: list[float]) -> str:
    """Load averages as ``1.0/2.0/3.0``."""
    return "/".join(f"{v:.1f}" for v in load)


def render_markdown(results: dict[str, Any], *, json_name: str, chart_name: str) -> str:
    """The results as markdown: machine, tables of cases, ceilings, sweep, soak, targets."""
    machine = results["machine"]
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
    if machine["kafka"] != "external":
        lines += _warm_up(results.get("broker_warm_up"))
    lines += _own_cores(results["cases"])
    lines += _throughput_table(results)
    lines += _latency_table(results["cases"])
    lines += _slowest_hops(results["cases"])
    lines += _cost_table(results["cases"])
    lines += _notes()
    lines += _ceilings(results["ceilings"])
    if results.get("commit_sweep"):
        lines += _sweep_table(results["commit_sweep"])
    if results.get("soak"):
        lines += render_soak(results["soak"], level=2)
    lines += ["## Targets (issue #12)", "", "| target | measured | met |", "|---|---|---|"]
    for row in results["targets"]:
        met = "not measured" if row["met"] is None else "yes" if row["met"] else "no"
        lines.append(f"| {row['target']} | {row['measured']} | {met} |")
    lines += [
        "",
        f"Load average at start {results['machine']['load_average_at_start']}, at end "
        f"{results['load_average_end']}.",
        "",
    ]
    return "\n".join(lines)


def _warm_up(warm_up: dict[str, Any] | None) -> list[str]:
    """How the bench's own broker was warmed up before the measured cases, if it was."""
    if not warm_up:
        return [
            "The broker was measured as started (no warm-up case): its JIT compiler may "
            "still take a share of a core in the first case (`broker_jit` below).",
            "",
        ]
    quiet = "quiet" if warm_up["quiet"] else "still busy"
    return [
        f"**Broker warmed up** by an uncounted exactly-once case of {warm_up['orders']:,} "
        f"orders ({warm_up['seconds']:.0f} s); its JIT compiler used "
        f"{_fmt(warm_up['jit_cpu_seconds'], 1)} CPU s meanwhile and was then {quiet} "
        f"({_percent(warm_up['jit_share_last_window'])} of a core).",
        "",
    ]


def _own_cores(cases: list[dict[str, Any]]) -> list[str]:
    """Which cases ran their workers on cores of their own, and on which."""
    lines = [
        f"**Workers on cores of their own** in {case['case']}: worker cores "
        f"{case['own_cores']['workers']}, the broker and the bench on "
        f"{case['own_cores']['broker_and_bench']} (`--own-cores`)."
        for case in cases
        if case.get("own_cores")
    ]
    return [line for own in lines for line in (own, "")]


def _throughput_table(results: dict[str, Any]) -> list[str]:
    """Rate, memory, restore and correctness per case."""
    ceiling = results["ceilings"]["transactional"]["messages_per_second"]
    lines = [
        "| case | source events/s | agent inputs/s | vs txn ceiling "
        "| RSS MB end (100k est.) | restore keys/s (MB/s) | invariants | load avg |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for case in results["cases"]:
        throughput, rss = case["throughput"], case["rss_mb"]
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
        lines.append(
            f"| {case['case']} | {_fmt(rate)} | {_fmt(throughput['agent_inputs_per_second'])} "
            f"| {share} | {rss_text} | {restore_text} "
            f"| {'ok' if case['verified']['ok'] else 'VIOLATED'} "
            f"| {_loads(case['load_average_throughput'])} |"
        )
    return [*lines, ""]


def _latency_table(cases: list[dict[str, Any]]) -> list[str]:
    """One row per case and latency phase: one hop and full saga, record and visible."""
    lines = [
        "| case | offered msg/s (sent) | one-hop p50/p95/p99 ms "
        "| one-hop to sent, then to seen: p50/p95/p99 ms "
        "| full saga record p50/p95/p99 ms | full saga visible p50/p95/p99 ms "
        "| mean commit round ms (units / changes / transactions / stores) "
        "| event loop lag mean ms | markers seen mean ms "
        "| orders (untraced) | inputs timed (no output) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        for phase, label in PHASES.items():
            latency = case["latency"].get(phase)
            if latency is None:
                continue
            lines.append(
                f"| {case['case']} | {_fmt(latency['offered_rate'])} "
                f"({_fmt(latency['achieved_send_rate'])}), {label} "
                f"| {_triple(latency, 'one_hop')} "
                f"| {_triple(latency, 'one_hop_sent')}, {_triple(latency, 'one_hop_committed')} "
                f"| {_triple(latency, 'record')} | {_triple(latency, 'visible')} "
                f"| {_commit_round(latency)} | {_fmt(latency.get('loop_lag_ms_mean'), 1)} "
                f"| {_fmt(latency.get('markers_seen_ms_mean'), 1)} "
                f"| {_fmt(latency['samples'])} ({_fmt(latency['untraced'])}) "
                f"| {_fmt(latency.get('one_hop_samples'))} "
                f"({_fmt(latency.get('one_hop_without_output'))}) |"
            )
    return [*lines, ""]


def _slowest_hops(cases: list[dict[str, Any]]) -> list[str]:
    """Per case and phase, the slowest 1 % of one hops: when each input was sent, and ms."""
    lines = []
    for case in cases:
        for phase, label in PHASES.items():
            latency = case["latency"].get(phase) or {}
            slowest = latency.get("one_hop_slowest")
            if slowest:
                hops = ", ".join(f"{hop['at_s']:.1f} s ({hop['ms']:.0f})" for hop in slowest)
                collections = latency.get("full_gc_pauses")
                gc_note = "" if collections is None else f"; full collections: {collections:.0f}"
                cpu_note = _phase_load(latency)
                lines.append(f"- {case['case']}, {label}: {hops}{gc_note}{cpu_note}")
    if not lines:
        return []
    intro = "Slowest 1 % of one hops (input sent, seconds into the phase, and its ms):"
    return [intro, "", *lines, ""]


def _phase_load(latency: dict[str, Any]) -> str:
    """The phase's commits per second and CPU as shares of a core: who ran beside the workers."""
    shares = latency.get("core_shares")
    if not shares:
        return ""
    return (
        f"; {_fmt(latency.get('commits_per_second'), 1)} commits/s"
        f"; CPU in the phase: each worker {_percent(shares.get('workers'))} of a core"
        f" (its event loop waiting for a core {_percent(shares.get('workers_waiting'))}),"
        f" broker {_percent(shares.get('broker'))}"
        f" (its JIT compiler {_percent(shares.get('broker_jit'))}),"
        f" bench {_percent(shares.get('bench'))}"
    )


def _cost_table(cases: list[dict[str, Any]]) -> list[str]:
    """CPU, commits, records written, start-up and restarts per case."""
    lines = [
        "| case | source events/s until all agents idle | worker CPU ms / source event "
        "| worker CPU busy | broker CPU ms / source event | commits/s (source events / commit) "
        "| mean commit round ms (units / changes / transactions / stores) "
        "| records written / source message, backlog (all phases) | start-up s "
        "| restart to ready s | crash restarts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        throughput = case["throughput"]
        restore = case.get("restore") or {}
        lines.append(
            f"| {case['case']} | {_fmt(throughput.get('source_events_per_second_drained'))} "
            f"| {_fmt(throughput.get('worker_cpu_ms_per_source_event'), 2)} "
            f"| {_percent(throughput.get('worker_cpu_utilisation'))} "
            f"| {_fmt(throughput.get('broker_cpu_ms_per_source_event'), 2)} "
            f"| {_fmt(throughput.get('commits_per_second'), 1)} "
            f"({_fmt(throughput.get('source_events_per_commit'), 1)}) "
            f"| {_commit_round(throughput)} "
            f"| {_fmt(records_per_source(case, 'fan_out_backlog'), 1)} "
            f"({_fmt(records_per_source(case, 'fan_out'), 1)}) "
            f"| {_fmt(case['startup_seconds'], 1)} | {_fmt(restore.get('seconds_to_ready'), 1)} "
            f"| {case['crash_restarts']} |"
        )
    return [*lines, ""]


def records_per_source(case: dict[str, Any], phases: str) -> float | None:
    """Records written per source message over the backlog or every phase (None: not measured)."""
    written: float | None = case.get(phases, {}).get("records_per_source_message")
    return written


def _notes() -> list[str]:
    """What each figure of the case tables means."""
    return [
        "- **source events/s**: messages on `orders`, `payments` and `inventory` (including the "
        "5% duplicates and 2% malformed) per second, from the first derived record to the last "
        "order's terminal event as seen by a read_committed consumer: only inputs whose outputs "
        "are committed count. **agent inputs/s** adds the internal hops every order takes "
        "(`inventory-commands`, `inventory-results`, and `order-events`).",
        "- **latency** is measured twice per case on new orders after the backlog: offered at a "
        "**fixed** 50 msg/s, then at **half max** (half the rate until all agents were idle); "
        "*sent* is the rate the load generator achieved. Records are linked by event id and "
        "`causation_id`; every time starts at an input's record timestamp (set when it was "
        "sent).",
        "- **one-hop**: per distinct valid source event, until a read_committed consumer "
        "received the first derived record it caused (one agent, one transaction commit). "
        "*Inputs timed (no output)*: source events with such a record, and those that caused "
        "none by themselves (stock deliveries, payments that wait for stock). A duplicate "
        "counts once, from its first send; malformed messages are not events (they are "
        "dead-lettered) and are not counted. *To sent, then to seen* splits each one hop at "
        "the derived record's timestamp (set when the worker sent it): fetching and "
        "processing the input, then the commit and the read_committed fetch.",
        "- **full saga**: per decided order, from the *last input the order needed* (its "
        "`OrderPlaced`, plus its first `PaymentAuthorized` for a confirmation, its "
        "`PaymentDeclined` or mismatching payment for a payment rejection, its cancellation "
        "request for a cancellation) to its terminal event: **record** to the terminal event's "
        "record timestamp (its commit wait *excluded*), **visible** to when a read_committed "
        "consumer received it (every commit on the way *included*: what a downstream service "
        "sees). *Untraced*: terminal events whose cause was not seen (0 expected).",
        "- **RSS**: VmRSS per worker at the end of the case; in brackets a linear "
        "extrapolation to 100,000 orders from the growth per order during the latency phases "
        "(after the backlog, when start-up allocations have settled). The soak run below "
        "measures 100,000 orders for real.",
        "- **CPU**: user+system CPU seconds (`/proc/<pid>/stat`) of all workers, and of the "
        "broker when the run started its own, from ready until every agent caught up, per "
        "source message. **worker CPU busy** is that CPU over the wall time per worker "
        "(100% = one core each): well below 100% on a loaded machine means the workers "
        "waited for a core (or for the broker), not that they had nothing to do.",
        "- **commits/s**: Kafka transactions the workers committed (their "
        "`es_transactions_committed` counter, read from `/metrics` before and after) over the "
        "same span as the CPU; one per transactional producer (source partition) and commit. "
        "At-least-once commits no transactions (0).",
        "- **mean commit round**: how long a worker's gate stays closed per commit (units in "
        "flight finish, records settle, every producer's transaction commits), from the "
        "`es_commit_round_seconds` histogram over the same span (in the latency table: over "
        "that phase). An input that arrives during a round waits for it, and its own effects "
        "become visible only after the next one. In brackets, each step's mean "
        "(`es_commit_step_seconds`): *units* waiting for the units of work in flight (the "
        "gate is closing, not yet closed), *changes* sending the cached table changes, "
        "*transactions* offsets, acknowledgements and EndTxn, *stores* the RocksDB writes.",
        "- **event loop lag**: how much later than asked a worker's event loop woke a task "
        "that sleeps 50 ms at a time (`es_event_loop_lag_seconds`), over the latency phase. "
        "Each broker reply of a commit round waits about this long for the loop as well.",
        "- **markers seen**: how long after a commit's answer a marker of it had been read in "
        "every partition it wrote (`es_commit_markers_seen_seconds`, `confirmed-commits`), "
        "over the latency phase: the producer's next transaction reaches its coordinator no "
        "sooner. Empty where the repair is off or no commit was confirmed.",
        "- **records written / source message**: every record in the output topics and table "
        "changelogs once the backlog drained, over its source messages; in brackets at the "
        "end of the case, over every source message sent (the latency phases too, whose "
        "transactions hold one or two events each, so no change of a key is written once "
        "for several). The target counts the backlog, the work it was set for.",
        "- **restore**: workers stopped, datadirs deleted, restarted; live changelog keys (and "
        "MB of keys and values read) over the seconds the workers' restorers log for their "
        "passes (`restored N records into ... in S s`). The seconds from process start to "
        "`/ready` are in the cost table.",
        "",
    ]


def _ceilings(ceilings: dict[str, Any]) -> list[str]:
    """The producer and transactional-loop ceilings."""
    producer, transactional = ceilings["producer"], ceilings["transactional"]
    return [
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


def _sweep_table(rows: list[dict[str, Any]]) -> list[str]:
    """Exactly-once with one worker at other commit intervals."""
    lines = [
        "## Commit interval under exactly-once (1 worker)",
        "",
        "| ES_COMMIT_INTERVAL_SECONDS | orders | source events/s | until idle "
        "| worker CPU ms / event | commits/s | one-hop p50/p95/p99 ms, fixed "
        "| full saga visible p50/p95/p99 ms, fixed | half max msg/s "
        "| full saga visible p50/p95/p99 ms, half max | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        throughput = row["throughput"]
        fixed, half = row["latency"].get("fixed", {}), row["latency"].get("half_max", {})
        lines.append(
            f"| {row['commit_interval_seconds']} "
            f"| {_fmt(row.get('orders'))} "
            f"| {_fmt(throughput['source_events_per_second'])} "
            f"| {_fmt(throughput.get('source_events_per_second_drained'))} "
            f"| {_fmt(throughput.get('worker_cpu_ms_per_source_event'), 2)} "
            f"| {_fmt(throughput.get('commits_per_second'), 1)} "
            f"| {_triple(fixed, 'one_hop')} | {_triple(fixed, 'visible')} "
            f"| {_fmt(half.get('offered_rate'))} | {_triple(half, 'visible')} "
            f"| {_loads(row['load_average_throughput'])} |"
        )
    return [*lines, ""]


def render_soak(soak: dict[str, Any], level: int = 1) -> list[str]:
    """The soak run as a markdown section (a document of its own at ``level`` 1)."""
    rss, recovery = soak["rss_mb"], soak["recovery"]
    heading = "#" * level
    lines = [
        f"{heading} Soak: {soak['orders']:,} orders through one exactly-once worker",
        "",
        f"Run {soak['started_at']} ({soak['duration_seconds'] / 60:.1f} min), commit "
        f"`{soak['machine']['git_commit']}`, {soak['machine']['cpu_count']} cores, load average "
        f"at start {soak['machine']['load_average_at_start']}, at end {soak['load_average_end']}.",
        "",
        "| orders | source messages | all decided | source events/s | worker CPU ms / event "
        "| RSS MB ready / end / after recovery | kill -9 to ready s | kill -9 to caught up s "
        "| changelog reading s | crash restarts |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| {soak['orders']:,} | {_fmt(soak.get('messages'))} "
        f"| {'yes' if soak.get('complete') else 'NO'}, "
        f"{_fmt(soak.get('seconds_to_all_decided'))} s "
        f"| {_fmt(soak.get('source_events_per_second'))} "
        f"| {_fmt(soak.get('worker_cpu_ms_per_source_event'), 2)} "
        f"| {_fmt(rss['at_ready'])} / {_fmt(rss['at_end'])} / {_fmt(rss['after_recovery'])} "
        f"| {_fmt(recovery['seconds_to_ready'], 1)} | {_fmt(recovery['seconds_to_caught_up'], 1)} "
        f"| {_fmt(recovery['seconds_reading_changelogs'], 1)} | {soak['crash_restarts']} |",
        "",
        "RSS while the backlog drained (orders decided: MB): "
        + ", ".join(
            f"{_fmt(s['orders_decided'])}: {_fmt(s['rss_mb'])}" for s in _spread(rss["samples"])
        )
        + ".",
        "",
        "- The whole backlog is sent at once; **source events/s** runs from the worker being "
        "ready until every agent caught up. **RSS end** is the worker's VmRSS then: measured, "
        "not extrapolated.",
        "- The worker is then killed with SIGKILL and started again on the same datadir: "
        "**kill -9 to ready** until its `/ready` answers 200 (this includes up to the "
        "session timeout, 10 s by default, for the group to drop the dead member), **to "
        "caught up** until the group's committed offsets settled at the topics' ends again, "
        "polled from ready on. **changelog reading**: the restorer's logged passes after the "
        "restart.",
        "",
    ]
    return lines


def _spread(samples: list[dict[str, Any]], most: int = 10) -> list[dict[str, Any]]:
    """At most ``most`` samples, evenly spread, always with the last one."""
    if len(samples) <= most:
        return samples
    step = (len(samples) - 1) / (most - 1)
    return [samples[round(i * step)] for i in range(most)]
