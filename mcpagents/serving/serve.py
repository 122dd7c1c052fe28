"""Serve agents over stdio (for hosts that start them) or HTTP (streamable HTTP and SSE)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import anyio
from rich.console import Console

from mcpagents.agents.console import AgentConsole
from mcpagents.errors import ConfigError
from mcpagents.runtime import running_loop, shared_home
from mcpagents.serving.http_app import http_app
from mcpagents.serving.listen import listen
from mcpagents.serving.settings import LOOPBACK_HOSTS, ServerSettings

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent

Transport = Literal["stdio", "http", "sse"]
TOKEN_VARIABLE = "MCPAGENTS_TOKEN"
DEFAULT_PORT = 8000
DEFAULT_GRACE = 10


def serve(
    agents: MultiStepAgent | Sequence[MultiStepAgent],
    *,
    transport: Transport = "stdio",
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    settings: ServerSettings | None = None,
    grace: int = DEFAULT_GRACE,
    allow_no_token: bool = False,
) -> None:
    """Serve `agents` until interrupted (see `aserve`). From a plain script it runs in this thread,
    which handles SIGINT/SIGTERM; under a running loop (Jupyter) in the shared background loop."""
    options: dict[str, Any] = {
        "transport": transport,
        "host": host,
        "port": port,
        "settings": settings,
        "grace": grace,
        "allow_no_token": allow_no_token,
    }
    if running_loop() is None:
        anyio.run(partial(aserve, agents, **options))
    else:
        shared_home().run_blocking(aserve, agents, **options)


async def aserve(
    agents: MultiStepAgent | Sequence[MultiStepAgent],
    *,
    transport: Transport = "stdio",
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    settings: ServerSettings | None = None,
    grace: int = DEFAULT_GRACE,
    allow_no_token: bool = False,
) -> None:
    """Serve `agents`, each as one MCP tool named after it.

    `stdio` serves one agent on this process's stdin/stdout (what Claude Desktop and IDEs start).
    `http` and `sse` serve an HTTP app (both endpoints, see `http_app`) on `host:port` (`port=0`:
    any free port; the URL is printed on stderr). The token comes from `settings.token` or
    `$MCPAGENTS_TOKEN`; a host other than loopback needs one unless `allow_no_token`. On SIGINT or
    SIGTERM runs in flight get `grace` seconds to finish, then are cancelled.
    """
    served = [agents] if not isinstance(agents, Sequence) else list(agents)
    for agent in served:
        if agent.console.verbosity_level > 0:  # stdout may be the protocol: the console goes to stderr
            agent.console = AgentConsole(agent.console.verbosity_level, Console(stderr=True))
    if transport == "stdio":
        if len(served) != 1:
            raise ConfigError(f"stdio serves one agent, not {len(served)}: serve several over http")
        await _serve_stdio(served[0], settings or ServerSettings())
        return
    if transport not in ("http", "sse"):
        raise ConfigError(f"unknown transport {transport!r}: expected stdio, http or sse")
    settings = settings or ServerSettings()
    if settings.token is None and os.environ.get(TOKEN_VARIABLE):
        settings = replace(settings, token=os.environ[TOKEN_VARIABLE])
    if settings.token is None and host not in LOOPBACK_HOSTS and not allow_no_token:
        raise ConfigError(
            f"serving on {host} (not loopback) needs a token: pass --token or set ${TOKEN_VARIABLE}"
            " (or --allow-no-token if something in front of this server checks who calls)"
        )
    await _serve_http(served, host, port, settings, grace, transport)


async def _serve_stdio(agent: MultiStepAgent, settings: ServerSettings) -> None:
    from mcp.server.stdio import stdio_server

    from mcpagents.serving.agent_server import agent_server

    conversations = settings.conversations()
    server = agent_server(agent, settings, conversations=conversations)
    try:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        with anyio.CancelScope(shield=True):
            await conversations.aclose()
            await agent.aclose()


async def _serve_http(
    agents: list[MultiStepAgent], host: str, port: int, settings: ServerSettings, grace: int, transport: str
) -> None:
    import uvicorn

    from mcpagents.serving.graceful import GracefulServer

    app = http_app(agents, settings)
    try:
        listener, base = listen(host, port)
    except OSError as error:
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror or error}") from error

    def announce() -> None:
        for agent in agents:
            path = "/mcp" if len(agents) == 1 else f"/{agent.name}/mcp"
            if transport == "sse":
                path = path.removesuffix("/mcp") + "/sse"
            print(f"mcpagents: serving {agent.name} at {base}{path}", file=sys.stderr, flush=True)

    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=grace, lifespan="on")
    await GracefulServer(config, app.state.runs, grace, on_ready=announce).serve([listener])
