"""Profile one worker under load with py-spy and list where its main thread spends time.

The worker drains a backlog of orders (as in the throughput case) while ``py-spy record``
samples it from outside, so nothing in the worker changes. The speedscope file opens in
https://www.speedscope.app; :func:`hot_spots` sums its samples per function, both *self*
(the function itself is on top of the stack) and *inclusive* (anywhere on the stack).
"""

import asyncio
import collections
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import load_average
from bench.process_usage import cpu_ms_per, cpu_seconds
from bench.tailing import CommittedTail
from bench.worker_metrics import COMMIT_ROUNDS, read_counter
from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.load import LoadProfile, send_load
from ecommerce_streams.operations.topic_setup import ensure_topics

SAMPLE_RATE = 50
WARM_UP_ORDERS = 1500
"""Orders of the uncounted run that warms the broker up before variants are compared."""
_FRAMEWORK_FRAMES: tuple[str, ...] = (
    *("/asyncio/", "click/", "mode/worker.py", "faust/cli/", "<frozen runpy>"),
    *("faust/app/base.py:823", "ecommerce_streams/worker/run.py", "ecommerce_streams/cli/"),
)


def py_spy() -> str:
    """The py-spy executable next to this Python, or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is not installed: pip install -e '.[bench]'")
    return found


def hot_spots(speedscope: Path, top: int = 15) -> dict[str, list[tuple[float, str]]]:
    """The main thread's top functions by self and by inclusive share of samples."""
    document = json.loads(speedscope.read_text())
    frames = document["shared"]["frames"]
    profile = next(p for p in document["profiles"] if "MainThread" in p["name"])
    total = sum(profile["weights"]) or 1.0
    own: collections.Counter[int] = collections.Counter()
    anywhere: collections.Counter[int] = collections.Counter()
    for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
        if stack:
            own[stack[-1]] += weight
            for frame in set(stack):
                anywhere[frame] += weight

    def name(index: int) -> str:
        frame = frames[index]
        where = frame.get("file", "").split("site-packages/")[-1].split("/work/main/")[-1]
        return f"{frame['name']} ({where}:{frame.get('line', '')})"

    return {
        "self": [(round(100 * w / total, 1), name(f)) for f, w in own.most_common(top)],
        "inclusive": [
            (round(100 * w / total, 1), name(f))
            for f, w in anywhere.most_common(top + 25)
            if not any(skip in name(f) for skip in _FRAMEWORK_FRAMES)
        ][:top],
    }


COMPONENTS = (
    (
        "aiokafka + socket writes (Kafka protocol)",
        ("aiokafka/", "asyncio/selector_events.py", "asyncio/streams.py"),
    ),
    ("RocksDB (faust store calling rocksdict)", ("faust/stores/rocksdb.py", "rocksdict")),
    ("faust + mode (streams, tables, producer buffer)", ("faust/", "mode/")),
    ("pydantic (validate, dump)", ("pydantic",)),
    ("our code (agents, models, pipeline, exactly_once)", ("agents/", "models/", "tables/")),
    ("our code (agents, models, pipeline, exactly_once)", ("ecommerce_streams/",)),
    ("logging", ("logging/",)),
    ("asyncio event loop", ("asyncio/", "selectors.py")),
)
"""Who owns the frame on top of the stack, by its file (first match wins)."""


def by_component(speedscope: Path) -> list[tuple[float, str]]:
    """The main thread's samples by the component whose code was running (self time)."""
    document = json.loads(speedscope.read_text())
    frames = document["shared"]["frames"]
    profile = next(p for p in document["profiles"] if "MainThread" in p["name"])
    total = sum(profile["weights"]) or 1.0
    shares: collections.Counter[str] = collections.Counter()
    for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
        where = frames[stack[-1]].get("file", "") if stack else ""
        owner = next(
            (name for name, marks in COMPONENTS if any(mark in where for mark in marks)),
            "other (Python runtime, uuid, decimal, ...)",
        )
        shares[owner] += weight
    return [(round(100 * w / total, 1), name) for name, w in shares.most_common()]


