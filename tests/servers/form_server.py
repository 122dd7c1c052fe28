"""A stdio MCP server whose one tool takes a field of every kind the hub's forms draw (a checkbox,
a list of choices, JSON) and answers with the arguments it got, as JSON text."""

from __future__ import annotations

import json
from typing import Literal

from mcp.server import MCPServer

server = MCPServer("form")


@server.tool()
def echo(
    flag: bool, level: Literal["low", "high"], tags: list[str], limits: dict[str, int] | None = None
) -> str:
    """Answer with the arguments as they arrived."""
    return json.dumps({"flag": flag, "level": level, "tags": tags, "limits": limits}, sort_keys=True)


if __name__ == "__main__":
    server.run()
