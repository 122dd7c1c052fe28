"""The HTTP face of served agents: a Starlette app with streamable HTTP and SSE endpoints per agent,
`/health`, bearer-token auth, Host/Origin checks and request body limits.

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
from starlette.types import Receive, Scope, Send

from mcpagents.agents.mcp_server import RunsInFlight, agent_server
from mcpagents.errors import ConfigError
from mcpagents.http_server.auth import BearerToken
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
    """
    settings = settings or ServerSettings()
    settings.check_workers(workers)
    if not agents:
        raise ConfigError("http_app needs at least one agent")
    names = [agent.name for agent in agents]
    if len(set(names)) != len(names):
        raise ConfigError(f"two agents share a name ({', '.join(map(str, names))}): each needs its own path")
    runs = RunsInFlight()
    served = [_ServedAgent(agent, settings, runs, workers) for agent in agents]
    routes: list[BaseRoute] = [Route("/health", _health(served), methods=["GET"])]
    for agent in served:
        routes += agent.routes(f"/{agent.name}")
    if len(served) == 1:
        routes += served[0].routes("")

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
        self, agent: MultiStepAgent, settings: ServerSettings, runs: RunsInFlight, workers: int
    ) -> None:
        assert agent.name is not None
        self.agent = agent
        self.name = agent.name
        self.settings = settings
        self.workers = workers
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
        streamable = Route(f"{prefix}/mcp", StreamableHTTPASGIApp(self.sessions))
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
            Route(f"{prefix}/sse", _SseEndpoint(self.server, sse), methods=["GET"]),
            Mount(f"{prefix}/messages/", app=sse.handle_post_message),
        ]

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
