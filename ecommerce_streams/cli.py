"""The ``ecommerce-streams`` command: broker, workers, load, verification and the demo."""

import asyncio
import sys
from datetime import datetime

import click

from ecommerce_streams.settings import Settings


def _settings() -> Settings:
    return Settings()


def _embedded_broker():
    """The embedded broker as configured by ES_KAFKA_* and KAFKA_VERSION."""
    from ecommerce_streams.kafka import EmbeddedKafka

    return EmbeddedKafka()


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


@click.group()
def main() -> None:
    """ecommerce-streams: an event-driven order platform on Faust and Kafka."""


@main.group()
def kafka() -> None:
    """The embedded single-node Kafka broker (KRaft, 127.0.0.1)."""


@kafka.command("start")
def kafka_start() -> None:
    """Fetch Kafka from Maven Central if needed, start it, wait until it serves transactions."""
    from ecommerce_streams.kafka import BrokerError

    settings = _settings()
    if settings.broker:
        click.echo(f"ES_BROKER={settings.broker}: using that cluster, nothing local to start.")
        return
    try:
        bootstrap = _embedded_broker().start()
    except BrokerError as error:
        _fail(str(error))
    click.echo(f"Kafka is ready at {bootstrap}")


@kafka.command("stop")
def kafka_stop() -> None:
    """Stop the embedded broker (no JVM is left behind)."""
    stopped = _embedded_broker().stop()
    click.echo("Kafka stopped." if stopped else "Kafka was not running.")


@kafka.command("status")
def kafka_status() -> None:
    """Show whether the embedded broker runs, where, and which version."""
    for key, value in _embedded_broker().status().items():
        click.echo(f"{key}: {value}")


@kafka.command("logs")
@click.option("--lines", "-n", default=50, show_default=True)
def kafka_logs(lines: int) -> None:
    """Print the end of the embedded broker's log."""
    click.echo(_embedded_broker().log_tail(lines))


@kafka.command("reset")
def kafka_reset() -> None:
    """Stop the embedded broker and delete its data (topics, offsets, state)."""
    _embedded_broker().reset()
    click.echo("Kafka data deleted.")


@main.command()
def worker() -> None:
    """Run one worker (ES_DATADIR and ES_WEB_PORT must differ per worker on one host)."""
    from ecommerce_streams.worker import run_worker

    run_worker()


@main.command()
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
    from ecommerce_streams.load import LoadProfile, send_load
    from ecommerce_streams.topic_setup import ensure_topics_sync

    settings = _settings()
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


@main.command()
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for outputs.")
def verify(timeout: float) -> None:
    """Check the four exactly-once invariants over every topic (read_committed)."""
    from ecommerce_streams.verify import verify as run_verify

    settings = _settings()
    report = asyncio.run(run_verify(settings.bootstrap, settings.topics, timeout=timeout))
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


@main.command()
@click.option("--orders", default=2000, show_default=True, help="Orders to send.")
@click.option("--workers", default=2, show_default=True, help="Worker processes.")
@click.option("--rate", default=None, type=float, help="Messages per second (default: max).")
def demo(orders: int, workers: int, rate: float | None) -> None:
    """Run the platform on the embedded broker with seeded traffic; Ctrl-C stops it all."""
    from ecommerce_streams.demo import demo_main
    from ecommerce_streams.kafka import BrokerError

    try:
        sys.exit(demo_main(orders=orders, workers=workers, rate=rate))
    except BrokerError as error:
        _fail(str(error))


def _log_time(text: str | None) -> datetime | None:
    """An ISO-8601 log time for the --*-datetime options; a time without offset is UTC."""
    from ecommerce_streams.consumer_group import parse_log_time

    try:
        return parse_log_time(text)
    except ValueError as invalid:
        raise click.BadParameter(str(invalid)) from None


