"""A client of the Confluent Schema Registry API (Apicurio's ``/apis/ccompat/v7``, Karapace...).

Only what the platform needs: register, check compatibility with the registry's reasons,
read subjects, versions, schemas by id and compatibility levels. Errors the registry
answers become :class:`RegistryRefusal` with its error code and message.
"""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

JSON_SCHEMA = "JSON"
APICURIO_CCOMPAT = "/apis/ccompat/v7"
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryRefusal(Exception):
    """An error answer of the registry: HTTP status, its error code and message."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"HTTP {status} (error {code}): {message}")
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Registered:
    """One version of a subject: its number, global schema id and schema text."""

    subject: str
    version: int
    schema_id: int
    schema: str


class RegistryClient:
    """The registry at ``url`` (the API root, e.g. ``http://127.0.0.1:8081/apis/ccompat/v7``)."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "RegistryClient":
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        assert self._session is not None, "use the client as an async context manager"
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}
        async with self._session.request(
            method, self.url + path, data=data, headers=headers
        ) as response:
            text = await response.text()
            try:
                answer = json.loads(text) if text else None
            except ValueError:
                answer = text
            if response.status >= 400:
                code = answer.get("error_code") if isinstance(answer, dict) else None
                message = answer.get("message", text) if isinstance(answer, dict) else text
                raise RegistryRefusal(response.status, code, str(message))
            return answer

    async def subjects(self) -> list[str]:
        """Every subject."""
        return list(await self._call("GET", "/subjects"))

    async def versions(self, subject: str) -> list[int]:
        """The version numbers of ``subject``."""
        return list(await self._call("GET", f"/subjects/{quote(subject, safe='')}/versions"))

    async def version(self, subject: str, version: int | str = "latest") -> Registered:
        """One version of ``subject`` (the latest by default)."""
        answer = await self._call("GET", f"/subjects/{quote(subject, safe='')}/versions/{version}")
        return Registered(subject, answer["version"], answer["id"], answer["schema"])

    async def schema(self, schema_id: int) -> str:
        """The schema text with global id ``schema_id``."""
        return str((await self._call("GET", f"/schemas/ids/{schema_id}"))["schema"])

    async def register(self, subject: str, schema: str) -> int:
        """Register ``schema`` under ``subject`` (the same schema again is no new version): id."""
        body = {"schema": schema, "schemaType": JSON_SCHEMA}
        answer = await self._call("POST", f"/subjects/{quote(subject, safe='')}/versions", body)
        return int(answer["id"])

    async def compatibility(self, subject: str, schema: str) -> list[str]:
        """Why ``schema`` cannot follow the latest version of ``subject``; empty if it can."""
        body = {"schema": schema, "schemaType": JSON_SCHEMA}
        path = f"/compatibility/subjects/{quote(subject, safe='')}/versions/latest?verbose=true"
        try:
            answer = await self._call("POST", path, body)
        except RegistryRefusal as refused:
            if refused.status == 404:
                return []  # a new subject: nothing to be compatible with
            raise
        if answer.get("is_compatible"):
            return []
        messages = [str(message) for message in answer.get("messages") or ()]
        return messages or await self._apicurio_causes(subject, schema) or ["incompatible"]

    async def _apicurio_causes(self, subject: str, schema: str) -> list[str]:
        """Apicurio's reasons, from a dry run of its own API (its ccompat answer has none)."""
        if not self.url.endswith(APICURIO_CCOMPAT):
            return []
        base = self.url.removesuffix(APICURIO_CCOMPAT)
        path = f"/apis/registry/v3/groups/default/artifacts/{quote(subject, safe='')}/versions"
        body = {"content": {"content": schema, "contentType": "application/json"}}
        assert self._session is not None
        try:
            async with self._session.post(
                f"{base}{path}?dryRun=true", json=body, headers={"Accept": "application/json"}
            ) as response:
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, ValueError):
            return []
        causes = answer.get("causes") if isinstance(answer, dict) else None
        return [f"{c.get('description')} at {c.get('context')}" for c in causes or ()]

    async def level(self, subject: str | None = None) -> str:
        """The compatibility level of ``subject`` (its own, else the global one)."""
        path = "/config" if subject is None else f"/config/{quote(subject, safe='')}"
        if subject is not None:
            path += "?defaultToGlobal=true"
        answer = await self._call("GET", path)
        return str(answer.get("compatibilityLevel") or answer.get("compatibility"))

    async def set_level(self, subject: str | None, level: str) -> None:
        """Set the compatibility level of ``subject`` (or the global one)."""
        path = "/config" if subject is None else f"/config/{quote(subject, safe='')}"
        await self._call("PUT", path, {"compatibility": level})
