"""A stdio MCP server with many tools, for tests and benchmarks of agents with hundreds of tools:
`tool_shop.py [--tools N] [--prefix P]`.

Tools are named `{P}{thing}_{action}` (`invoice_archive`, `sensor_reset`, ...; past the 200 pairs,
numbered: `invoice_archive_2`), each taking an id and an optional note and returning what it did as
structured output; `convert_temperature` (always there) really converts Celsius to Fahrenheit, so
a run can show that it found and used it, and `bulk_export` returns a text as long as asked.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any, TypedDict

from mcp.server import MCPServer

THINGS = (
    "invoice", "sensor", "ticket", "shipment", "account", "report", "contract", "device", "order",
    "playlist", "recipe", "vehicle", "warehouse", "campaign", "patient", "course", "booking", "repository",
    "budget", "forecast", "photo", "survey", "license", "meeting", "payroll",
)  # fmt: skip
ACTIONS = ("archive", "audit", "create", "delete", "export", "list", "rename", "reset")


class Done(TypedDict):
    tool: str
    id: str
    note: str | None


class Temperature(TypedDict):
    celsius: float
    fahrenheit: float


def shop(count: int, prefix: str) -> MCPServer:
    server = MCPServer("tool-shop")

    def convert_temperature(celsius: float) -> Temperature:
        """Convert a temperature from degrees Celsius to degrees Fahrenheit."""
        return {"celsius": celsius, "fahrenheit": celsius * 9 / 5 + 32}

    def bulk_export(characters: int) -> str:
        """Export every record as one text of that many characters (digits 0 to 9, repeated)."""
        return ("0123456789" * (characters // 10 + 1))[:characters]

    server.add_tool(convert_temperature, name=f"{prefix}convert_temperature")
    server.add_tool(bulk_export, name=f"{prefix}bulk_export")
    pairs = ((number, *pair) for number in itertools.count(1) for pair in itertools.product(THINGS, ACTIONS))
    for number, thing, action in itertools.islice(pairs, max(0, count - 2)):
        name = f"{prefix}{thing}_{action}" + (f"_{number}" if number > 1 else "")
        description = f"{action.capitalize()} a {thing} by its id. Use it to {action} one {thing} record."
        server.add_tool(_action(name), name=name, description=description)
    return server


def _action(name: str) -> Any:
    def act(id: str, note: str | None = None) -> Done:
        return {"tool": name, "id": id, "note": note}

    return act


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tools", type=int, default=200)
    parser.add_argument("--prefix", default="")
    options = parser.parse_args()
    shop(options.tools, options.prefix).run()
