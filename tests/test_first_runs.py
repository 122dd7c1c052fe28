"""Runs started at once on an agent whose tools are not open yet: the tools open once, and every run
waits for them (and gets the error when they cannot open)."""

from __future__ import annotations

import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest

from mcpagents import (
    ChatMessage,
    MCPServerError,
    ScriptedModel,
    StdioServer,
    ToolCallingAgent,
    ToolCollection,
)
from mcpagents.models.messages import ToolDefinition
from tests.conftest import CALC_SERVER, calc

RUNS = 6


def adding(history: list[ChatMessage], tools: list[ToolDefinition] | None) -> object:
    """Calls add(20, 22) and answers what it returned (an error, when the tool was missing)."""
    if history[-1].role == "tool":
        return {"tool_calls": [{"name": "final_answer", "arguments": {"answer": history[-1].text}}]}
    return {"tool_calls": [{"name": "add", "arguments": {"a": 20, "b": 22}}]}


def adder(tools: ToolCollection) -> ToolCallingAgent:
    return ToolCallingAgent(tools, ScriptedModel(adding), name="adder", verbosity_level=0)


def test_runs_started_at_once_from_threads_all_get_the_tools() -> None:
    agent = adder(ToolCollection.from_mcp(calc()))
    try:
        with ThreadPoolExecutor(RUNS) as pool:
            answers = list(pool.map(lambda number: agent.run(f"add, run {number}"), range(RUNS)))
    finally:
        agent.close()
    assert answers == ["42"] * RUNS


def gated_calc(tmp_path: Path) -> tuple[Path, StdioServer]:
    """The calc server, whose first start waits for a line through the gate (a FIFO): until then,
    whoever opens it is opening the tools. Later starts pass (the first marks the gate used before it
    waits at it)."""
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    script = 'if [ ! -e "$0.used" ]; then touch "$0.used"; head -n 1 "$0" > /dev/null; fi; exec "$@"'
    return gate, StdioServer("sh", ["-c", script, str(gate), sys.executable, str(CALC_SERVER)], name="calc")


@pytest.mark.anyio
async def test_async_runs_arriving_while_the_tools_open_wait_for_them(tmp_path: Path) -> None:
    gate, server = gated_calc(tmp_path)
    agent = adder(ToolCollection.from_mcp(server))
    answers: list[str] = []

    async def run(number: int) -> None:
        answers.append(await agent.arun(f"add, run {number}"))

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(run, 0)
            with await anyio.to_thread.run_sync(gate.open, "w") as opening:  # the server is at the gate
                for number in range(1, RUNS):
                    group.start_soon(run, number)
                await anyio.wait_all_tasks_blocked()
                opening.write("go\n")
    finally:
        await agent.aclose()
    assert answers == ["42"] * RUNS


@pytest.mark.anyio
async def test_a_run_cancelled_while_the_tools_open_leaves_the_opening_to_the_next(tmp_path: Path) -> None:
    gate, server = gated_calc(tmp_path)
    agent = adder(ToolCollection.from_mcp(server))
    try:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(agent.arun, "add")
                opening = await anyio.to_thread.run_sync(gate.open, "w")  # the server is at the gate
                group.cancel_scope.cancel()
            with opening:  # the cancelled run did not wait for its server: it goes on, to be stopped
                opening.write("go\n")
            answer = await agent.arun("add")
    finally:
        await agent.aclose()
    assert answer == "42"


@pytest.mark.anyio
async def test_two_agents_sharing_a_collection_both_wait_for_it_and_the_opener_closes_it() -> None:
    collection = ToolCollection.from_mcp(calc())
    first, second = adder(collection), adder(collection)
    answers: list[str] = []

    async def run(agent: ToolCallingAgent) -> None:
        answers.append(await agent.arun("add"))

    async with anyio.create_task_group() as group:
        group.start_soon(run, first)
        group.start_soon(run, second)
    await second.aclose()
    assert collection.connected, "the agent that did not open it leaves it open"
    await first.aclose()
    assert answers == ["42", "42"]
    assert not collection.connected


def test_runs_waiting_for_a_failed_opening_get_its_error_and_a_later_run_opens_again(tmp_path: Path) -> None:
    script = tmp_path / "calc_server.py"  # missing at first: the server exits at once
    agent = adder(ToolCollection.from_mcp(StdioServer(sys.executable, [str(script)], name="calc")))
    try:
        with ThreadPoolExecutor(RUNS) as pool:
            runs = [pool.submit(agent.run, f"add, run {number}") for number in range(RUNS)]
        errors = [run.exception() for run in runs]
        assert all(isinstance(error, MCPServerError) for error in errors), errors
        assert all("server 'calc'" in str(error) and "can't open file" in str(error) for error in errors)

        shutil.copy(CALC_SERVER, script)
        assert agent.run("add") == "42"
    finally:
        agent.close()
