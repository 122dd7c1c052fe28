"""Where a tool call made by a CodeAgent's code spends its time, stage by stage, beside the raw SDK.

Run: `.venv/bin/python bench/call_path.py [--rounds 16]`

The code times each of its 100 `add` calls (`time.perf_counter`, the same clock in every process
here); the agent's process notes when the call's frame arrives, when its tool call starts and ends
on the MCP client, and when the result goes back, by wrapping those four functions (a profiling aid:
they are internals, and each wrapper adds well under a microsecond). Between rounds, the same client
makes 100 calls of its own: the raw SDK call, on the same connection to the same server process.
Medians over all calls.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import mcp.client.client

from mcpagents import CodeAgent, ScriptedModel, StdioServer, ToolCollection
from mcpagents.sandbox import channel, executor

SERVER = Path(__file__).with_name("echo_server.py")
CALLS = 100
TIMED_LOOP = f"""Timing each call.
```python
import time
times = []
total = 0
for i in range({CALLS}):
    sent = time.perf_counter()
    total = add(a=total, b=1)
    times.append([sent, time.perf_counter()])
final_answer(times)
```"""
STAGES = (
    ("code → frame read by the agent", "the stub, the frame written, the agent's process woken"),
    ("frame → tool call starts", "the executor's loop turns, its task for the call"),
    ("tool call starts → MCP client", "the run's records and span, the collection, the connection"),
    ("MCP client call", "the SDK's call, the server's work"),
    ("MCP client → result sent", "the result converted and recorded, the frame written"),
    ("result sent → code goes on", "the worker woken, the frame read, the value returned"),
)


def stamp(marks: list[float], function: Callable[..., Any]) -> Callable[..., Any]:
    def stamped(*args: Any, **kwargs: Any) -> Any:
        marks.append(time.perf_counter())
        return function(*args, **kwargs)

    return stamped


async def main(rounds: int) -> None:
    marks: dict[str, list[float]] = {name: [] for name in ("frame", "perform", "client", "done", "sent")}
    channel.FrameChannel.data_received = stamp(marks["frame"], channel.FrameChannel.data_received)  # type: ignore[method-assign]
    executor.PythonExecutor._perform = stamp(marks["perform"], executor.PythonExecutor._perform)  # type: ignore[method-assign]
    executor._send = stamp(marks["sent"], executor._send)  # type: ignore[assignment]
    plain_call = mcp.client.client.Client.call_tool

    async def timed_call(self: mcp.client.client.Client, *args: Any, **kwargs: Any) -> Any:
        marks["client"].append(time.perf_counter())
        try:
            return await plain_call(self, *args, **kwargs)
        finally:
            marks["done"].append(time.perf_counter())

    mcp.client.client.Client.call_tool = timed_call  # type: ignore[method-assign]
    stages: list[list[float]] = [[] for _ in STAGES]
    raw: list[float] = []
    async with ToolCollection.from_mcp(StdioServer(sys.executable, [str(SERVER)])) as tools:
        client = await tools["add"]._connection.connect()
        for round_ in range(rounds + 1):  # the first is a warm-up
            for series in marks.values():
                series.clear()
            agent = CodeAgent(
                tools, ScriptedModel([TIMED_LOOP]), verbosity_level=0, additional_authorized_imports=["time"]
            )
            times = await agent.arun("Time the calls.")
            await agent.aclose()
            assert len(marks["frame"]) == CALLS + 2, "one read per frame: the worker's ready, the calls, done"
            frames = marks["frame"][1:-1]
            for index, (sent, returned) in enumerate(times):
                points = [
                    sent,
                    frames[index],
                    marks["perform"][index],
                    marks["client"][index],
                    marks["done"][index],
                    marks["sent"][index],
                    returned,
                ]
                if round_:
                    for stage, (start, end) in enumerate(itertools.pairwise(points)):
                        stages[stage].append(end - start)
            for index in range(CALLS):
                started = time.perf_counter()
                await client.call_tool("add", {"a": index, "b": 1})
                if round_:
                    raw.append(time.perf_counter() - started)
    print(f"a tool call from code, stage by stage: medians of {rounds} rounds of {CALLS} calls\n")
    total = 0.0
    for (label, what), times in zip(STAGES, stages, strict=True):
        median = statistics.median(times)
        total += median
        print(f"{label:34}{median * 1e6:9.1f} µs   {what}")
    print(f"{'a call from code, in all':34}{total * 1e6:9.1f} µs")
    print(f"{'the raw SDK call (same client)':34}{statistics.median(raw) * 1e6:9.1f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=16)
    anyio.run(main, parser.parse_args().rounds)
