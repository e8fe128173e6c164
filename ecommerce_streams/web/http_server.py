"""The worker's HTTP server: Faust's aiohttp server with only the shop's routes, all guarded.

Faust mounts its own blueprints unless told otherwise: ``/router/`` (every worker's
URL and partition assignment), ``/table/`` (table contents), ``/`` and the statistics
pages. None is served here; an operator finds a worker's partitions on its ``/ready``
page. Every route goes through the :class:`~ecommerce_streams.web.guard.Guard` middleware.

A request aiohttp cannot parse (an over-long request line or header, a malformed
header, not HTTP at all) is answered by the connection before any middleware runs,
as ``text/plain``. :class:`ProblemRequestHandler` answers it as a problem document
instead; aiohttp has no public hook for that connection class, so
:class:`ProblemRunner` builds its server with one (aiohttp's ``Server.__call__``,
pinned by ``tests/unit/test_web_guard.py``).
"""

from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from faust.types import AppT
from faust.web.drivers import aiohttp as faust_aiohttp

from ecommerce_streams.web.guard import Guard, request_id_of
from ecommerce_streams.web.problems import http_problem, problem_response


class ShopWeb(faust_aiohttp.Web):
    """Faust's aiohttp web server serving the shop's endpoints only, behind ``guard``."""

    default_blueprints = ()
    production_blueprints = ()
    debug_blueprints = ()
    optional_blueprints = ()

    def __init__(self, app: AppT, guard: Guard, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.web_app.middlewares.append(guard)
        self._runner = ProblemRunner(self.web_app, access_log=None)


class ProblemRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering requests it cannot parse with a problem."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Log as aiohttp does, then answer ``status`` as a problem that echoes no input."""
        super().handle_error(request, status, exc, message)
        response = problem_response(http_problem(status), request_id_of(request))
        response.force_close()
        return response


class ProblemServer(web.Server):
    """aiohttp's low-level server, its connections handled by :class:`ProblemRequestHandler`."""

    def __call__(self) -> RequestHandler:
        """A handler for one new connection."""
        return ProblemRequestHandler(self, loop=self._loop, **self._kwargs)


class ProblemRunner(web.AppRunner):
    """aiohttp's application runner whose server is a :class:`ProblemServer`."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return ProblemServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )
