"""Tools from two MCP servers in one collection: a PyPI server over stdio and a local `@tool`.

Run: `make demo` (or `.venv/bin/python examples/quickstart_tools.py`).
"""

import sys

from mcpagents import StdioServer, ToolCollection, tool


@tool
def word_count(text: str) -> int:
    """Count the words of a text.

    Args:
        text: Any text.
    """
    return len(text.split())


time_server = StdioServer(sys.executable, ["-m", "mcp_server_time", "--local-timezone", "UTC"], name="time")

with ToolCollection.from_mcp([time_server, word_count]) as tools:
    for each in tools:
        print(f"{each.name}{each.signature}  [server {each.server!r}]")
    now = tools["get_current_time"](timezone="Asia/Tokyo")
    print("\nIt is", now["datetime"], "in Tokyo.")
    print("Words:", tools["word_count"](text="every tool arrives through an MCP client"))
