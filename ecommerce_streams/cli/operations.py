"""Operator commands: replay, compare, reset, and the dead-letter queue."""

import asyncio
import sys
from typing import TYPE_CHECKING

import click

from ecommerce_streams.cli.common import fail, load_settings, log_time
from ecommerce_streams.settings import Settings

if TYPE_CHECKING:
    from ecommerce_streams.queues.dead_letters import QueueLetter


@click.command()
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

    from ecommerce_streams.harness.deployment import WorkerFailed
    from ecommerce_streams.operations.replay import ReplayRefused
    from ecommerce_streams.operations.replay import replay as run_replay

    if from_earliest and from_datetime:
        raise click.UsageError("give --from-earliest or --from-datetime, not both")
    settings = load_settings()
    try:
        result = asyncio.run(
            run_replay(
                settings,
                version,
                since=log_time(from_datetime),
                workers=workers,
                workdir=Path(workdir or f"var/replay-v{version}"),
                timeout=timeout,
                say=click.echo,
            )
        )
    except (ReplayRefused, WorkerFailed, TimeoutError) as failure:
        fail(str(failure))
    click.echo(f"tables of v{version} are in the changelogs of {result.group!r}")
    if not compare:
        click.echo(f"compare them: ecommerce-streams compare --version {version}")
        return
    _compare(settings, version, settings.app_version, ())


@click.command()
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
    settings = load_settings()
    _compare(settings, version, settings.app_version if against is None else against, tables)


def _compare(settings: Settings, version: int, baseline: int, tables: tuple[str, ...]) -> None:
    from ecommerce_streams.operations.changelogs import app_tables
    from ecommerce_streams.operations.table_comparison import compare_versions, compared_by_default

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
        fail(str(missing.args[0]))
    click.echo(comparison.render())
    sys.exit(0 if comparison.identical else 1)


@click.command()
@click.option("--to-earliest", is_flag=True, help="Rewind to the start of the sources.")
@click.option("--to-datetime", default=None, help="Rewind to this log time (ISO; naive = UTC).")
@click.option("--version", type=int, default=None, help="App version [default: ES_APP_VERSION].")
def reset(to_earliest: bool, to_datetime: str | None, version: int | None) -> None:
    """Move a stopped consumer group's source-topic offsets; refuses while it has members."""
    from ecommerce_streams.operations.consumer_group import (
        GroupIsActive,
        describe_offsets,
        group_id,
        rewind,
    )

    if to_earliest == (to_datetime is not None):
        raise click.UsageError("give exactly one of --to-earliest or --to-datetime")
    settings = load_settings()
    version = settings.app_version if version is None else version
    group = group_id(settings.app_id, version)
    try:
        offsets = asyncio.run(
            rewind(settings.bootstrap, group, settings.topics.sources(), log_time(to_datetime))
        )
    except GroupIsActive as active:
        fail(str(active))
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


@click.group()
def dlq() -> None:
    """Dead letters, of the topics and of the queues: list, show and redrive them."""


def _queue_letters() -> list["QueueLetter"]:
    from ecommerce_streams.queues.dead_letters import queue_letters
    from ecommerce_streams.queues.store import read_queues

    settings = load_settings()
    return queue_letters(asyncio.run(read_queues(settings.bootstrap, settings.topics.queue_state)))


@dlq.command("list")
def dlq_list() -> None:
    """One line per letter: the dead-letters topic's, then those of the dead-letter queues."""
    from ecommerce_streams.operations.dead_letter_queue import read_queue

    settings = load_settings()
    queue = asyncio.run(read_queue(settings.bootstrap, settings.topics))
    for queued in queue:
        click.echo(queued.summary())
    letters = _queue_letters()
    for letter in letters:
        click.echo(letter.summary())
    redriven = sum(1 for q in queue if q.redrive is not None)
    click.echo(
        f"{len(queue)} dead letter(s), {redriven} redriven; {len(letters)} in dead-letter queues",
        err=True,
    )


@dlq.command("show")
@click.argument("letter")
def dlq_show(letter: str) -> None:
    """Show one letter in full: <partition>:<offset> (or its offset), or <queue>/<message id>."""
    from ecommerce_streams.operations.dead_letter_queue import find, read_queue
    from ecommerce_streams.queues.dead_letters import find_queue_letter

    try:
        if "/" in letter:
            click.echo(find_queue_letter(_queue_letters(), letter).details())
            return
        settings = load_settings()
        queue = asyncio.run(read_queue(settings.bootstrap, settings.topics))
        click.echo(find(queue, letter).details())
    except LookupError as missing:
        fail(str(missing.args[0]))


@dlq.command("redrive")
@click.option("--offset", "letters", multiple=True, help="Letter <partition>:<offset> (repeat).")
@click.option("--all", "everything", is_flag=True, help="Every letter not redriven yet.")
@click.option("--fix-with", default=None, help="File with the fixed message (one --offset).")
@click.option("--again", is_flag=True, help="Resend letters already redriven (with --offset).")
@click.option("--queue", "dead_letter_queue", help="Move a dead-letter queue's letters back.")
@click.option("--to", "destination", help="With --queue: move them to this queue instead.")
@click.option("--rate", type=int, help="With --queue: messages per second at most.")
def dlq_redrive(
    letters: tuple[str, ...],
    everything: bool,
    fix_with: str | None,
    again: bool,
    dead_letter_queue: str | None,
    destination: str | None,
    rate: int | None,
) -> None:
    """Resend topic letters to their source topic (effects stay once), or move queue letters."""
    from pathlib import Path

    from ecommerce_streams.cli.queues import start_move_task
    from ecommerce_streams.operations.consumer_group import group_id
    from ecommerce_streams.operations.dead_letter_queue import (
        choose,
        plan_resends,
        read_queue,
        redrive,
    )

    if dead_letter_queue is not None:
        if letters or everything or fix_with or again:
            raise click.UsageError("--queue moves a whole dead-letter queue: no other letters")
        start_move_task(dead_letter_queue, destination, rate)
        return
    if destination is not None or rate is not None:
        raise click.UsageError("--to and --rate go with --queue")
    if bool(letters) == everything:
        raise click.UsageError("give --offset (one or more), --all, or --queue")
    if fix_with and len(letters) != 1:
        raise click.UsageError("--fix-with needs exactly one --offset")
    if again and everything:
        raise click.UsageError("--again works with --offset only")
    settings = load_settings()
    queue = asyncio.run(read_queue(settings.bootstrap, settings.topics))
    try:
        chosen = choose(queue, letters, everything=everything)
    except LookupError as missing:
        fail(str(missing.args[0]))
    fix = Path(fix_with).read_bytes() if fix_with else None
    planned, refused = plan_resends(chosen, fix, again=again)
    if refused and not everything:
        fail("nothing redriven:\n" + "\n".join(str(refusal) for refusal in refused))
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
