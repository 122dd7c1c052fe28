"""A test MCP server with the behaviours the connection tests need.

Run: `python calc_server.py` (stdio), `python calc_server.py --http` or `--sse` (prints `PORT <n>`
on stdout once listening on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from typing import Literal, TypedDict

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

server = MCPServer("calc", instructions="Arithmetic and misbehaviour for tests.")
cancellations = 0
cancelled_event = anyio.Event()
arrived = 0
all_arrived = anyio.Event()
_background: set[asyncio.Future[None]] = set()


class Division(TypedDict):
    quotient: int
    remainder: int


@server.tool()
def add(a: int, b: int = 2) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def divide(a: int, b: int) -> Division:
    """Integer division with remainder."""
    if b == 0:
        raise ToolError("cannot divide by zero")
    return {"quotient": a // b, "remainder": a % b}


@server.tool()
def convert(value: float, unit: Literal["c", "f"], note: str | None = None) -> str:
    """Convert a temperature."""
    result = value * 9 / 5 + 32 if unit == "c" else (value - 32) * 5 / 9
    return f"{result:.1f}{note or ''}"


@server.tool()
async def slow(seconds: float, ctx: Context) -> str:
    """Report progress every 50 ms for `seconds`, then answer."""
    steps = max(1, int(seconds / 0.05))
    for step in range(steps):
        await ctx.report_progress(step + 1, steps, f"step {step + 1} of {steps}")
        await anyio.sleep(0.05)
    return "slept"


@server.tool()
async def hang(ctx: Context) -> str:
    """Report progress once ("started"), then never answer; counts its cancellations."""
    global cancellations, cancelled_event
    await ctx.report_progress(0, None, "started")
    try:
        await anyio.sleep_forever()
    except anyio.get_cancelled_exc_class():
        cancellations += 1
        cancelled_event.set()
        cancelled_event = anyio.Event()
        raise
    return "unreachable"


@server.tool()
async def cancelled(at_least: int = 1) -> int:
    """Wait (up to 10 s) until `hang` was cancelled `at_least` times; return the count."""
    with anyio.move_on_after(10):
        while cancellations < at_least:
            await cancelled_event.wait()
    return cancellations


@server.tool()
def getenv(name: str) -> str | None:
    """The value of an environment variable in the server process."""
    return os.environ.get(name)


@server.tool()
def die(code: int = 3) -> str:
    """Print to stderr and exit the whole server process."""
    print(f"dying on purpose with code {code}", file=sys.stderr, flush=True)
    os._exit(code)


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
async def grow(name: str, ctx: Context) -> str:
    """Add a tool named `name` and announce that the tool list changed."""

    def added(text: str) -> str:
        return text

    server.add_tool(added, name=name, description=f"Added at run time as {name}.")
    await _announce(ctx)
    return name


@server.tool()
async def redescribe(description: str, ctx: Context) -> str:
    """Change the description of `add` and announce that the tool list changed."""
    server._tool_manager._tools["add"].description = description
    await _announce(ctx)
    return description


@server.tool()
async def grow_later(name: str, ctx: Context) -> str:
    """Answer now; 50 ms later add a tool named `name` and announce it (outside any request)."""

    async def later() -> None:
        await anyio.sleep(0.05)
        server.add_tool(lambda text: text, name=name, description=f"Added later as {name}.")
        await _announce(ctx)

    _background.add(asyncio.ensure_future(later()))
    return "scheduled"


@server.tool()
async def rendezvous(parties: int) -> str:
    """Return once `parties` calls of this tool are in flight at the same time (fail after 10 s)."""
    global arrived, all_arrived
    arrived += 1
    if arrived >= parties:
        all_arrived.set()
    with anyio.move_on_after(10):
        await all_arrived.wait()
    if not all_arrived.is_set():
        raise ToolError(f"only {arrived} of {parties} calls arrived together")
    return "met"


async def _announce(ctx: Context) -> None:
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        await ctx.notify_tools_changed()
    else:
        await ctx.session.send_tool_list_changed()


@server.resource("note://greeting", mime_type="text/plain")
def greeting() -> str:
    return "hello from calc"


@server.prompt()
def explain(topic: str) -> str:
    """Ask for an explanation of `topic`."""
    return f"Explain {topic} in one sentence."


def _require_token(app, token):
    from starlette.responses import PlainTextResponse

    async def guarded(scope, receive, send):
        headers = dict(scope.get("headers") or [])
        if scope["type"] == "http" and headers.get(b"authorization") != f"Bearer {token}".encode():
            await PlainTextResponse("missing or wrong token", status_code=401)(scope, receive, send)
            return
        await app(scope, receive, send)

    return guarded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--sse", action="store_true")
    parser.add_argument("--garbage", type=int, default=0, help="print this many non-JSON lines first")
    parser.add_argument("--port", type=int, default=0, help="HTTP only: the port (default: any free one)")
    parser.add_argument("--token", help="HTTP only: require `Authorization: Bearer <token>`")
    options = parser.parse_args()
    for line in range(options.garbage):
        print(f"banner line {line}: not JSON-RPC", flush=True)
    if not (options.http or options.sse):
        server.run()
        return
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", options.port))
    sock.listen(64)
    app = server.sse_app() if options.sse else server.streamable_http_app()
    if options.token:
        app = _require_token(app, options.token)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning")
    anyio.run(uvicorn.Server(config).serve, [sock])


if __name__ == "__main__":
    main()