@main.command()
@click.option("--version", type=int, required=True, help="New app version (above ES_APP_VERSION).")
@click.option("--from-earliest", is_flag=True, help="Read the sources from the start (default).")
@click.option("--from-datetime", default=None, help="Read the sources from this log time (ISO).")
@click.option("--workers", default=1, show_default=True, help="Replay worker processes.")
@click.option("--workdir", default=None, help="State and logs [default: var/replay-v<N>].")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to catch up.")
@click.option("--compare/--no-compare", default=False, help="Compare with the live tables after.")
def replay(
    version: int,
    from_earliest: bool,
    from_datetime: str | None,
    workers: int,
    workdir: str | None,
    timeout: float,
    compare: bool,
) -> None:
    """Rebuild every table from the source topics into app version N, beside the live workers.

    Derived events go to '<prefix>replay-v<N>.' copies of the derived topics, never to the
    live ones. Exits when the replay has consumed everything.
    """
    from pathlib import Path

    from ecommerce_streams.harness import WorkerFailed
    from ecommerce_streams.replay import ReplayRefused
    from ecommerce_streams.replay import replay as run_replay

    if from_earliest and from_datetime:
        raise click.UsageError("give --from-earliest or --from-datetime, not both")
    settings = _settings()
    try:
        result = asyncio.run(
            run_replay(
                settings,
                version,
                since=_log_time(from_datetime),
                workers=workers,
                workdir=Path(workdir or f"var/replay-v{version}"),
                timeout=timeout,
                say=click.echo,
            )
        )
    except (ReplayRefused, WorkerFailed, TimeoutError) as failure:
        _fail(str(failure))
    click.echo(f"tables of v{version} are in the changelogs of {result.group!r}")
    if not compare:
        click.echo(f"compare them: ecommerce-streams compare --version {version}")
        return
    _compare(settings, version, settings.app_version, ())


@main.command()
@click.option("--version", type=int, required=True, help="The version to check (e.g. a replay).")
@click.option("--against", type=int, default=None, help="Baseline version [default: live].")
@click.option(
    "--table",
    "tables",
    multiple=True,
    help="Tables to compare (repeatable) [default: all but seen; seen compares keys].",
)
def compare(version: int, against: int | None, tables: tuple[str, ...]) -> None:
    """Compare two versions' tables key by key from their changelogs; exit 1 on any difference."""
    settings = _settings()
    _compare(settings, version, settings.app_version if against is None else against, tables)


def _compare(settings: Settings, version: int, baseline: int, tables: tuple[str, ...]) -> None:
    from ecommerce_streams.changelogs import app_tables
    from ecommerce_streams.table_comparison import compare_versions, compared_by_default

    known = app_tables()
    unknown = sorted(set(tables) - set(known))
    if unknown:
        raise click.BadParameter(f"unknown tables {unknown}; tables are {list(known)}")
    try:
        comparison = asyncio.run(
            compare_versions(
                settings.bootstrap,
                settings.app_id,
                baseline=baseline,
                candidate=version,
                tables=tables or compared_by_default(known),
            )
        )
    except LookupError as missing:
        _fail(str(missing.args[0]))
    click.echo(comparison.render())
    sys.exit(0 if comparison.identical else 1)


@main.command()
@click.option("--to-earliest", is_flag=True, help="Rewind to the start of the sources.")
@click.option("--to-datetime", default=None, help="Rewind to this log time (ISO; naive = UTC).")
@click.option("--version", type=int, default=None, help="App version [default: ES_APP_VERSION].")
def reset(to_earliest: bool, to_datetime: str | None, version: int | None) -> None:
    """Move a stopped consumer group's source-topic offsets; refuses while it has members."""
    from ecommerce_streams.consumer_group import GroupIsActive, describe_offsets, group_id, rewind

    if to_earliest == (to_datetime is not None):
        raise click.UsageError("give exactly one of --to-earliest or --to-datetime")
    settings = _settings()
    version = settings.app_version if version is None else version
    group = group_id(settings.app_id, version)
    try:
        offsets = asyncio.run(
            rewind(settings.bootstrap, group, settings.topics.sources(), _log_time(to_datetime))
        )
    except GroupIsActive as active:
        _fail(str(active))
    click.echo(f"consumer group {group!r} now starts at:")
    for line in describe_offsets(offsets):
        click.echo(f"  {line}")
    click.secho(
        "Warning: the tables still hold the state built from the old positions, and events "
        "read again are applied on top of it. To rebuild the tables from the sources run "
        f"`ecommerce-streams replay --version {version + 1}` and move to that version.",
        fg="yellow",
        err=True,
    )


