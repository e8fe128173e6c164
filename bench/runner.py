"""Whole runs: the benchmark (broker, ceilings, pipeline cases) and the soak; their files."""

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bench.ceiling import measure_ceilings
from bench.chart import draw
from bench.machine import load_average, machine_info
from bench.pipeline import Case, run_case
from bench.plan import Plan
from bench.report import read_latest, render_markdown, render_soak, write_json
from bench.soak import Soak, run_soak
from bench.targets import evaluate
from bench.warm_up import warm_up_broker, warm_up_case
from ecommerce_streams.harness.kafka import EmbeddedKafka, free_port
from ecommerce_streams.harness.kafka.cluster import EmbeddedCluster
from ecommerce_streams.harness.kafka.environment import default_home
from ecommerce_streams.harness.kafka.ports import free_port_block
from ecommerce_streams.harness.kafka.versions import kafka_version_from_env
from ecommerce_streams.harness.load import LoadProfile, generate

RESULTS = Path(__file__).resolve().parent / "results"
T = TypeVar("T")


async def with_broker(
    bootstrap: str | None,
    work: Callable[[str, int | None], Awaitable[T]],
    say: Callable[[str], None] = print,
    brokers: int = 1,
) -> T:
    """Run ``work(bootstrap, broker pid)`` on the given broker (pid None), or on our own:
    one broker, or a cluster of ``brokers`` nodes (pid None)."""
    if bootstrap is not None:
        return await work(bootstrap, None)
    home = Path(tempfile.mkdtemp(prefix="ecommerce-streams-bench-kafka-"))
    if brokers > 1:
        base = free_port_block(2 * brokers)
        cluster = EmbeddedCluster(
            home,
            size=brokers,
            port=base,
            controller_port=base + 1,
            dist_dir=default_home() / "dist",
        )
        say(f"starting a Kafka cluster of {brokers} nodes in {home}")
        started = await asyncio.to_thread(cluster.start, 240)
        try:
            return await work(started, None)
        finally:
            await asyncio.to_thread(cluster.stop)
            shutil.rmtree(home, ignore_errors=True)
    kafka = EmbeddedKafka(
        port=free_port(), controller_port=free_port(), home=home, dist_dir=default_home() / "dist"
    )
    say(f"starting Kafka {kafka.version} in {home}")
    started = await asyncio.to_thread(kafka.start, timeout=180)
    try:
        return await work(started, kafka.status()["pid"])
    finally:
        await asyncio.to_thread(kafka.stop)
        shutil.rmtree(home, ignore_errors=True)


async def run_benchmark(
    plan: Plan,
    plan_name: str,
    *,
    out_dir: Path = RESULTS,
    bootstrap: str | None = None,
    say: Callable[[str], None] = print,
    brokers: int = 1,
) -> dict[str, Any]:
    """Run the ceilings and every case of the plan, then write the results files."""
    began = time.monotonic()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "plan_name": plan_name,
        "plan": asdict(plan),
        "machine": machine_info(kafka_version_from_env() if bootstrap is None else "external"),
    }
    say(f"machine: {results['machine']}")

    partial = out_dir / "partial.json"

    def checkpoint() -> None:
        """Keep what is measured so far, should a later case fail."""
        out_dir.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(results, indent=2) + "\n")

    async def measure(broker: str, broker_pid: int | None) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="ecommerce-streams-bench-"))
        await _measure(broker, broker_pid, workdir, plan, results, say, checkpoint)
        shutil.rmtree(workdir, ignore_errors=True)  # kept with the worker logs on failure

    results["brokers"] = brokers
    await with_broker(bootstrap, measure, say, brokers)
    results["load_average_end"] = load_average()
    results["duration_seconds"] = round(time.monotonic() - began, 1)
    soak = read_latest(out_dir, "soak")
    if soak is not None:
        results["soak"] = soak
    results["targets"] = evaluate(results)
    _write(results, out_dir)
    partial.unlink(missing_ok=True)
    return results


