"""What a call that becomes a task costs (the Tasks extension of 2026-07-28): the same run of a served
agent, answered in the call against made a task at once (`task_after=0`) and followed by the
caller, with the caller's `tasks/get` polls at the server's interval or at the client's floor.

Run: `.venv/bin/python bench/served_tasks.py [--calls N] [--rounds N]`

The agent (a scripted model, one step) is served in-process to the SDK's `Client`, which declares
the extension through mcpagents' `TasksExtension`. A task's answer can only be seen at a poll, so
its cost is mostly the wait for the first poll after the run ends: the server asks for one every
500 ms (`POLL_INTERVAL_MS`); the last row shows the same task polled at the client's floor
(100 ms), what a server asking for less would give. Rounds interleave the contenders; the table shows
each one's median round, per call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from mcp import Client

from mcpagents import ScriptedModel, ToolCallingAgent
from mcpagents.agents import served_tasks
from mcpagents.agents.mcp_server import agent_server
from mcpagents.connections.tasks_extension import TasksExtension

ANSWER = {"tool_calls": [{"name": "final_answer", "arguments": {"answer": "42"}}]}


def per_call(call: Callable[[], Awaitable[object]], calls: int) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            await call()
        return (time.perf_counter() - started) / calls

    return run


def polled_every(milliseconds: int, call: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
    async def run() -> object:
        served_tasks.POLL_INTERVAL_MS = milliseconds
        try:
            return await call()
        finally:
            served_tasks.POLL_INTERVAL_MS = DEFAULT_POLL

    return run


DEFAULT_POLL = served_tasks.POLL_INTERVAL_MS


async def measure(options: argparse.Namespace) -> dict[str, list[float]]:
    contenders: dict[str, Callable[[], Awaitable[float]]] = {}
    async with AsyncExitStack() as stack:
        agent = ToolCallingAgent(
            model=ScriptedModel([ANSWER], per_conversation=True),
            name="answerer",
            description="Answers.",
            verbosity_level=0,
        )
        await stack.enter_async_context(agent)
        callers = {}
        for label, after in (("in the call", 5.0), ("as a task", 0.0)):
            server = agent_server(agent, task_after=after)
            client = Client(server, mode="2026-07-28", extensions=[TasksExtension()])
            callers[label] = await stack.enter_async_context(client)

        def call(label: str) -> Callable[[], Awaitable[object]]:
            return lambda: callers[label].call_tool("answerer", {"task": "Q?"})

        contenders["answered in the call"] = per_call(call("in the call"), options.calls)
        contenders["a task, polled every 500 ms (the server's ask)"] = per_call(
            call("as a task"), options.calls
        )
        contenders["a task, polled every 100 ms (the client's floor)"] = per_call(
            polled_every(100, call("as a task")), options.calls
        )
        for run in contenders.values():  # warm-up
            await run()
        results: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(options.rounds):
            for name, run in contenders.items():
                results[name].append(await run())
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    rounds = asyncio.run(measure(options))
    median = {name: statistics.median(values) * 1000 for name, values in rounds.items()}
    base = median["answered in the call"]
    print(f"{'contender':<52} {'ms per call':>12} {'a task adds':>12}")
    for name, milliseconds in median.items():
        added = "" if milliseconds == base else f"{milliseconds - base:+.1f} ms"
        print(f"{name:<52} {milliseconds:>12.1f} {added:>12}")


if __name__ == "__main__":
    main()
