"""The serving benchmark's baseline: the raw MCP SDK over streamable HTTP, no mcpagents.

One tool, `sleeper(task)`, that does what a one-step served agent run does on the wire: sleeps
`--delay` seconds (the scripted model's call), reports one progress notification, and answers the
task. Served by uvicorn with the same settings as `mcpagents serve` (TCP_NODELAY, the objects alive
once started frozen out of garbage collections); prints
`bench: serving sleeper at URL` on stderr.
"""

from __future__ import annotations

import argparse
import gc
import socket
import sys

import anyio
import uvicorn
from mcp.server import MCPServer
from mcp.server.mcpserver import Context


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.1)
    options = parser.parse_args()
    server = MCPServer("sleeper")

    @server.tool()
    async def sleeper(task: str, ctx: Context) -> str:
        """Sleep, report progress once, answer the task."""
        await anyio.sleep(options.delay)
        await ctx.report_progress(1, None, "step 1 done")
        return task

    app = server.streamable_http_app()
    # proto TCP, so that asyncio sets TCP_NODELAY on accepted connections, as it does when uvicorn
    # binds the port itself (MCPServer.run): `socket.create_server` leaves proto 0.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    print(
        f"bench: serving sleeper at http://127.0.0.1:{listener.getsockname()[1]}/mcp",
        file=sys.stderr,
        flush=True,
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    anyio.run(FrozenServer(config).serve, [listener])


class FrozenServer(uvicorn.Server):
    """As `mcpagents serve` does: what is alive once started is left out of garbage collections."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        gc.freeze()


if __name__ == "__main__":
    main()