async def _measure(
    bootstrap: str,
    broker_pid: int | None,
    workdir: Path,
    plan: Plan,
    results: dict[str, Any],
    say: Callable[[str], None],
    checkpoint: Callable[[], None],
) -> None:
    messages = list(generate(LoadProfile(orders=plan.orders, seed=plan.seed)))
    say(f"ceilings over {len(messages):,} messages x {plan.ceiling_passes}")
    results["ceilings"] = await measure_ceilings(
        bootstrap, messages, partitions=plan.partitions, passes=plan.ceiling_passes
    )
    results["ceilings"]["load_average"] = load_average()
    say(f"ceilings: {results['ceilings']}")
    if broker_pid is not None and plan.warm_up:
        warm_up = warm_up_case(plan.orders, plan.latency_seconds, plan.partitions, dict(plan.env))
        results["broker_warm_up"] = await warm_up_broker(
            bootstrap, broker_pid, workdir / "warm-up", warm_up, say
        )
    results["cases"] = []
    for guarantee, workers in plan.cases:
        case = Case(
            guarantee=guarantee,
            workers=workers,
            orders=plan.orders,
            latency_seconds=plan.latency_seconds,
            partitions=plan.partitions,
            seed=plan.seed,
            extra_env=dict(plan.env),
            routing_rules=plan.routing_rules,
            own_cores=plan.own_cores,
        )
        say(f"case {case.name}")
        results["cases"].append(
            await run_case(bootstrap, workdir / case.name.replace(" ", "-"), case, say, broker_pid)
        )
        checkpoint()
    results["commit_sweep"] = []
    baseline = next((c for c in results["cases"] if c["case"] == "exactly_once x1"), None)
    rate = baseline["latency"]["half_max"]["offered_rate"] if baseline else None
    for row in _commit_sweep(bootstrap, broker_pid, workdir, plan, say, rate):
        results["commit_sweep"].append(await row)
        checkpoint()


def _commit_sweep(
    bootstrap: str,
    broker_pid: int | None,
    workdir: Path,
    plan: Plan,
    say: Callable[[str], None],
    offered_rate: float | None,
) -> Iterator[Awaitable[dict[str, Any]]]:
    """Exactly-once, one worker, at other commit intervals (no restore): the trade-off.

    Latency is measured at the fixed rate and at the half-max rate offered to
    ``exactly_once x1`` (the 0.5 s default), so the rows compare at the same loads.
    """
    for interval in plan.commit_intervals:
        case = Case(
            guarantee="exactly_once",
            workers=1,
            orders=plan.commit_sweep_orders,
            latency_seconds=plan.latency_seconds / 2,
            partitions=plan.partitions,
            seed=plan.seed,
            extra_env={**dict(plan.env), "ES_COMMIT_INTERVAL_SECONDS": str(interval)},
            restore=False,
            offered_rate=offered_rate,
        )
        yield _sweep_row(bootstrap, broker_pid, workdir / f"commit-{interval}", case, say)


async def _sweep_row(
    bootstrap: str,
    broker_pid: int | None,
    workdir: Path,
    case: Case,
    say: Callable[[str], None],
) -> dict[str, Any]:
    interval = float(case.extra_env["ES_COMMIT_INTERVAL_SECONDS"])
    say(f"commit sweep: ES_COMMIT_INTERVAL_SECONDS={interval}")
    row = await run_case(bootstrap, workdir, case, say, broker_pid)
    row["commit_interval_seconds"] = interval
    return row


def _write(results: dict[str, Any], out_dir: Path) -> None:
    dated = write_json(results, out_dir)
    chart = draw(results, out_dir / "latest.png")
    markdown = render_markdown(results, json_name=dated.name, chart_name=chart.name)
    (out_dir / "latest.md").write_text(markdown)


async def run_soak_benchmark(
    soak: Soak,
    *,
    out_dir: Path = RESULTS,
    bootstrap: str | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the soak on its own broker (or ``bootstrap``); write ``soak.json`` and ``soak.md``."""
    began = time.monotonic()
    header: dict[str, Any] = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine_info(kafka_version_from_env() if bootstrap is None else "external"),
    }

    async def measure(broker: str, broker_pid: int | None) -> dict[str, Any]:
        workdir = Path(tempfile.mkdtemp(prefix="ecommerce-streams-soak-"))
        figures = await run_soak(broker, workdir, soak, say, broker_pid)
        shutil.rmtree(workdir, ignore_errors=True)  # kept with the worker log on failure
        return figures

    results = {**header, **await with_broker(bootstrap, measure, say)}
    results["load_average_end"] = load_average()
    results["duration_seconds"] = round(time.monotonic() - began, 1)
    write_json(results, out_dir, kind="soak")
    (out_dir / "soak.md").write_text("\n".join(render_soak(results)))
    return results