async def profile_worker(
    bootstrap: str,
    out: Path,
    *,
    orders: int,
    guarantee: str = "exactly_once",
    env: dict[str, str] | None = None,
    broker_pid: int | None = None,
) -> dict[str, Any]:
    """Drain ``orders`` with one worker under py-spy; return throughput and hot spots."""
    workdir = Path(tempfile.mkdtemp(prefix="ecommerce-streams-profile-"))
    deployment = Deployment(
        bootstrap=bootstrap,
        workdir=workdir,
        partitions=4,
        processing_guarantee=guarantee,
        extra_env=env or {},
    )
    topics = deployment.topics
    await ensure_topics(bootstrap, topics, partitions=4)
    sent = await send_load(bootstrap, topics, LoadProfile(orders=orders))
    tail = CommittedTail(
        bootstrap,
        [topics.inventory_commands, topics.order_events],
        decisions_topic=topics.order_events,
        expected=sent.order_ids,
    )
    await tail.start(from_end=False)
    try:
        [worker] = await deployment.start_workers(1)
        spy = await asyncio.create_subprocess_exec(
            py_spy(),
            "record",
            "--pid",
            str(worker.pid),
            "--rate",
            str(SAMPLE_RATE),
            "--format",
            "speedscope",
            "--output",
            str(out),
            "--nonblocking",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        began = time.time()
        cpu_before = (cpu_seconds(worker.pid), cpu_seconds(broker_pid))
        decided = await tail.wait_decided(timeout=600)
        cpu_after = (cpu_seconds(worker.pid), cpu_seconds(broker_pid))
        [commit_rounds] = await read_counter([worker.url], COMMIT_ROUNDS)  # start-up's too
        spy.send_signal(signal.SIGINT)  # py-spy writes the file and exits
        await asyncio.wait_for(spy.wait(), 60)
        first = min(a.timestamp for a in tail.arrivals)
        seconds = max(tail.decided.values()) - first
    finally:
        await tail.stop()
        deployment.stop()
    shutil.rmtree(workdir, ignore_errors=True)  # kept with the worker log on failure
    return {
        "guarantee": guarantee,
        "env": env or {},
        "orders": orders,
        "source_messages": sent.messages,
        "complete": decided,
        "seconds": round(seconds, 2),
        "source_events_per_second": round(sent.messages / seconds),
        "worker_cpu_ms_per_source_event": cpu_ms_per(cpu_before[0], cpu_after[0], sent.messages),
        "broker_cpu_ms_per_source_event": cpu_ms_per(cpu_before[1], cpu_after[1], sent.messages),
        "commit_rounds": commit_rounds,
        "source_events_per_commit_round": (
            round(sent.messages / commit_rounds, 1) if commit_rounds else None
        ),
        "profiled_seconds": round(time.time() - began, 1),
        "load_average": load_average(),
        "hot_spots": hot_spots(out),
        "components": by_component(out),
    }


async def compare_variants(
    bootstrap: str,
    out_dir: Path,
    variants: dict[str, dict[str, str]],
    *,
    orders: int,
    repeat: int,
    guarantee: str = "exactly_once",
    broker_pid: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Profile each variant (label -> ES_* env) ``repeat`` times, interleaved A B A B.

    Interleaving spreads the other load on a shared machine over every variant alike.
    A first run, not counted, warms the broker up: the first run after it started was
    the slowest whichever variant it was (bench/results/caught-up-commits-20261201).
    Each variant keeps the speedscope file of its last repetition.
    """
    warm_up = out_dir / "warm-up.speedscope.json"
    await profile_worker(
        bootstrap,
        warm_up,
        orders=max(WARM_UP_ORDERS, orders // 4),
        guarantee=guarantee,
        env=next(iter(variants.values()), {}),
        broker_pid=broker_pid,
    )
    warm_up.unlink(missing_ok=True)
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in variants}
    for _ in range(repeat):
        for label, env in variants.items():
            result = await profile_worker(
                bootstrap,
                out_dir / f"profile-{label}.speedscope.json",
                orders=orders,
                guarantee=guarantee,
                env=env,
                broker_pid=broker_pid,
            )
            result["label"] = label
            runs[label].append(result)
    return runs


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def render_comparison(runs: dict[str, list[dict[str, Any]]]) -> str:
    """Medians per variant, every run's figures, then each variant's hot spots, as markdown."""
    lines = [
        "| variant | env | runs | source events/s (median) | worker CPU ms/event (median) "
        "| broker CPU ms/event (median) | source events per commit round (median) "
        "| per run: events/s, worker ms, broker ms, load 1m |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, results in runs.items():
        per_run = "; ".join(
            f"{r['source_events_per_second']}, {r['worker_cpu_ms_per_source_event']}, "
            f"{r['broker_cpu_ms_per_source_event']}, {r['load_average'][0]}"
            for r in results
        )
        lines.append(
            f"| {label} | {results[0]['env'] or 'defaults'} | {len(results)} "
            f"| {_median([r['source_events_per_second'] for r in results])} "
            f"| {_median([r['worker_cpu_ms_per_source_event'] for r in results])} "
            f"| {_median([r['broker_cpu_ms_per_source_event'] for r in results])} "
            f"| {_median([r.get('source_events_per_commit_round') for r in results])} "
            f"| {per_run} |"
        )
    lines.append("")
    for results in runs.values():
        lines += [render_hot_spots(results[-1]), ""]
    return "\n".join(lines)


def render_hot_spots(result: dict[str, Any]) -> str:
    """One profile's throughput and top functions (main thread) as markdown."""
    lines = [
        f"**{result['label']}** ({result['guarantee']}, env {result['env'] or 'defaults'}): "
        f"{result['source_events_per_second']:,} source events/s over {result['orders']:,} "
        f"orders; worker CPU {result['worker_cpu_ms_per_source_event']} ms and broker CPU "
        f"{result['broker_cpu_ms_per_source_event']} ms per source event; load average "
        f"{result['load_average']}",
        "",
        "| self % | function | | inclusive % | function |",
        "|---:|---|---|---:|---|",
    ]
    spots = result["hot_spots"]
    components = result.get("components") or []
    if components:
        lines[2:2] = [
            "| self % | component |",
            "|---:|---|",
            *(f"| {share} | {name} |" for share, name in components),
            "",
        ]
    for (own, own_name), (anywhere, anywhere_name) in zip(
        spots["self"], spots["inclusive"], strict=False
    ):
        lines.append(f"| {own} | `{own_name}` | | {anywhere} | `{anywhere_name}` |")
    return "\n".join(lines) + "\n"
