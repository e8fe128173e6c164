"""``python -m bench``: run the benchmark; ``python -m bench profile``: profile one worker."""

import argparse
import asyncio
import json
import sys
from dataclasses import replace
from pathlib import Path

from bench.plan import FULL, QUICK
from bench.runner import RESULTS, run_benchmark, with_broker


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the pipeline (1 and 2 workers, exactly-once and at-least-once) "
        "and its ceilings on an embedded broker; write bench/results/latest.{json,md,png}. "
        "'python -m bench profile --help' profiles one worker instead.",
    )
    parser.add_argument("--quick", action="store_true", help="~3 minute smoke run")
    parser.add_argument("--orders", type=int, default=None, help="orders per case")
    parser.add_argument("--bootstrap", default=None, help="use this broker, not our own")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    plan, name = (QUICK, "quick") if args.quick else (FULL, "full")
    if args.orders is not None:
        plan = replace(plan, orders=args.orders)
    results = asyncio.run(run_benchmark(plan, name, out_dir=args.out, bootstrap=args.bootstrap))
    print((args.out / "latest.md").read_text())
    return 0 if all(case["verified"]["ok"] for case in results["cases"]) else 1


def _profile(argv: list[str]) -> int:
    from bench.profiling import profile_worker, render_hot_spots

    parser = argparse.ArgumentParser(
        prog="python -m bench profile",
        description="Drain a backlog with one worker under py-spy; write "
        "<out>/profile-<label>.speedscope.json and .json, print the hot spots.",
    )
    parser.add_argument("--label", required=True, help="e.g. before, after")
    parser.add_argument("--orders", type=int, default=1500)
    parser.add_argument("--guarantee", default="exactly_once")
    parser.add_argument("--env", action="append", default=[], help="ES_NAME=value (repeat)")
    parser.add_argument("--bootstrap", default=None, help="use this broker, not our own")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    args.out.mkdir(parents=True, exist_ok=True)
    speedscope = args.out / f"profile-{args.label}.speedscope.json"

    async def profile(bootstrap: str, broker_pid: int | None) -> dict:
        return await profile_worker(
            bootstrap,
            speedscope,
            orders=args.orders,
            guarantee=args.guarantee,
            env=env,
            broker_pid=broker_pid,
        )

    result = asyncio.run(with_broker(args.bootstrap, profile))
    result["label"] = args.label
    (args.out / f"profile-{args.label}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(render_hot_spots(result))
    return 0 if result["complete"] else 1


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the benchmark run or to ``profile``; return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["profile"]:
        return _profile(argv[1:])
    return _run(argv)


if __name__ == "__main__":
    sys.exit(main())
