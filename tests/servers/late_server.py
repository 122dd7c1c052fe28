"""A stdio MCP server slow to start, as one that npx first downloads: it reads nothing (the client's
first request waits) until the file named by its argument exists, then serves one tool, `late`."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main() -> None:
    gate = Path(sys.argv[1])
    while not gate.exists():
        time.sleep(0.01)
    from mcp.server import MCPServer  # only now, as a server whose download has ended starts

    server = MCPServer("late")

    @server.tool()
    def late() -> str:
        """Say that the late server is here."""
        return "here at last"

    server.run()


if __name__ == "__main__":
    main()
