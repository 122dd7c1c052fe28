"""What answering a server's question costs: a tool call that asks one question, answered at once,
against the same call asking nothing, for the raw MCP SDK client, the ToolCollection, and a served
agent relaying the question up to its caller.

Run: `.venv/bin/python bench/interaction.py [--calls N] [--rounds N]`

Every contender calls its own instance of the same stdio server (`bench/ask_server.py`), in each
protocol era: 2025-11-25 (the server pushes `elicitation/create` during the call) and 2026-07-28
(the call answers `input_required` and is made again with the answer). The served agent is served
in-process to an SDK client and calls the server through its ToolCollection: its row adds a run of
the agent (a scripted model, two steps) to the question's way up and the answer's way down. Rounds
interleave the contenders; the table shows each one's median round, per call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import mcp_types
from mcp import Client, StdioServerParameters
from mcp.client.session import ClientRequestContext

from mcpagents import ChatMessage, ScriptedModel, StdioServer, ToolCallingAgent, ToolCollection, accepted
from mcpagents.agents.mcp_server import agent_server
from mcpagents.connections.interaction import ElicitationRequest

SERVER = Path(__file__).with_name("ask_server.py")
ERAS = {"2025-11-25": "legacy", "2026-07-28": "auto"}


async def sdk_answer(
    context: ClientRequestContext, params: mcp_types.ElicitRequestParams
) -> mcp_types.ElicitResult:
    return mcp_types.ElicitResult(action="accept", content={"answer": "blue"})


async def collection_answer(request: ElicitationRequest) -> mcp_types.ElicitResult:
    return accepted({"answer": "blue"})


def relay_model(tool: str, arguments: dict[str, Any]) -> ScriptedModel:
    def respond(messages: list[ChatMessage], tools: object) -> dict[str, Any]:
        if messages[-1].role != "tool":
            return {"tool_calls": [{"name": tool, "arguments": arguments}]}
        return {"tool_calls": [{"name": "final_answer", "arguments": {"answer": messages[-1].text}}]}

    return ScriptedModel(respond)


def per_call(call: Callable[[], Awaitable[object]], calls: int) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            await call()
        return (time.perf_counter() - started) / calls

    return run


async def measure(options: argparse.Namespace) -> dict[str, list[float]]:
    contenders: dict[str, Callable[[], Awaitable[float]]] = {}
    async with AsyncExitStack() as stack:
        for era, mode in ERAS.items():
            server = StdioServerParameters(command=sys.executable, args=[str(SERVER)])
            raw = await stack.enter_async_context(Client(server, mode=mode, elicitation_callback=sdk_answer))
            spec = StdioServer(sys.executable, [str(SERVER)], name="ask", mode=mode)
            tools = await stack.enter_async_context(
                ToolCollection.from_mcp(spec, elicitation=collection_answer)
            )
            contenders[f"{era} raw SDK, asking nothing"] = per_call(
                lambda raw=raw: raw.call_tool("add", {"a": 1, "b": 2}), options.calls
            )
            contenders[f"{era} raw SDK, one question"] = per_call(
                lambda raw=raw: raw.call_tool("ask", {}), options.calls
            )
            contenders[f"{era} ToolCollection, asking nothing"] = per_call(
                lambda tools=tools: tools["add"].acall(a=1, b=2), options.calls
            )
            contenders[f"{era} ToolCollection, one question"] = per_call(
                lambda tools=tools: tools["ask"].acall(), options.calls
            )
            for tool, arguments, label in (
                ("add", {"a": 1, "b": 2}, "asking nothing"),
                ("ask", {}, "one question"),
            ):
                agent_tools = ToolCollection.from_mcp(
                    StdioServer(sys.executable, [str(SERVER)], name="ask", mode=mode)
                )
                agent = ToolCallingAgent(
                    agent_tools,
                    relay_model(tool, arguments),
                    name="relay",
                    description="d",
                    verbosity_level=0,
                )
                await stack.enter_async_context(agent)
                caller = await stack.enter_async_context(
                    Client(agent_server(agent), mode=mode, elicitation_callback=sdk_answer)
                )
                contenders[f"{era} served agent, {label}"] = per_call(
                    lambda caller=caller: caller.call_tool("relay", {"task": "Go."}), options.calls
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
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    rounds = asyncio.run(measure(options))
    median = {name: statistics.median(values) * 1000 for name, values in rounds.items()}
    print(f"{'contender':<52} {'ms per call':>12} {'question adds':>14}")
    for name, milliseconds in median.items():
        base = name.replace("one question", "asking nothing")
        added = "" if base == name else f"{milliseconds - median[base]:+.2f} ms"
        print(f"{name:<52} {milliseconds:>12.2f} {added:>14}")


if __name__ == "__main__":
    main()
