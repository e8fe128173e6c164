"""The development harness commands: load, verify, demo, chaos, bench."""

import asyncio
import sys

import click

from ecommerce_streams.cli.common import fail, load_settings


@click.command()
@click.option("--orders", default=1000, show_default=True, help="Orders to generate.")
@click.option("--rate", default=None, type=float, help="Messages per second (default: max).")
@click.option("--seed", default=1, show_default=True, help="Seed: same seed, same traffic.")
@click.option("--duplicate-ratio", default=0.05, show_default=True)
@click.option("--malformed-ratio", default=0.02, show_default=True)
@click.option("--decline-ratio", default=0.05, show_default=True)
def load(
    orders: int,
    rate: float | None,
    seed: int,
    duplicate_ratio: float,
    malformed_ratio: float,
    decline_ratio: float,
) -> None:
    """Send realistic, seeded shop traffic (orders, payments, stock) to the source topics."""
    from ecommerce_streams.harness.load import LoadProfile, send_load
    from ecommerce_streams.operations.topic_setup import ensure_topics_sync

    settings = load_settings()
    ensure_topics_sync(settings.bootstrap, settings.topics, partitions=settings.partitions)
    profile = LoadProfile(
        orders=orders,
        seed=seed,
        duplicate_ratio=duplicate_ratio,
        malformed_ratio=malformed_ratio,
        decline_ratio=decline_ratio,
    )
    summary = asyncio.run(
        send_load(settings.bootstrap, settings.topics, profile, rate=rate, progress=True)
    )
    click.echo(summary)


@click.command()
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for outputs.")
def verify(timeout: float) -> None:
    """Check the four exactly-once invariants over every topic (read_committed)."""
    from ecommerce_streams.harness.verify import verify as run_verify

    settings = load_settings()
    report = asyncio.run(run_verify(settings.bootstrap, settings.topics, timeout=timeout))
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


@click.command()
@click.option("--orders", default=2000, show_default=True, help="Orders to send.")
@click.option("--workers", default=2, show_default=True, help="Worker processes.")
@click.option("--rate", default=None, type=float, help="Messages per second (default: max).")
def demo(orders: int, workers: int, rate: float | None) -> None:
    """Run the platform on the embedded broker with seeded traffic; Ctrl-C stops it all."""
    from ecommerce_streams.harness.demo import demo_main
    from ecommerce_streams.harness.kafka import BrokerError

    try:
        sys.exit(demo_main(orders=orders, workers=workers, rate=rate))
    except BrokerError as error:
        fail(str(error))


@click.command()
@click.option("--runs", default=20, show_default=True, help="Randomized schedules to run.")
@click.option("--seed", default=1, show_default=True, help="Seed of the schedules and traffic.")
@click.option("--orders", default=5000, show_default=True, help="Orders per run.")
@click.option("--faults", default=4, show_default=True, help="Faults per schedule.")
@click.option(
    "--ready-bound",
    default=120.0,
    show_default=True,
    help="Seconds after the last fault within which every worker must be ready "
    "and every order decided.",
)
@click.option(
    "--load-seconds",
    default=60.0,
    show_default=True,
    help="Seconds over which each run's load is sent; faults strike in the first 80%.",
)
@click.option(
    "--brokers",
    default=1,
    show_default=True,
    help="3: run on a three-broker cluster, whose nodes are killed among the faults.",
)
def chaos(
    runs: int,
    seed: int,
    orders: int,
    faults: int,
    ready_bound: float,
    load_seconds: float,
    brokers: int,
) -> None:
    """Run randomized fault schedules under load on the embedded broker; exit 1 on any violation."""
    from ecommerce_streams.harness.chaos import run_campaign

    held = asyncio.run(
        run_campaign(
            runs=runs,
            seed=seed,
            orders=orders,
            faults=faults,
            ready_bound=ready_bound,
            load_seconds=load_seconds,
            brokers=brokers,
        )
    )
    sys.exit(0 if held else 1)


@click.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],
    }
)
@click.pass_context
def bench(ctx: click.Context) -> None:
    """Benchmark the pipeline against its ceilings (= python -m bench; try --help)."""
    from bench.__main__ import main as run_bench

    sys.exit(run_bench(ctx.args))
