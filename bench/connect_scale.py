"""Connecting many stdio servers: the time to start 1, 5 and 20 servers and list their tools (50 each:
1,000 at 20), ToolCollection against the raw MCP SDK opening them all at once (the floor).

Run: `.venv/bin/python bench/connect_scale.py [--servers 1,5,20] [--tools 50] [--rounds 3] [--late 20]`

The servers are `tests/servers/tool_shop.py` (distinct tool names per server, output schemas),
started afresh for every measurement, their stderr to files. The floor is one `mcp.Client` per
server over stdio, all opened concurrently in one task group, each listing its tools; the time runs
until the last list. The ToolCollection waits for every server (`patience=None`) and builds its
tools. Rounds interleave the contenders (each going first in every other round), so that drift in
machine load hits them alike. The table shows the best and the median round; the collection against
the floor, best against best and (in brackets, the verdict) the median of each round's ratio; each
size against one server; and the CPU time this process spent (the servers spend the same for both).
The last measurement shows `patience` at work: 20 servers, one of which starts `--late` seconds late
(an npx download, say); when the collection opens with the default patience, and when the late one
has joined. (Here 20 servers take some 10 s to start, 20 Python processes sharing two cores: one
must be later than that to be left behind.)

Targets: 20 servers within 2x one server's time (issue 17); within 1.1x the floor (issue 20).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mcpagents import StdioServer, ToolCollection
from mcpagents.tools.collection import DEFAULT_PATIENCE

SHOP = Path(__file__).parents[1] / "tests" / "servers" / "tool_shop.py"


def shop_args(number: int, tools: int) -> list[str]:
    return [str(SHOP), "--tools", str(tools), "--prefix", f"s{number}_"]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def raw_sdk(count: int, tools: int, errlog: TextIO) -> float:
    """Open every server at once with the SDK's client, list each one's tools; seconds to the last."""
    listed = 0
    all_listed = anyio.Event()

    async def one(number: int) -> None:
        nonlocal listed
        parameters = StdioServerParameters(command=sys.executable, args=shop_args(number, tools))
        async with Client(stdio_client(parameters, errlog=errlog)) as client:
            result = await client.list_tools()
            assert len(result.tools) == tools and not result.next_cursor
            listed += 1
            if listed == count:
                all_listed.set()
            await all_listed.wait()  # closed only once all are measured, as the collection's are

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for number in range(count):
            group.start_soon(one, number)
        await all_listed.wait()
        elapsed = time.perf_counter() - started
    return elapsed


async def collection(count: int, tools: int, log_dir: str) -> float:
    specs = [StdioServer(sys.executable, shop_args(n, tools), name=f"s{n}") for n in range(count)]
    collection = ToolCollection(specs, patience=None, log_dir=log_dir)
    started = time.perf_counter()
    await collection.aconnect()
    elapsed = time.perf_counter() - started
    assert len(collection) == count * tools and not collection.failures
    await collection.aclose()
    return elapsed


async def one_late(count: int, tools: int, late: float, log_dir: str) -> tuple[float, float]:
    """Seconds until a collection of `count` servers, one `late` seconds slow to start, opens with the
    default patience, and until the late one has joined."""
    late_start = f"import runpy, sys, time; time.sleep({late}); sys.argv = {shop_args(0, tools)!r};"
    late_start += f" runpy.run_path({str(SHOP)!r}, run_name='__main__')"
    specs = [StdioServer(sys.executable, ["-c", late_start], name="late")]
    specs += [StdioServer(sys.executable, shop_args(n, tools), name=f"s{n}") for n in range(1, count)]
    joined = anyio.Event()
    collection = ToolCollection(specs, log_dir=log_dir, on_tools_changed=lambda _: joined.set())
    started = time.perf_counter()
    await collection.aconnect()
    opened = time.perf_counter() - started
    assert collection.starting == ["late"], "the late server was in time: pass a larger --late"
    assert len(collection) == (count - 1) * tools
    await joined.wait()
    complete = time.perf_counter() - started
    assert len(collection) == count * tools
    await collection.aclose()
    return opened, complete


async def measure(options: argparse.Namespace, log_dir: str, errlog: TextIO) -> None:
    sizes = [int(size) for size in options.servers.split(",")]
    times: dict[tuple[int, str], list[float]] = {}
    cpu: dict[tuple[int, str], list[float]] = {}
    contenders: dict[str, Callable[[int], Awaitable[float]]] = {
        "raw SDK (floor)": lambda count: raw_sdk(count, options.tools, errlog),
        "ToolCollection": lambda count: collection(count, options.tools, log_dir),
    }
    for round_number in range(options.rounds):
        order = list(contenders.items())
        for count in sizes:
            for name, run in order if round_number % 2 == 0 else order[::-1]:  # neither always first
                before = cpu_seconds()
                times.setdefault((count, name), []).append(await run(count))
                cpu.setdefault((count, name), []).append(cpu_seconds() - before)
    opened, joined = await one_late(sizes[-1], options.tools, options.late, log_dir)

    floor, ours = "raw SDK (floor)", "ToolCollection"
    ratios = {  # each round's collection against the same round's floor
        count: statistics.median(o / f for o, f in zip(times[count, ours], times[count, floor], strict=True))
        for count in sizes
    }
    rounds = f"{options.rounds} interleaved rounds"
    print(f"{sizes} stdio servers of {options.tools} tools (tool_shop.py), {rounds}\n")
    header = f"{'servers':>7}  {'contender':<16}  {'best s':>6}  {'median s':>8}  {'vs floor':>14}  "
    print(header + f"{'vs 1 server':>11}  {'CPU here s':>10}")
    for count in sizes:
        for name in contenders:
            best, median = min(times[count, name]), statistics.median(times[count, name])
            versus = f"{best / min(times[count, floor]):.2f}x ({ratios[count]:.2f}x)" if name == ours else ""
            one = f"{best / min(times[sizes[0], name]):.1f}x" if sizes[0] == 1 else ""
            print(
                f"{count:>7}  {name:<16}  {best:>6.2f}  {median:>8.2f}  {versus:>14}  {one:>11}"
                f"  {statistics.median(cpu[count, name]):>10.2f}"
            )
    print(
        f"\n{sizes[-1]} servers, one starting {options.late:g} s late: the collection opens after"
        f" {opened:.2f} s with the other {sizes[-1] - 1} (patience {DEFAULT_PATIENCE:g} s); the late one"
        f" has joined after {joined:.2f} s"
    )
    largest, to_floor = sizes[-1], ratios[sizes[-1]]
    to_one = min(times[largest, ours]) / min(times[sizes[0], ours])
    print(
        f"{largest} servers: {to_floor:.2f}x the floor, median of the rounds"
        f" ({'meets' if to_floor <= 1.1 else 'MISSES'} <= 1.1x); {to_one:.1f}x one server"
        f" ({'meets' if to_one <= 2 else 'misses'} <= 2x; the floor itself:"
        f" {min(times[largest, floor]) / min(times[sizes[0], floor]):.1f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", default="1,5,20", help="the numbers of servers, comma-separated")
    parser.add_argument("--tools", type=int, default=50, help="tools per server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--late", type=float, default=20.0, help="how late the late server starts (s)")
    options = parser.parse_args()
    log_dir = tempfile.mkdtemp(prefix="connect-scale-")  # the servers' stderr, both contenders'
    with open(Path(log_dir) / "raw-sdk.log", "w") as errlog:
        anyio.run(measure, options, log_dir, errlog)


if __name__ == "__main__":
    main()
