"""The HTTP face of served agents: a Starlette app with streamable HTTP and SSE endpoints per agent,
`/health`, bearer-token auth (a static token, or the access tokens of an authorization server),
Host/Origin checks and request body limits.

One agent is served at `/mcp` (streamable HTTP) and `/sse` (legacy SSE); with several, each is at
`/<name>/mcp` and `/<name>/sse` (the single agent also answers there).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server import Server
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mcpagents.agents.mcp_server import RunsInFlight, agent_server
from mcpagents.errors import ConfigError
from mcpagents.http_server.auth import BearerToken
from mcpagents.serving.protected_endpoints import ProtectedEndpoints
from mcpagents.serving.settings import ServerSettings

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent


def http_app(
    agents: Sequence[MultiStepAgent], settings: ServerSettings | None = None, *, workers: int = 1
) -> Starlette:
    """The app serving `agents` (opened by its lifespan, which also closes them). `app.state.runs`
    counts the calls in flight.

    `workers`: how many processes serve this app behind one port. With more than one, legacy SSE
    is refused with a reason (its session lives in the process its GET stream reached, while its
    messages may reach another), and sessions must be off (`settings.stateless`).

    With `settings.oauth_issuer` every endpoint is an OAuth protected resource (see
    `protected_endpoints`), named by its URL on `settings.host` and `settings.port` unless
    `settings.resource_url` names one for all: behind an ASGI server of your own, give the URL
    callers reach it at.
    """
    settings = settings or ServerSettings()
    settings.check_workers(workers)
    if not agents:
        raise ConfigError("http_app needs at least one agent")
    names = [agent.name for agent in agents]
    if len(set(names)) != len(names):
        raise ConfigError(f"two agents share a name ({', '.join(map(str, names))}): each needs its own path")
    runs = RunsInFlight()
    protected = ProtectedEndpoints(settings, settings.oauth_issuer) if settings.oauth_issuer else None
    served = [_ServedAgent(agent, settings, runs, workers, protected) for agent in agents]
    endpoints: list[BaseRoute] = []
    for agent in served:
        endpoints += agent.routes(f"/{agent.name}")
    if len(served) == 1:
        endpoints += served[0].routes("")
    routes: list[BaseRoute] = [Route("/health", _health(served), methods=["GET"])]
    routes += protected.metadata_routes() if protected is not None else []
    routes += endpoints

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for agent in served:
                await stack.enter_async_context(agent.running())
            yield

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runs = runs
    if settings.token is not None:
        app.add_middleware(BearerToken, token=settings.token)
    return app


class _ServedAgent:
    def __init__(
        self,
        agent: MultiStepAgent,
        settings: ServerSettings,
        runs: RunsInFlight,
        workers: int,
        protected: ProtectedEndpoints | None,
    ) -> None:
        assert agent.name is not None
        self.agent = agent
        self.name = agent.name
        self.settings = settings
        self.workers = workers
        self.protected = protected
        self.conversations = settings.conversations(agent.name)
        self.server: Server[Any] = agent_server(
            agent, conversations=self.conversations, runs=runs, **settings.served_agent_options(agent.name)
        )
        security = settings.transport_security()
        self.sessions = StreamableHTTPSessionManager(
            self.server,
            stateless=settings.stateless,
            security_settings=security,
            max_request_body_size=settings.max_body_bytes,
        )
        self._security = security

    def routes(self, prefix: str) -> list[BaseRoute]:
        streamable = Route(
            f"{prefix}/mcp", self._guarded(StreamableHTTPASGIApp(self.sessions), f"{prefix}/mcp")
        )
        if self.workers > 1:
            refusal = (
                f"legacy SSE keeps its session in one process and this server runs {self.workers}:"
                f" connect to {prefix}/mcp (streamable HTTP)"
            )
            return [streamable, Route(f"{prefix}/sse", PlainTextResponse(refusal, status_code=404))]
        sse = SseServerTransport(
            f"{prefix}/messages/",
            security_settings=self._security,
            max_request_body_size=self.settings.max_body_bytes,
        )
        return [
            streamable,
            Route(
                f"{prefix}/sse",
                self._guarded(_SseEndpoint(self.server, sse), f"{prefix}/sse"),
                methods=["GET"],
            ),
            # A session's messages go with its stream: the same resource.
            Mount(f"{prefix}/messages/", app=self._guarded(sse.handle_post_message, f"{prefix}/sse")),
        ]

    def _guarded(self, app: ASGIApp, resource_path: str) -> ASGIApp:
        """`app` behind the guard of the resource at `resource_path`, when access tokens are checked."""
        return app if self.protected is None else self.protected.guard(app, resource_path, self.name)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        try:
            await self.agent.aopen()  # a server that cannot start its tools fails now, not on a call
            async with self.sessions.run():
                yield
        finally:
            await self.conversations.aclose()
            await self.agent.aclose()


class _SseEndpoint:
    """GET /sse: one legacy SSE session served until the client goes away."""

    def __init__(self, server: Server[Any], transport: SseServerTransport) -> None:
        self.server = server
        self.transport = transport

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self.transport.connect_sse(scope, receive, send) as (read, write):
            await self.server.run(read, write, self.server.create_initialization_options())


def _health(served: Sequence[_ServedAgent]) -> Any:
    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "agents": {agent.name: {"conversations": len(agent.conversations)} for agent in served},
            }
        )

    return health
