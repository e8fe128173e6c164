"""``python -m bench``: the run; ``profile``, ``soak`` (100k orders), ``floor``, ``hop-floor``,
``routing``, ``delivery``, ``decode``, ``domain``, ``failover``."""

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from bench.plan import FULL, QUICK
from bench.runner import RESULTS, run_benchmark, run_soak_benchmark, with_broker
from bench.soak import DEFAULT_ORDERS, Soak

T = TypeVar("T")


def _parser(name: str, description: str) -> argparse.ArgumentParser:
    """The parser of ``python -m bench NAME`` (of ``python -m bench`` itself for NAME "")."""
    return argparse.ArgumentParser(
        prog=f"python -m bench {name}" if name else "python -m bench", description=description
    )


def _add_out(parser: argparse.ArgumentParser) -> None:
    """``--out``: where results go."""
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")


def _add_broker_and_out(parser: argparse.ArgumentParser) -> None:
    """The options the broker's subcommands share: which broker, and where results go."""
    parser.add_argument("--bootstrap", default=None, help="use this broker, not our own")
    _add_out(parser)


def _add_env(parser: argparse.ArgumentParser) -> None:
    """``--env NAME=VALUE``: a setting the measured workers run with."""
    parser.add_argument(
        "--env",
        action="append",
        type=_setting,
        default=[],
        metavar="NAME=VALUE",
        help="run the workers with this setting, e.g. ES_EXACTLY_ONCE_REPAIRS=-write-cache "
        "(repeat for more)",
    )


