"""Framed events (Confluent's wire format) checked against the schema their id names.

The schema of each id is fetched from the registry once and compiled (fastjsonschema); a
framed value is accepted when its JSON is valid under that schema, and handed on as the
plain envelope JSON our decoder reads. A value that is not JSON, an unknown id, JSON that
does not match its schema, or a registry that stays away for ``REGISTRY_WAIT_SECONDS``
is refused with the reason (a dead letter on a topic, a 400 or 503 at ingestion).

The wait holds up the worker's input, so it is spent once per outage: while the registry
has not answered since a lookup gave up, a lookup asks once and is refused at once. A
value is parsed before its schema is looked up, so bytes that merely begin with the magic
byte (garbage, or an attacker's ids) never make the worker wait for the registry.
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import fastjsonschema
import orjson

from ecommerce_streams.schemas.registry_client import RegistryClient, RegistryRefusal
from models.schemas.framing import InvalidFraming, unframe

logger = logging.getLogger(__name__)
REGISTRY_WAIT_SECONDS = 10.0
RETRY_SECONDS = 0.5
AWAY_TIMEOUT_SECONDS = 1.0
"""How long the one request of a lookup made while the registry is away may take."""


class RegistryUnavailable(InvalidFraming):
    """The registry did not answer: the value may well be valid (redrive it later)."""


class FramedEvents:
    """The schemas of the ids seen so far, and the check of a framed value against its own."""

    def __init__(self, registry_url: str, *, wait_seconds: float = REGISTRY_WAIT_SECONDS) -> None:
        self.registry_url = registry_url
        self.wait_seconds = wait_seconds
        self._validators: dict[int, Callable[[Any], Any]] = {}
        self._unknown: set[int] = set()
        #: Whether a lookup gave up on the registry and none has been answered since.
        self.registry_away = False

    async def plain(self, raw: bytes) -> bytes:
        """The envelope JSON of a framed value valid under its schema; InvalidFraming if not."""
        schema_id, payload = unframe(raw)
        try:
            document = orjson.loads(payload)
        except orjson.JSONDecodeError as error:
            raise InvalidFraming(
                f"framed with schema id {schema_id} but not JSON: {error}"
            ) from None
        validate = await self._validator(schema_id)
        try:
            validate(document)
        except fastjsonschema.JsonSchemaException as mismatch:
            raise InvalidFraming(f"does not match schema id {schema_id}: {mismatch}") from None
        return payload

    async def _validator(self, schema_id: int) -> Callable[[Any], Any]:
        found = self._validators.get(schema_id)
        if found is not None:
            return found
        if schema_id in self._unknown:
            raise InvalidFraming(f"unknown schema id {schema_id}: the registry has no such schema")
        text = await self._fetch(schema_id)
        try:
            validator = fastjsonschema.compile(json.loads(text))
        except (ValueError, fastjsonschema.JsonSchemaDefinitionException) as bad:
            raise InvalidFraming(
                f"schema id {schema_id} is not a usable JSON Schema: {bad}"
            ) from None
        self._validators[schema_id] = validator
        return validator

    async def _fetch(self, schema_id: int) -> str:
        wait = 0.0 if self.registry_away else self.wait_seconds
        deadline = time.monotonic() + wait
        while True:
            try:
                timeout = AWAY_TIMEOUT_SECONDS if self.registry_away else 5.0
                async with RegistryClient(self.registry_url, timeout=timeout) as client:
                    text = await client.schema(schema_id)
                self.registry_away = False
                return text
            except RegistryRefusal as refused:
                if refused.status == 404:
                    self.registry_away = False
                    self._unknown.add(schema_id)
                    raise InvalidFraming(
                        f"unknown schema id {schema_id}: the registry has no such schema"
                    ) from None
                problem: Exception = refused
            except (aiohttp.ClientError, TimeoutError) as away:
                problem = away
            if time.monotonic() >= deadline:
                self.registry_away = True
                raise RegistryUnavailable(
                    f"schema id {schema_id} could not be read from the registry at "
                    f"{self.registry_url} within {wait:.0f} s: {problem}"
                )
            logger.warning("schema id %d: registry away, retrying: %r", schema_id, problem)
            await asyncio.sleep(RETRY_SECONDS)