@main.group()
def dlq() -> None:
    """The dead-letter queue: list, show and redrive dead letters."""


@dlq.command("list")
def dlq_list() -> None:
    """One line per letter: id, origin, stage, error, start of the message, redrive."""
    from ecommerce_streams.dead_letter_queue import read_queue

    settings = _settings()
    queue = asyncio.run(read_queue(settings.bootstrap, settings.topics))
    for queued in queue:
        click.echo(queued.summary())
    redriven = sum(1 for q in queue if q.redrive is not None)
    click.echo(f"{len(queue)} dead letter(s), {redriven} redriven", err=True)


@dlq.command("show")
@click.argument("letter")
def dlq_show(letter: str) -> None:
    """Show one letter (<partition>:<offset>, or its offset) in full, message decoded."""
    from ecommerce_streams.dead_letter_queue import find, read_queue

    settings = _settings()
    queue = asyncio.run(read_queue(settings.bootstrap, settings.topics))
    try:
        click.echo(find(queue, letter).details())
    except LookupError as missing:
        _fail(str(missing.args[0]))


@dlq.command("redrive")
@click.option("--offset", "letters", multiple=True, help="Letter <partition>:<offset> (repeat).")
@click.option("--all", "everything", is_flag=True, help="Every letter not redriven yet.")
@click.option("--fix-with", default=None, help="File with the fixed message (one --offset).")
@click.option("--again", is_flag=True, help="Resend letters already redriven (with --offset).")
def dlq_redrive(
    letters: tuple[str, ...], everything: bool, fix_with: str | None, again: bool
) -> None:
    """Resend letters to their source topic with their key and event id (effects stay once)."""
    from pathlib import Path

    from ecommerce_streams.consumer_group import group_id
    from ecommerce_streams.dead_letter_queue import choose, plan_resends, read_queue, redrive

    if bool(letters) == everything:
        raise click.UsageError("give --offset (one or more) or --all")
    if fix_with and len(letters) != 1:
        raise click.UsageError("--fix-with needs exactly one --offset")
    if again and everything:
        raise click.UsageError("--again works with --offset only")
    settings = _settings()
    queue = asyncio.run(read_queue(settings.bootstrap, settings.topics))
    try:
        chosen = choose(queue, letters, everything=everything)
    except LookupError as missing:
        _fail(str(missing.args[0]))
    fix = Path(fix_with).read_bytes() if fix_with else None
    planned, refused = plan_resends(chosen, fix, again=again)
    if refused and not everything:
        _fail("nothing redriven:\n" + "\n".join(str(refusal) for refusal in refused))
    done = asyncio.run(
        redrive(
            settings.bootstrap,
            settings.topics,
            planned,
            transactional_id=f"{group_id(settings.app_id, settings.app_version)}-dlq-redrive",
            partitions=settings.partitions,
            replication=settings.replication,
        )
    )
    for record in done:
        fixed = " (fixed)" if record.fixed else ""
        click.echo(
            f"redriven {record.letter} -> "
            f"{record.source_topic}[{record.partition}]@{record.offset}{fixed}"
        )
    for refusal in refused:
        click.echo(f"skipped {refusal}", err=True)


@main.command()
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
def chaos(
    runs: int, seed: int, orders: int, faults: int, ready_bound: float, load_seconds: float
) -> None:
    """Run randomized fault schedules under load on the embedded broker; exit 1 on any violation."""
    from ecommerce_streams.chaos import run_campaign

    held = asyncio.run(
        run_campaign(
            runs=runs,
            seed=seed,
            orders=orders,
            faults=faults,
            ready_bound=ready_bound,
            load_seconds=load_seconds,
        )
    )
    sys.exit(0 if held else 1)


@main.command(
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


if __name__ == "__main__":
    main()