def _write_results(out: Path, name: str, result: Any, markdown: str) -> None:
    """Write ``<out>/<name>.json`` and ``<out>/<name>.md``, and print the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(markdown)
    print(markdown)


def _measure_on_broker(
    args: argparse.Namespace,
    name: str,
    measure: Callable[[str], Awaitable[T]],
    render: Callable[[T], str],
) -> int:
    """Run ``measure(bootstrap)`` on ``--bootstrap`` or our own broker; write its results."""

    async def on_broker(bootstrap: str, broker_pid: int | None) -> T:
        return await measure(bootstrap)

    result = asyncio.run(with_broker(args.bootstrap, on_broker))
    _write_results(args.out, name, result, render(result))
    return 0


def _run(argv: list[str]) -> int:
    parser = _parser(
        "",
        "Measure the pipeline (1 and 2 workers, exactly-once and at-least-once) "
        "and its ceilings on an embedded broker; write bench/results/latest.{json,md,png}. "
        "'python -m bench profile --help' profiles one worker instead, "
        "'python -m bench soak --help' runs 100,000 orders through one worker.",
    )
    parser.add_argument("--quick", action="store_true", help="~4 minute smoke run")
    parser.add_argument("--orders", type=int, default=None, help="orders per case")
    parser.add_argument(
        "--case",
        action="append",
        type=_case,
        default=None,
        metavar="GUARANTEE:WORKERS",
        help="run only this case, e.g. exactly_once:1 (repeat for more; default: the plan's); "
        "skips the commit-interval sweep",
    )
    parser.add_argument(
        "--routing-rules",
        type=int,
        default=None,
        metavar="N",
        help="rules the router evaluates: the shipped examples and N-1 more; 0: router off",
    )
    parser.add_argument(
        "--brokers",
        type=int,
        default=1,
        help="our own cluster of this many nodes (topics replicated on all), not one broker",
    )
    parser.add_argument(
        "--no-warm-up",
        action="store_true",
        help="measure on the broker as started, without the uncounted warm-up case",
    )
    parser.add_argument(
        "--own-cores",
        action="store_true",
        help="pin each worker to a core of its own, the broker and the bench to the rest",
    )
    _add_env(parser)
    _add_broker_and_out(parser)
    args = parser.parse_args(argv)
    plan, name = (QUICK, "quick") if args.quick else (FULL, "full")
    plan = replace(plan, own_cores=args.own_cores, warm_up=not args.no_warm_up)
    plan = replace(plan, env=(*plan.env, *args.env))
    if args.brokers > 1:
        plan = replace(plan, env=(*plan.env, ("ES_REPLICATION", str(args.brokers))))
    if args.routing_rules is not None:
        plan = replace(plan, routing_rules=args.routing_rules)
    if args.orders is not None:
        plan = replace(plan, orders=args.orders)
    if args.case:  # only these cases: no commit-interval sweep, one ceiling pass
        plan = replace(plan, cases=tuple(args.case), commit_intervals=(), ceiling_passes=1)
    results = asyncio.run(
        run_benchmark(plan, name, out_dir=args.out, bootstrap=args.bootstrap, brokers=args.brokers)
    )
    print((args.out / "latest.md").read_text())
    return 0 if all(case["verified"]["ok"] for case in results["cases"]) else 1


def _setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _case(text: str) -> tuple[str, int]:
    """``exactly_once:2`` as (guarantee, workers)."""
    guarantee, _, workers = text.partition(":")
    if guarantee not in ("exactly_once", "at_least_once") or not workers.isdigit():
        raise argparse.ArgumentTypeError(f"expected GUARANTEE:WORKERS, not {text!r}")
    return guarantee, int(workers)


def _soak(argv: list[str]) -> int:
    """``python -m bench soak``: the 100,000-order memory and recovery run."""
    parser = _parser(
        "soak",
        "Send ORDERS orders at once to one exactly-once worker, wait until all "
        "are decided and every agent caught up, read its VmRSS, then kill -9 it and time "
        "its restart to /ready and to caught up; write <out>/soak.{json,md} (the "
        "benchmark's report and targets pick up soak.json from the same directory).",
    )
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="orders to send")
    parser.add_argument("--partitions", type=int, default=Soak.partitions)
    parser.add_argument("--seed", type=int, default=Soak.seed)
    _add_env(parser)
    _add_broker_and_out(parser)
    args = parser.parse_args(argv)
    soak = Soak(orders=args.orders, partitions=args.partitions, seed=args.seed, env=tuple(args.env))
    results = asyncio.run(run_soak_benchmark(soak, out_dir=args.out, bootstrap=args.bootstrap))
    print((args.out / "soak.md").read_text())
    return 0 if results["complete"] else 1


def _profile(argv: list[str]) -> int:
    from bench.profiling import compare_variants, render_comparison

    parser = _parser(
        "profile",
        "Drain a backlog with one worker under py-spy, once per variant and "
        "repetition (interleaved); write <out>/profile-<variant>.speedscope.json and "
        "<out>/profile.json, print medians and hot spots as markdown.",
    )
    parser.add_argument(
        "--variant",
        action="append",
        required=True,
        help="LABEL or LABEL:ES_NAME=value,ES_OTHER=value (repeat to compare)",
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs per variant")
    parser.add_argument("--orders", type=int, default=1000, help="orders per run")
    parser.add_argument("--guarantee", default="exactly_once")
    _add_broker_and_out(parser)
    args = parser.parse_args(argv)
    variants: dict[str, dict[str, str]] = {}
    for spec in args.variant:
        label, _, settings = spec.partition(":")
        variants[label] = dict(item.split("=", 1) for item in settings.split(",") if item)
    args.out.mkdir(parents=True, exist_ok=True)

    async def profile(bootstrap: str, broker_pid: int | None) -> dict[str, Any]:
        return await compare_variants(
            bootstrap,
            args.out,
            variants,
            orders=args.orders,
            repeat=args.repeat,
            guarantee=args.guarantee,
            broker_pid=broker_pid,
        )

    runs = asyncio.run(with_broker(args.bootstrap, profile))
    (args.out / "profile.json").write_text(json.dumps(runs, indent=2) + "\n")
    print(render_comparison(runs))
    return 0 if all(r["complete"] for results in runs.values() for r in results) else 1


def _floor(argv: list[str]) -> int:
    """``python -m bench floor``: what aiokafka alone costs for the saga's traffic."""
    from bench.floor import Shape, measure_floor, render_floor

    parser = _parser(
        "floor",
        "Run the saga's shape of exactly-once traffic with aiokafka alone (no "
        "Faust, tables or codecs), with per-partition producers and with one producer; "
        "write <out>/floor.{json,md}.",
    )
    parser.add_argument("--inputs", type=float, default=Shape.inputs, help="consumed per event")
    parser.add_argument("--records", type=float, default=Shape.records, help="written per event")
    parser.add_argument("--events-per-commit", type=float, default=Shape.events_per_commit)
    parser.add_argument("--events", type=int, default=Shape.events, help="source events per run")
    parser.add_argument("--repeat", type=int, default=3)
    _add_broker_and_out(parser)
    args = parser.parse_args(argv)
    shape = Shape(
        inputs=args.inputs,
        records=args.records,
        events_per_commit=args.events_per_commit,
        events=args.events,
    )
    return _measure_on_broker(
        args,
        "floor",
        lambda bootstrap: measure_floor(bootstrap, shape, repeat=args.repeat),
        render_floor,
    )


