"""Serve agents over stdio (for hosts that start them) or HTTP (streamable HTTP and SSE)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Literal

import anyio
from rich.console import Console

from mcpagents.agents.console import AgentConsole
from mcpagents.errors import ConfigError
from mcpagents.http_server.auth import TOKEN_VARIABLE
from mcpagents.http_server.guard import LOOPBACK_HOSTS
from mcpagents.http_server.listen import listen
from mcpagents.portal import running_loop, shared_portal
from mcpagents.serving.http_app import http_app
from mcpagents.serving.settings import ServerSettings

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent

Transport = Literal["stdio", "http", "sse"]


def serve(
    agents: MultiStepAgent | Sequence[MultiStepAgent],
    *,
    transport: Transport = "stdio",
    settings: ServerSettings | None = None,
) -> None:
    """Serve `agents` until interrupted (see `aserve`). From a plain script it runs in this thread,
    which handles SIGINT/SIGTERM; under a running loop (Jupyter) in the shared background loop."""
    if running_loop() is None:
        anyio.run(partial(aserve, agents, transport=transport, settings=settings))
    else:
        shared_portal().call(aserve, agents, transport=transport, settings=settings)


async def aserve(
    agents: MultiStepAgent | Sequence[MultiStepAgent],
    *,
    transport: Transport = "stdio",
    settings: ServerSettings | None = None,
) -> None:
    """Serve `agents`, each as one MCP tool named after it.

    `stdio` serves one agent on this process's stdin/stdout (what Claude Desktop and IDEs start).
    `http` and `sse` serve an HTTP app (both endpoints, see `http_app`) on the settings' `host` and
    `port` (0: any free port; the URL is printed on stderr). The token comes from `settings.token` or
    `$MCPAGENTS_TOKEN`, unless `settings.oauth_issuer` names an authorization server whose tokens
    are taken instead; a host other than loopback needs one of them unless `settings.allow_no_token`. On
    SIGINT or SIGTERM runs in flight get `settings.grace` seconds to finish, then are cancelled.
    """
    served = [agents] if not isinstance(agents, Sequence) else list(agents)
    consoles_to_stderr(served)
    if transport == "stdio":
        if len(served) != 1:
            raise ConfigError(f"stdio serves one agent, not {len(served)}: serve several over http")
        await _serve_stdio(served[0], settings or ServerSettings())
        return
    if transport not in ("http", "sse"):
        raise ConfigError(f"unknown transport {transport!r}: expected stdio, http or sse")
    await _serve_http(served, guarded(settings or ServerSettings()), transport)


def guarded(settings: ServerSettings) -> ServerSettings:
    """`settings` with the token of `$MCPAGENTS_TOKEN` if they name none and no authorization server;
    a `ConfigError` when serving beyond loopback without either (unless `allow_no_token`), or with an
    authorization server but no public `resource_url` for its tokens to name."""
    loopback = settings.host in LOOPBACK_HOSTS
    if settings.oauth_issuer is not None:
        if os.environ.get(TOKEN_VARIABLE) and settings.token is None:
            raise ConfigError(
                f"${TOKEN_VARIABLE} is set, and --oauth-issuer given: a static token and an authorization"
                f" server are exclusive; unset ${TOKEN_VARIABLE} to serve with the authorization server"
            )
        if not loopback and settings.resource_url is None:
            raise ConfigError(
                f"serving on {settings.host} (not loopback) with an authorization server needs"
                " --resource-url: the URL callers reach this server at, which their tokens must name"
            )
        return settings
    if settings.token is None and os.environ.get(TOKEN_VARIABLE):
        settings = replace(settings, token=os.environ[TOKEN_VARIABLE])
    if settings.token is None and not loopback and not settings.allow_no_token:
        raise ConfigError(
            f"serving on {settings.host} (not loopback) needs a token: pass --token or set"
            f" ${TOKEN_VARIABLE}, or --oauth-issuer for the tokens of an authorization server (or"
            " --allow-no-token if something in front of this server checks who calls)"
        )
    return settings


async def _serve_stdio(agent: MultiStepAgent, settings: ServerSettings) -> None:
    from mcp.server.stdio import stdio_server

    from mcpagents.agents.mcp_server import agent_server

    conversations = settings.conversations(agent.name or "")
    server = agent_server(
        agent, conversations=conversations, **settings.served_agent_options(agent.name or "")
    )
    try:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        with anyio.CancelScope(shield=True):
            await conversations.aclose()
            await agent.aclose()


async def _serve_http(agents: list[MultiStepAgent], settings: ServerSettings, transport: str) -> None:
    listener, base = listen_or_explain(settings.host, settings.port)
    names = [agent.name or "" for agent in agents]
    await serve_http_on(listener, agents, settings, on_ready=lambda: announce(names, base, transport))


def consoles_to_stderr(agents: Sequence[MultiStepAgent]) -> None:
    """Agents that print their steps print them on stderr: stdout may be the protocol (stdio)."""
    for agent in agents:
        if agent.console.verbosity_level > 0:
            agent.console = AgentConsole(agent.console.verbosity_level, Console(stderr=True))


def listen_or_explain(host: str, port: int) -> tuple[socket.socket, str]:
    """`listen(host, port)`, its failure a `ConfigError` saying why."""
    try:
        return listen(host, port)
    except OSError as error:
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror or error}") from error


async def serve_http_on(
    listener: socket.socket,
    agents: list[MultiStepAgent],
    settings: ServerSettings,
    *,
    on_ready: Callable[[], None],
    workers: int = 1,
) -> None:
    """Serve `agents`' HTTP app on `listener` until SIGINT or SIGTERM; `on_ready` once it listens.

    The agents' tools open before the server starts, so a server that cannot start fails here with
    its own error (not as a traceback in uvicorn's log)."""
    from mcpagents.serving.graceful import GracefulServer

    # The port it listens on (not 0): endpoints' URLs are derived from it (`resource_of`).
    settings = replace(settings, port=listener.getsockname()[1])
    app = http_app(agents, settings, workers=workers)
    try:
        for agent in agents:
            await agent.aopen()
        config = settings.http_limits.uvicorn_config(
            app, log_level="warning", timeout_graceful_shutdown=settings.grace, lifespan="on"
        )
        await GracefulServer(config, app.state.runs, settings.grace, on_ready=on_ready).serve([listener])
    finally:
        listener.close()
        with anyio.CancelScope(shield=True):
            for agent in agents:
                await agent.aclose()


def announce(names: Sequence[str], base: str, transport: str, detail: str = "") -> None:
    """Print where each agent is served (on stderr: with stdio, stdout would be the protocol)."""
    for name in names:
        path = "/mcp" if len(names) == 1 else f"/{name}/mcp"
        if transport == "sse":
            path = path.removesuffix("/mcp") + "/sse"
        print(f"mcpagents: serving {name} at {base}{path}{detail}", file=sys.stderr, flush=True)
