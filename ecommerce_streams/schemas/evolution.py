"""The event schemas against a registry: check, register, list; and framed messages' schemas."""

from collections.abc import Callable, Mapping
from typing import Any

from ecommerce_streams.harness.kafka.server_config import LOOPBACK
from ecommerce_streams.harness.registry.service import CCOMPAT_PATH
from ecommerce_streams.schemas.registry_client import RegistryClient, RegistryRefusal
from ecommerce_streams.settings import Settings
from models.events import PAYLOAD_TYPES
from models.schemas.json_schema import canonical, event_schema, subject
from models.topics import TopicRole


def registry_url(settings: Settings) -> str:
    """The schema registry's API: ES_SCHEMA_REGISTRY_URL, else the embedded registry's."""
    if settings.schema_registry_url:
        return settings.schema_registry_url
    return f"http://{LOOPBACK}:{settings.registry_port}{CCOMPAT_PATH}"


def current_schemas() -> dict[str, dict[str, Any]]:
    """Every event type's schema from the models in this tree."""
    return {event_type: event_schema(payload) for event_type, payload in PAYLOAD_TYPES.items()}


def by_subject(
    schemas: Mapping[str, Mapping[str, Any]], topic_of: Callable[[TopicRole], str]
) -> dict[str, Mapping[str, Any]]:
    """Schemas by event type under their subjects, for the deployment's topic names."""
    return {
        subject(topic_of(PAYLOAD_TYPES[event_type].topic), event_type): schema
        for event_type, schema in sorted(schemas.items())
    }


async def incompatible(
    client: RegistryClient, schemas: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[str]]:
    """The subjects whose schema here cannot follow the registry's latest, with its reasons."""
    found = {}
    for name, schema in schemas.items():
        reasons = await client.compatibility(name, canonical(schema))
        if reasons:
            found[name] = reasons
    return found


async def register(
    client: RegistryClient,
    schemas: Mapping[str, Mapping[str, Any]],
    level: str,
    levels: Mapping[str, str],
) -> dict[str, int]:
    """Set each subject's level, then register its schema: the global id of each."""
    ids = {}
    for name, schema in schemas.items():
        await client.set_level(name, levels.get(name, level))
        ids[name] = await client.register(name, canonical(schema))
    return ids


async def listing(client: RegistryClient) -> list[dict[str, Any]]:
    """Every subject with its versions, latest schema id and compatibility level."""
    rows = []
    for name in sorted(await client.subjects()):
        try:
            latest = await client.version(name)
            level = await client.level(name)
        except RegistryRefusal:
            continue  # deleted meanwhile
        rows.append(
            {
                "subject": name,
                "versions": await client.versions(name),
                "latest_id": latest.schema_id,
                "compatibility": level,
            }
        )
    return rows
