"""The event schemas on the real registry (Apicurio, kafkasql on the real broker)."""

import copy
import json
import os
import subprocess
from typing import Any

import pytest

from ecommerce_streams.harness.kafka import free_port
from ecommerce_streams.harness.registry import EmbeddedRegistry
from ecommerce_streams.schemas.evolution import by_subject, current_schemas, register
from ecommerce_streams.schemas.registry_client import RegistryClient, RegistryRefusal
from ecommerce_streams.schemas.released import released_schemas, releases
from ecommerce_streams.topic_names import TopicNames
from ecommerce_streams.web import schemas_view
from ecommerce_streams.worker.app import settings
from models.schemas.json_schema import canonical
from tests.integration.operator import run_cli_blocking
from tests.web_client import get_json
from tests.web_events import unique
from tests.web_local import serving

pytestmark = pytest.mark.integration


def order_placed(**changes: Any) -> dict[str, Any]:
    """OrderPlaced's schema from the models with ``changes`` made to its payload's properties."""
    schema = copy.deepcopy(current_schemas()["OrderPlaced"])
    data = schema["properties"]["data"]
    for name, definition in changes.items():
        data["properties"][name] = definition
    return schema


def schemas_cli(url: str, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``ecommerce-streams schemas ARGS`` against the registry at ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ES_")}
    env.update(ES_SCHEMA_REGISTRY_URL=url, ES_TOPIC_PREFIX=prefix)
    return run_cli_blocking(env, "schemas", *args, timeout=120)


async def test_each_release_follows_the_one_before_and_the_models_follow_the_last(
    registry: EmbeddedRegistry,
) -> None:
    prefix = f"{unique('schemas')}."
    names = TopicNames(prefix)
    async with RegistryClient(registry.ccompat_url) as client:
        for release in releases():  # each refused by the registry if it broke the one before
            last = by_subject(released_schemas(release), names.name)
            await register(client, last, "BACKWARD", {})
        placed_versions = await client.versions(f"{prefix}orders-OrderPlaced")

    checked = schemas_cli(registry.ccompat_url, prefix, "check")
    registered = schemas_cli(registry.ccompat_url, prefix, "register")
    listed = schemas_cli(registry.ccompat_url, prefix, "list")

    assert len(releases()) >= 2 and len(placed_versions) >= 2  # OrderPlaced evolved
    assert checked.returncode == 0, checked.stderr
    assert registered.returncode == 0, registered.stderr
    assert f"{prefix}orders-OrderPlaced  versions " in listed.stdout
    assert listed.stdout.count(prefix) == len(last)
    assert "BACKWARD" in listed.stdout


async def test_an_incompatible_change_is_refused_with_the_registrys_reason(
    registry: EmbeddedRegistry,
) -> None:
    subject = f"{unique('schemas')}.orders-OrderPlaced"
    stricter = order_placed(coupon={"type": "string"})
    stricter["properties"]["data"]["required"].append("coupon")
    async with RegistryClient(registry.ccompat_url) as client:
        await client.set_level(subject, "BACKWARD")
        await client.register(subject, canonical(current_schemas()["OrderPlaced"]))
        reasons = await client.compatibility(subject, canonical(stricter))
        with pytest.raises(RegistryRefusal) as refused:
            await client.register(subject, canonical(stricter))
        versions = await client.versions(subject)

    assert reasons == ["A new required property was added at /properties/data/required"]
    assert refused.value.status == 409
    assert "A new required property was added" in refused.value.message
    assert versions == [1]


async def test_an_optional_field_on_a_closed_payload_is_a_compatible_new_version(
    registry: EmbeddedRegistry,
) -> None:
    subject = f"{unique('schemas')}.orders-OrderPlaced"
    wider = order_placed(wrapping={"type": "string", "maxLength": 200})
    async with RegistryClient(registry.ccompat_url) as client:
        await client.set_level(subject, "BACKWARD")
        first = await client.register(subject, canonical(current_schemas()["OrderPlaced"]))
        reasons = await client.compatibility(subject, canonical(wider))
        second = await client.register(subject, canonical(wider))
        again = await client.register(subject, canonical(wider))
        latest = await client.version(subject)

    assert reasons == []
    assert second != first and again == second  # the same schema twice is no new version
    assert latest.version == 2 and json.loads(latest.schema) == wider


async def test_the_registry_keeps_its_schemas_across_a_kill_and_restart(
    registry: EmbeddedRegistry,
) -> None:
    subject = f"{unique('schemas')}.payments-PaymentAuthorized"
    schema = canonical(current_schemas()["PaymentAuthorized"])
    async with RegistryClient(registry.ccompat_url) as client:
        schema_id = await client.register(subject, schema)

    registry.kill()
    registry.start(timeout=240)
    async with RegistryClient(registry.ccompat_url) as client:
        latest = await client.version(subject)
        by_id = await client.schema(schema_id)

    assert (latest.schema_id, latest.version) == (schema_id, 1)
    assert json.loads(by_id) == json.loads(schema)


async def test_get_schemas_on_a_worker_lists_its_subjects_versions_and_levels(
    registry: EmbeddedRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schemas_view, "registry_url", lambda settings: registry.ccompat_url)
    ours = by_subject(current_schemas(), settings.topics.name)
    async with RegistryClient(registry.ccompat_url) as client:
        await register(client, ours, "BACKWARD", {})

    async with serving() as url:
        status, content_type, answer = await get_json(f"{url}/schemas")

    assert (status, content_type) == (200, "application/json")
    assert answer["registry"] == registry.ccompat_url
    assert answer["not_registered"] == []
    rows = {row["subject"]: row for row in answer["subjects"]}
    assert set(rows) == set(ours)
    assert rows[settings.topics.orders + "-OrderPlaced"]["compatibility"] == "BACKWARD"
    assert all(row["versions"] for row in rows.values())


async def test_get_schemas_is_a_503_problem_while_the_registry_is_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    away = f"http://127.0.0.1:{free_port()}/apis/ccompat/v7"
    monkeypatch.setattr(schemas_view, "registry_url", lambda settings: away)

    async with serving() as url:
        status, content_type, answer = await get_json(f"{url}/schemas")

    assert (status, content_type) == (503, "application/problem+json")
    assert away in answer["detail"]
