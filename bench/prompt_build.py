"""How long building the CodeAgent's system prompt takes with every stub in full, at 100, 500 and
1,000 tools (tests/servers/tool_shop.py, typed results), against linear growth from 100 tools.

Run: `.venv/bin/python bench/prompt_build.py [--rounds 25]`

Each figure is the fastest of the rounds of `agent.system_prompt(tools)` (no run, no model).
Targets (issue 20): linear; at most 20 ms at 500 tools and 50 ms at 1,000.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import anyio

from mcpagents import CodeAgent, ScriptedModel, StdioServer, ToolCollection

SHOP = Path(__file__).parents[1] / "tests" / "servers" / "tool_shop.py"
SIZES = (100, 500, 1000)


async def fastest_build(size: int, rounds: int) -> float:
    async with ToolCollection.from_mcp(
        StdioServer(sys.executable, [str(SHOP), "--tools", str(size)])
    ) as tools:
        agent = CodeAgent(tools, ScriptedModel(["unused"]), verbosity_level=0, tool_prompt_limit=None)
        listed = agent.toolbox.tools()
        best = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            agent.system_prompt(listed)
            best = min(best, time.perf_counter() - started)
        return best


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=25)
    rounds = parser.parse_args().rounds
    times = {size: await fastest_build(size, rounds) for size in SIZES}
    print(f"CodeAgent system prompt, every stub in full, fastest of {rounds} builds\n")
    print(f"{'tools':>6}{'ms':>9}{'linear from 100':>18}")
    for size, seconds in times.items():
        linear = times[SIZES[0]] * size / SIZES[0]
        print(f"{size:>6}{seconds * 1e3:>9.1f}{linear * 1e3:>15.1f} ms")


if __name__ == "__main__":
    anyio.run(main)
