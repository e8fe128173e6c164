"""``ecommerce-streams schemas``: the models' event schemas against the registry."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from ecommerce_streams.cli.common import fail, load_settings
from ecommerce_streams.schemas.evolution import registry_url

T = TypeVar("T")


def _with_registry(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(client)`` on the configured registry; exit with advice if it is away."""
    import aiohttp

    from ecommerce_streams.schemas.registry_client import RegistryClient, RegistryRefusal

    url = registry_url(load_settings())

    async def run() -> T:
        async with RegistryClient(url) as client:
            return await work(client)

    try:
        return asyncio.run(run())
    except aiohttp.ClientConnectionError as away:
        fail(
            f"the schema registry at {url} cannot be reached ({away}): start the embedded one "
            "with `ecommerce-streams registry start`, or set ES_SCHEMA_REGISTRY_URL"
        )
    except RegistryRefusal as refused:
        fail(f"the schema registry refused: {refused}")


def _subjects() -> dict[str, Any]:
    from ecommerce_streams.schemas.evolution import by_subject, current_schemas

    return by_subject(current_schemas(), load_settings().topics.name)


@click.group()
def schemas() -> None:
    """Event schemas from the models: check, register, diff, list, keep a release."""


@schemas.command("check")
def schemas_check() -> None:
    """Fail if a model's schema cannot follow what the registry holds (the registry's reason)."""
    from ecommerce_streams.schemas.evolution import incompatible

    wanted = _subjects()
    found = _with_registry(lambda client: incompatible(client, wanted))
    for name, reasons in found.items():
        click.echo(f"{name}: incompatible", err=True)
        for reason in reasons:
            click.echo(f"  {reason}", err=True)
    if found:
        raise SystemExit(1)
    click.echo(f"{len(wanted)} subjects compatible with the registry")


@schemas.command("register")
def schemas_register() -> None:
    """Register every event type's schema under its subject, with its compatibility level."""
    from ecommerce_streams.schemas.evolution import register

    settings, wanted = load_settings(), _subjects()
    ids = _with_registry(
        lambda client: register(
            client,
            wanted,
            settings.schema_compatibility,
            settings.schema_compatibility_per_subject,
        )
    )
    for name, schema_id in ids.items():
        click.echo(f"{name}: id {schema_id}")


@schemas.command("list")
def schemas_list() -> None:
    """Every subject of the registry: versions, latest schema id, compatibility level."""
    from ecommerce_streams.schemas.evolution import listing

    rows = _with_registry(listing)
    for row in rows:
        versions = ",".join(str(v) for v in row["versions"])
        click.echo(
            f"{row['subject']}  versions {versions}  id {row['latest_id']}  {row['compatibility']}"
        )


@schemas.command("diff")
@click.option("--release", type=int, help="Compare with this kept release [default: the last].")
def schemas_diff(release: int | None) -> None:
    """What changed in each event's schema since a kept release."""
    from ecommerce_streams.schemas.evolution import current_schemas
    from ecommerce_streams.schemas.released import released_schemas, releases
    from models.schemas.diff import differences

    kept = releases()
    if not kept:
        fail("no release is kept yet: `ecommerce-streams schemas keep --release 1` keeps one")
    try:
        old = released_schemas(release or kept[-1])
    except LookupError as missing:
        fail(str(missing.args[0]))
    new = current_schemas()
    changed = 0
    for event_type in sorted(set(old) | set(new)):
        if event_type not in new:
            click.echo(f"{event_type}: removed")
        elif event_type not in old:
            click.echo(f"{event_type}: new")
        else:
            lines = differences(old[event_type], new[event_type])
            if lines:
                click.echo(f"{event_type}:")
                for line in lines:
                    click.echo(f"  {line}")
        changed += event_type not in old or event_type not in new or bool(lines)
    click.echo(f"{changed} event type(s) changed since release {release or kept[-1]}", err=True)


@schemas.command("keep")
@click.option("--release", type=int, required=True, help="The release these schemas ship in.")
def schemas_keep(release: int) -> None:
    """Keep the models' schemas as a release's, for later checks and diffs."""
    from ecommerce_streams.schemas.evolution import current_schemas
    from ecommerce_streams.schemas.released import write_release

    folder = write_release(release, current_schemas())
    click.echo(f"kept in {folder}")


@schemas.command("show")
@click.argument("event_type")
def schemas_show(event_type: str) -> None:
    """Print one event type's schema from the models."""
    from ecommerce_streams.schemas.evolution import current_schemas

    schema = current_schemas().get(event_type)
    if schema is None:
        fail(f"unknown event type {event_type!r}")
    click.echo(json.dumps(schema, indent=2))
