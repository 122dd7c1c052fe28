"""The code executor: worker start, per-step overhead, per-tool-call overhead, in both modes.

Run: `.venv/bin/python bench/executor.py`

Baselines in the same run: `exec` of the same snippet in this process (what an in-process
interpreter costs at best, with no boundary at all), and the ToolCollection call made directly
from the host. What a call from code adds to the ToolCollection call is measured with a tool that
answers at once (no MCP): the subtraction of two MCP timings would mostly measure their noise.
Targets: start <= 30 ms, step <= 0.3 ms, tool call <= 0.3 ms added.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, ClassVar

import anyio

from mcpagents import ExecutorOptions, PythonExecutor, ToolCollection, tool

STARTS = 15
ROUNDS = 15
STEPS = 200
CALLS = 100


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class Instant:
    """A tool that answers at once, without MCP: what remains of a call from code is the executor's."""

    name = "instant"
    description = "Return `a`."
    input_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {"a": {"type": "integer"}}}

    async def acall_with(self, arguments: dict[str, int]) -> int:
        return arguments["a"]


async def measure(mode: str, tools: ToolCollection) -> dict[str, float]:
    """Best of `ROUNDS` interleaved rounds, so that a noisy moment hits every contender alike."""
    starts = []
    for _ in range(STARTS):
        began = time.perf_counter()
        executor = PythonExecutor(tools, ExecutorOptions(mode=mode))  # type: ignore[arg-type]
        await executor.start()
        starts.append(time.perf_counter() - began)
        await executor.aclose()
    timings: dict[str, list[float]] = {"step": [], "call": [], "mapped": [], "direct": [], "instant": []}
    async with PythonExecutor([*tools, Instant()], ExecutorOptions(mode=mode)) as executor:  # type: ignore[arg-type]
        await executor.run("x = 0")
        for _ in range(ROUNDS):
            began = time.perf_counter()
            for _ in range(STEPS):
                await executor.run("x = x + 1")
            timings["step"].append((time.perf_counter() - began) / STEPS)
            began = time.perf_counter()
            for i in range(CALLS):
                await tools["add"].acall(a=i, b=1)
            timings["direct"].append((time.perf_counter() - began) / CALLS)
            began = time.perf_counter()
            await executor.run(f"for i in range({CALLS}):\n    add(a=i, b=1)")
            timings["call"].append((time.perf_counter() - began) / CALLS)
            began = time.perf_counter()
            await executor.run(f"map_tool(add, [{{'a': i, 'b': 1}} for i in range({CALLS})])")
            timings["mapped"].append((time.perf_counter() - began) / CALLS)
            began = time.perf_counter()
            await executor.run(f"for i in range({CALLS}):\n    instant(a=i)")
            timings["instant"].append((time.perf_counter() - began) / CALLS)
    return {"start": statistics.median(starts), **{key: min(values) for key, values in timings.items()}}


def in_process_step() -> float:
    namespace: dict[str, object] = {"x": 0}
    code = compile("x = x + 1", "<code>", "exec")
    began = time.perf_counter()
    for _ in range(STEPS):
        exec(code, namespace)
    return (time.perf_counter() - began) / STEPS


async def main() -> None:
    async with ToolCollection.from_mcp([add]) as tools:
        results = {mode: await measure(mode, tools) for mode in ("local", "sandbox")}
    floor = in_process_step()
    rounds = f"best of {ROUNDS} rounds of {STEPS} steps and {CALLS} calls"
    print(f"code executor: median of {STARTS} starts; {rounds}\n")
    print(f"{'':34}{'local':>12}{'sandbox':>12}   target / baseline")
    rows = [
        ("worker start (to ready)", "start", "<= 30 ms"),
        ("step overhead ('x = x + 1')", "step", f"<= 0.3 ms; in-process exec {floor * 1e6:.1f} µs"),
        ("direct ToolCollection call", "direct", "baseline for the next rows"),
        ("tool call from code (sequential)", "call", ""),
        ("tool call from code (map_tool)", "mapped", "calls performed concurrently by the host"),
        ("executor's own cost per tool call", "instant", "<= 0.3 ms (a tool that answers at once)"),
    ]
    for label, key, note in rows:
        local, sandbox = results["local"][key] * 1e3, results["sandbox"][key] * 1e3
        print(f"{label:34}{local:>9.3f} ms{sandbox:>9.3f} ms   {note}")


if __name__ == "__main__":
    anyio.run(main)
