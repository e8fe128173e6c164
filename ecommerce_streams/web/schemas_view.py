"""``GET /schemas``: the subjects of this deployment's events in the registry, as they stand."""

import aiohttp
from faust.web import Request, Response, View

from ecommerce_streams.schemas.evolution import by_subject, current_schemas, listing, registry_url
from ecommerce_streams.schemas.registry_client import RegistryClient, RegistryRefusal
from ecommerce_streams.web.guard import OPERATIONS
from ecommerce_streams.web.problems import Problem
from ecommerce_streams.worker.app import app, settings

REGISTRY_TIMEOUT_SECONDS = 5.0


@app.endpoint("/schemas", OPERATIONS)
class Schemas(View):
    """The registry's subjects of our event types: versions, latest id, compatibility level."""

    async def get(self, request: Request) -> Response:
        """200 with the subjects (and those not registered yet), or 503 if the registry is away."""
        url = registry_url(settings)
        ours = set(by_subject(current_schemas(), settings.topics.name))
        try:
            async with RegistryClient(url, timeout=REGISTRY_TIMEOUT_SECONDS) as client:
                rows = [row for row in await listing(client) if row["subject"] in ours]
        except (aiohttp.ClientError, TimeoutError, RegistryRefusal) as away:
            raise Problem(
                503,
                "registry-unavailable",
                "Schema registry unavailable",
                f"the schema registry at {url} did not answer: {away}",
                headers={"Retry-After": "5"},
            ) from None
        registered = {row["subject"] for row in rows}
        return self.json(
            {"registry": url, "subjects": rows, "not_registered": sorted(ours - registered)}
        )
