"""Per-call cost of the ToolCollection against the raw MCP SDK client, on the same stdio server.

Run: `.venv/bin/python bench/tool_calls.py [--calls N] [--concurrent N] [--rounds N] [--mode auto|legacy]`

Every contender gets its own instance of the same trivial server (`bench/echo_server.py`) over
stdio, in the same protocol era, all open at once. Rounds interleave the contenders so that drift in
machine load hits them alike; the table shows the best and the median round. The collection's overhead is
reported against the raw SDK measured in the same run. Targets: sync overhead <= 15 %,
`import mcpagents` <= 0.2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from mcpagents import StdioServer, ToolCollection
from mcpagents.connections.stdio import StdioTransport
from mcpagents.logs import ServerLog

SERVER = Path(__file__).with_name("echo_server.py")
ARGUMENTS = {"a": 1, "b": 2}


def sequential(call: Callable[[], Awaitable[object]], calls: int) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            await call()
        return (time.perf_counter() - started) / calls

    return run


def burst(call: Callable[[], Awaitable[object]], concurrent: int) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(concurrent):
                group.start_soon(call)
        return time.perf_counter() - started

    return run


async def measure(options: argparse.Namespace) -> dict[str, list[float]]:
    spec = StdioServer(sys.executable, [str(SERVER)], mode=options.mode)
    async with AsyncExitStack() as stack:
        raw = await stack.enter_async_context(
            Client(StdioServerParameters(command=sys.executable, args=[str(SERVER)]), mode=options.mode)
        )
        log = ServerLog(Path(tempfile.mkdtemp()), "bench")
        transport = StdioTransport(spec, log, on_exit=lambda: None, on_violation=lambda _: None)
        raw_ours = await stack.enter_async_context(Client(transport, mode=options.mode))
        tools = await stack.enter_async_context(ToolCollection.from_mcp(spec))
        sync_tools = ToolCollection.from_mcp(spec)
        await anyio.to_thread.run_sync(sync_tools.connect)
        stack.push_async_callback(anyio.to_thread.run_sync, sync_tools.close)

        add, sync_add = tools["add"], sync_tools["add"]

        def sync_calls() -> float:
            started = time.perf_counter()
            for _ in range(options.calls):
                sync_add(**ARGUMENTS)
            return (time.perf_counter() - started) / options.calls

        async def in_a_plain_thread() -> float:
            # The sync API is used from a thread without an event loop, as in a script.
            result: list[float] = []
            thread = threading.Thread(target=lambda: result.append(sync_calls()))
            thread.start()
            await anyio.to_thread.run_sync(thread.join)
            return result[0]

        contenders: dict[str, Callable[[], Awaitable[float]]] = {
            "raw SDK Client.call_tool": sequential(lambda: raw.call_tool("add", ARGUMENTS), options.calls),
            "raw SDK Client over mcpagents' stdio": sequential(
                lambda: raw_ours.call_tool("add", ARGUMENTS), options.calls
            ),
            "ToolCollection, sync tool(...)": in_a_plain_thread,
            "ToolCollection, await tool.acall(...)": sequential(
                lambda: add.acall(**ARGUMENTS), options.calls
            ),
            "burst raw SDK": burst(lambda: raw.call_tool("add", ARGUMENTS), options.concurrent),
            "burst ToolCollection": burst(lambda: add.acall(**ARGUMENTS), options.concurrent),
        }
        for run in contenders.values():  # warm-up
            await run()
        results: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(options.rounds):
            for name, run in contenders.items():
                results[name].append(await run())
    return results


def import_seconds(statement: str, repeats: int = 7) -> float:
    def timed(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - started

    interpreter = statistics.median(timed("pass") for _ in range(repeats))
    return statistics.median(timed(statement) for _ in range(repeats)) - interpreter


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mode", choices=["auto", "legacy"], default="auto")
    options = parser.parse_args()

    rounds = asyncio.run(measure(options))
    best = {name: min(values) for name, values in rounds.items()}
    median = {name: statistics.median(values) for name, values in rounds.items()}
    light = import_seconds("import mcpagents")
    full = import_seconds("from mcpagents import ToolCollection")
    sdk = import_seconds("import mcp")

    def versus(name: str, base: str) -> str:
        return f"{(best[name] / best[base] - 1) * 100:+.1f} %"

    rows = [
        (
            f"{options.calls} sequential calls, {name}",
            f"{best[name] * 1e3:.3f}",
            f"{median[name] * 1e3:.3f}",
            "ms/call",
            versus(name, "raw SDK Client.call_tool"),
        )
        for name in rounds
        if not name.startswith("burst")
    ]
    rows += [
        (
            f"{options.concurrent} concurrent calls, {name.removeprefix('burst ')}",
            f"{best[name] * 1e3:.1f}",
            f"{median[name] * 1e3:.1f}",
            "ms",
            versus(name, "burst raw SDK"),
        )
        for name in ("burst raw SDK", "burst ToolCollection")
    ]
    width = max(len(row[0]) for row in rows)
    print(f"stdio server {SERVER.name}, mode {options.mode}, {options.rounds} interleaved rounds\n")
    print(f"{'measurement':<{width}}  {'best':>7}  {'median':>7}  unit     best vs raw SDK")
    for label, fastest, middle, unit, note in rows:
        print(f"{label:<{width}}  {fastest:>7}  {middle:>7}  {unit:<7}  {note}")
    print(
        f"\nimport mcpagents: {light:.3f} s; from mcpagents import ToolCollection: {full:.3f} s"
        f" (import mcp alone: {sdk:.3f} s)"
    )
    sync, raw = best["ToolCollection, sync tool(...)"], best["raw SDK Client.call_tool"]
    verdict = "meets" if sync <= raw * 1.15 and light <= 0.2 else "MISSES"
    print(
        f"sync ToolCollection {(sync / raw - 1) * 100:+.1f} % per call: {verdict} the targets"
        " (<= 15 %, import <= 0.2 s)"
    )


if __name__ == "__main__":
    main()
