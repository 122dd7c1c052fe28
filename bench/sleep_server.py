"""The serving benchmark's baseline: the raw MCP SDK over streamable HTTP, no mcpagents.

One tool, `sleeper(task)`, that does what a one-step served agent run does on the wire: sleeps
`--delay` seconds (the scripted model's call), reports one progress notification, and answers the
task. Served by uvicorn with the same settings as `mcpagents serve`; prints
`bench: serving sleeper at URL` on stderr.
"""

from __future__ import annotations

import argparse
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
    listener = socket.create_server(("127.0.0.1", 0))
    print(
        f"bench: serving sleeper at http://127.0.0.1:{listener.getsockname()[1]}/mcp",
        file=sys.stderr,
        flush=True,
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    anyio.run(uvicorn.Server(config).serve, [listener])


if __name__ == "__main__":
    main()