def _hop_floor(argv: list[str]) -> int:
    """``python -m bench hop-floor``: how fast one transactional hop can be with aiokafka alone."""
    from bench.hop_floor import VARIANTS, HopShape, measure_hop_floor, render_hop_floor

    parser = _parser(
        "hop-floor",
        "Offer records at a fixed rate to one aiokafka process that consumes, "
        "writes and commits on drain (per-partition producers, one producer, two "
        "alternating producers, no transactions); time each input's first output "
        "read_committed; write <out>/hop-floor.{json,md}.",
    )
    parser.add_argument("--rate", type=float, default=HopShape.rate, help="inputs per second")
    parser.add_argument("--seconds", type=float, default=HopShape.seconds)
    parser.add_argument("--outputs", type=int, default=HopShape.outputs, help="per input")
    parser.add_argument(
        "--output-partitions",
        type=int,
        default=HopShape.output_partitions,
        help="of the output topic; an input's outputs go to distinct ones",
    )
    parser.add_argument(
        "--variant", action="append", choices=VARIANTS, help="only these (repeat for more)"
    )
    parser.add_argument("--repeat", type=int, default=2)
    _add_broker_and_out(parser)
    args = parser.parse_args(argv)
    shape = HopShape(
        rate=args.rate,
        seconds=args.seconds,
        outputs=args.outputs,
        output_partitions=args.output_partitions,
    )
    variants = tuple(args.variant or VARIANTS)
    return _measure_on_broker(
        args,
        "hop-floor",
        lambda bootstrap: measure_hop_floor(bootstrap, shape, args.repeat, variants),
        render_hop_floor,
    )


def _routing(argv: list[str]) -> int:
    """``python -m bench routing``: EventBridge pattern evaluations per second on one core."""
    from bench.routing import measure_routing, render_routing

    parser = _parser(
        "routing",
        "Evaluate 10 and 100 event patterns against our order events in "
        "EventBridge's shape, rule by rule and through a detail-type index; print "
        "evaluations per second as markdown (no broker needed).",
    )
    parser.add_argument("--rules", type=int, action="append", default=None, help="rule count")
    parser.add_argument("--events", type=int, default=2000, help="events in the sample")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts")
    args = parser.parse_args(argv)
    results = measure_routing(args.rules or [10, 100], args.events, repeat=args.repeat)
    print(render_routing(results))
    return 0


def _delivery(argv: list[str]) -> int:
    """``python -m bench delivery``: deliveries/s and latency at 0 % and 20 % failures."""
    from bench.delivery import measure_share, render_delivery

    parser = _parser(
        "delivery",
        "Queue deliveries on http-deliveries and run the delivery service against "
        "a local endpoint failing 0 %% and 20 %% of requests; write <out>/delivery.{json,md}.",
    )
    parser.add_argument("--records", type=int, default=5000, help="deliveries for throughput")
    parser.add_argument("--latency-records", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="offered rate for latency")
    _add_broker_and_out(parser)
    args = parser.parse_args(argv)

    async def measure(bootstrap: str) -> list[dict[str, Any]]:
        return [
            await measure_share(
                bootstrap,
                share,
                records=args.records,
                latency_records=args.latency_records,
                rate=args.rate,
            )
            for share in (0.0, 0.2)
        ]

    return _measure_on_broker(args, "delivery", measure, render_delivery)


def _failover(argv: list[str]) -> int:
    """``python -m bench failover``: how long a partition waits when its leader dies."""
    from bench.failover import measure_failover, render_failover

    parser = _parser(
        "failover",
        "Start a three-broker cluster, kill a partition leader while an acks=all "
        "producer writes, and the same with SIGTERM; write <out>/failover.{json,md}.",
    )
    _add_out(parser)
    args = parser.parse_args(argv)
    results = asyncio.run(measure_failover())
    _write_results(args.out, "failover", results, render_failover(results))
    return 0


def _decode(argv: list[str]) -> int:
    """``python -m bench decode``: decode cost per event, plain against framed and validated."""
    from bench.decode import measure_decode, render_decode

    return _in_memory(
        argv,
        "decode",
        "Decode a seeded load's source events plain and in Confluent's framing "
        "with schema validation; write <out>/decode.{json,md}. No broker is needed.",
        measure_decode,
        render_decode,
    )


def _domain(argv: list[str]) -> int:
    """``python -m bench domain``: the saga's own code per source event, in memory."""
    from bench.domain import measure_domain, render_domain

    return _in_memory(
        argv,
        "domain",
        "Run a seeded load through every stage's decode, decide and encode in memory "
        "(no broker, no Faust); write <out>/domain.{json,md}.",
        measure_domain,
        render_domain,
    )


def _in_memory(
    argv: list[str],
    name: str,
    description: str,
    measure: Callable[[int], dict[str, Any]],
    render: Callable[[dict[str, Any]], str],
) -> int:
    """Run a measurement of a seeded load's orders that needs no broker; write its results."""
    parser = _parser(name, description)
    parser.add_argument("--orders", type=int, default=2000, help="orders of the load")
    _add_out(parser)
    args = parser.parse_args(argv)
    result = measure(args.orders)
    _write_results(args.out, name, result, render(result))
    return 0


_COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "routing": _routing,
    "domain": _domain,
    "delivery": _delivery,
    "decode": _decode,
    "failover": _failover,
    "floor": _floor,
    "hop-floor": _hop_floor,
    "profile": _profile,
    "soak": _soak,
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the run or to one of the named measurements (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in _COMMANDS:
        return _COMMANDS[argv[0]](argv[1:])
    return _run(argv)


if __name__ == "__main__":
    sys.exit(main())
