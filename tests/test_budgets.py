"""Budgets: tool calls, tokens and wall time, per run and per step; with scripted models and real MCP
servers, in Python, in spec files, on the command line and served."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from mcp import Client, StdioServerParameters
from mcp.server import MCPServer
from mcp.server.mcpserver import Context

from mcpagents import (
    ActionStep,
    Budget,
    ChatMessage,
    CodeAgent,
    ConfigError,
    InProcessServer,
    ModelResponse,
    RecordingModel,
    ScriptedModel,
    TokenUsage,
    ToolCall,
    ToolCallingAgent,
    ToolCollection,
    ToolDefinition,
    tool,
)
from mcpagents.agents.chain import CHAIN_META_KEY
from mcpagents.spec import load_spec
from tests.conftest import CALC_SERVER, MCPAGENTS, calc
from tests.scripts import call, code

CALC_ENTRY = {"command": sys.executable, "args": [str(CALC_SERVER)]}


@pytest.fixture(scope="module")
def tools() -> Iterator[ToolCollection]:
    with ToolCollection.from_mcp(calc(name="calc")) as collection:
        yield collection


def step_of(result: Any, number: int) -> ActionStep:
    step = [step for step in result.steps if isinstance(step, ActionStep)][number - 1]
    assert isinstance(step, ActionStep)
    return step


# Tool calls


def test_calls_from_code_past_the_run_s_budget_are_refused_and_end_the_run() -> None:
    ticks: list[int] = []
    asked: list[list[ChatMessage]] = []

    @tool
    def tick(n: int) -> int:
        """Count one tick."""
        ticks.append(n)
        return n

    responses = [code("for n in range(10):", "    tick(n=n)"), "Three ticks got through."]

    def answer(messages: list[ChatMessage], tools: list[ToolDefinition] | None) -> str:
        asked.append(messages)
        return responses[len(asked) - 1]

    agent = CodeAgent([tick], ScriptedModel(answer), budget=Budget(max_tool_calls=3), verbosity_level=0)
    result = agent.run("Tick ten times.", return_full_result=True)
    assert ticks == [0, 1, 2], "the fourth call never reached the server"
    assert (result.state, result.output) == ("max_tool_calls_reached", "Three ticks got through.")
    step = step_of(result, 1)
    assert [record.error is None for record in step.tool_calls] == [True, True, True, False]
    assert (
        step.error is not None
        and "ToolCallError: tick() was not called: this run's budget of 3" in step.error
    )
    assert asked[1][-1].text.startswith("You used all the tool calls this task allows (3). From everything")
    agent.close()


@pytest.mark.anyio
async def test_concurrent_calls_from_code_count_as_they_start_against_the_step_s_budget() -> None:
    arrived: list[int] = []
    four_in_flight = anyio.Event()

    @tool
    async def gather(n: int) -> int:
        """Answer once four calls are in flight at the same time."""
        arrived.append(n)
        if len(arrived) == 4:
            four_in_flight.set()
        with anyio.fail_after(10):
            await four_in_flight.wait()
        return n

    model = ScriptedModel(
        [
            code(
                "try:",
                "    map_tool(gather, [{'n': n} for n in range(6)])",
                "except ToolCallError as error:",
                "    print(error)",
            ),
            code("final_answer([gather(n=6), gather(n=7)])"),  # a new step, a new step budget
        ]
    )
    budget = Budget(max_tool_calls_per_step=4)
    async with CodeAgent([gather], model, budget=budget, verbosity_level=0) as agent:
        result = await agent.arun("Gather.", return_full_result=True)
    assert (result.state, result.output) == ("success", [6, 7])
    assert sorted(arrived) == [0, 1, 2, 3, 6, 7], "only four of the six concurrent calls started"
    first = step_of(result, 1)
    assert sum(record.error is not None for record in first.tool_calls) == 2
    assert "this step's budget of 4 tool calls (max_tool_calls_per_step)" in first.observations


def test_parallel_tool_calls_past_the_step_s_budget_are_refused(tools: ToolCollection) -> None:
    three = {"tool_calls": [{"name": "add", "arguments": {"a": n}} for n in range(3)]}
    model = ScriptedModel([three, call("final_answer", answer="2 of 3")])
    agent = ToolCallingAgent(tools, model, budget=Budget(max_tool_calls_per_step=2), verbosity_level=0)
    result = agent.run("Add thrice.", return_full_result=True)
    assert (result.state, result.output) == ("success", "2 of 3")
    records = step_of(result, 1).tool_calls
    assert [(record.result, record.error is None) for record in records[:2]] == [(2, True), (3, True)]
    assert records[2].result is None and "max_tool_calls_per_step" in (records[2].error or "")


# Tokens


def test_the_run_ends_after_the_step_that_reached_its_token_budget(tools: ToolCollection) -> None:
    def adding(n: int) -> ModelResponse:
        message = ChatMessage("assistant", "", [ToolCall(f"call_{n}", "add", {"a": n})])
        return ModelResponse(message, TokenUsage(100, 10))

    model = ScriptedModel([adding(n) for n in range(5)])
    agent = ToolCallingAgent(tools, model, budget=Budget(max_tokens=300), verbosity_level=0)
    result = agent.run("Add until told to stop.", return_full_result=True)
    assert (result.state, result.output, result.token_usage.total_tokens) == ("max_tokens_reached", None, 330)
    assert model.calls == 3, "no model call for an answer once the tokens are spent"
    assert step_of(result, 3).tool_calls[0].result == 4, "the step that reached the budget still acted"
    assert isinstance(result.steps[-1], ActionStep), "no final answer"


def test_the_step_s_output_tokens_are_each_model_call_s_max_tokens(tmp_path: Path) -> None:
    recording = tmp_path / "calls.jsonl"
    model = RecordingModel(ScriptedModel([code("final_answer(1)")]), recording)
    agent = CodeAgent(model=model, budget=Budget(max_output_tokens_per_step=50), verbosity_level=0)
    assert agent.run("One.") == 1
    agent.close()
    (line,) = recording.read_text().splitlines()
    assert json.loads(line)["request"]["max_tokens"] == 50


# Wall time


@pytest.mark.anyio
async def test_the_time_budget_stops_a_run_and_the_agent_runs_again(tools: ToolCollection) -> None:
    model = ScriptedModel([call("hang"), call("cancelled"), call("final_answer", answer="again")])
    agent = ToolCallingAgent(tools, model, budget=Budget(max_seconds=1), verbosity_level=0)
    with anyio.fail_after(30):  # `hang` never answers: only the deadline ends the run
        result = await agent.arun("Hang.", return_full_result=True)
    assert (result.state, result.output, result.error) == ("max_time_reached", None, None)
    stopped = step_of(result, 1)
    assert stopped.error is not None and "time budget of 1 s (max_seconds)" in stopped.error
    assert isinstance(result.steps[-1], ActionStep), "no final answer"
    with anyio.fail_after(30):
        again = await agent.arun("Check.", budget=Budget(), return_full_result=True)
    assert (again.state, again.output) == ("success", "again")
    assert step_of(again, 1).tool_calls[0].result >= 1, "the server saw the hanging call cancelled"


@pytest.mark.anyio
async def test_a_step_past_its_time_is_stopped_and_the_run_goes_on(tools: ToolCollection) -> None:
    model = ScriptedModel(
        [
            code("x = 1", "hang()"),
            code("try:", "    x", "except NameError:", "    x = 'gone'", "final_answer(x)"),
        ]
    )
    agent = CodeAgent(tools, model, budget=Budget(max_seconds_per_step=1), verbosity_level=0)
    with anyio.fail_after(60):
        result = await agent.arun("Hang, then answer.", return_full_result=True)
    await agent.aclose()
    assert (result.state, result.output) == ("success", "gone"), "the stopped code's worker was replaced"
    error = step_of(result, 1).error
    assert error is not None and "time budget of 1 s (max_seconds_per_step)" in error


# Spec files, the command line, served agents


def test_a_spec_s_budget_reaches_the_agent_and_its_keys_are_checked(tmp_path: Path) -> None:
    spec = tmp_path / "agent.yaml"
    keys: dict[str, Any] = {"name": "helper", "description": "Helps."}
    spec.write_text(yaml.safe_dump({**keys, "budget": {"max_tool_calls": 5, "max_seconds_per_step": 2.5}}))
    agent = load_spec(spec).build(verbosity_level=0)
    assert agent.budget == Budget(max_tool_calls=5, max_seconds_per_step=2.5)
    spec.write_text(yaml.safe_dump({**keys, "budget": {"max_tool_call": 5}}))
    with pytest.raises(
        ConfigError, match=r"budget: unknown key 'max_tool_call' \(did you mean 'max_tool_calls'\?\)"
    ):
        load_spec(spec)
    spec.write_text(yaml.safe_dump({**keys, "budget": {"max_tokens": 1.5}}))
    with pytest.raises(ConfigError, match=r"budget.max_tokens: expected a positive integer, got 1.5"):
        load_spec(spec)
    with pytest.raises(ConfigError, match=r"Budget.max_seconds must be a positive number or None, not 0"):
        Budget(max_seconds=0)


def test_run_options_replace_the_spec_s_budget(tmp_path: Path) -> None:
    (tmp_path / "script.yaml").write_text(yaml.safe_dump([call("add", a=1), "3, as far as I got"]))
    spec = {
        "name": "adder",
        "description": "Adds numbers.",
        "type": "tool_calling",
        "model": "scripted:script.yaml",
        "mcpServers": {"calc": CALC_ENTRY},
        "budget": {"max_tool_calls": 5},
    }
    (tmp_path / "agent.yaml").write_text(yaml.safe_dump(spec))
    ran = subprocess.run(
        [MCPAGENTS, "run", str(tmp_path / "agent.yaml"), "Add.", "--max-tool-calls", "1", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (ran.returncode, ran.stdout) == (1, "3, as far as I got\n")
    assert ran.stderr == (
        "mcpagents: the run was stopped: its tool calls were used up; the output is its best answer from"
        " what it learned\n"
    )


@pytest.mark.anyio
async def test_a_served_agent_s_answer_says_which_budget_ended_its_run(tmp_path: Path) -> None:
    (tmp_path / "script.yaml").write_text(
        yaml.safe_dump({"per_conversation": True, "responses": [call("hang")]})
    )
    spec = {
        "name": "sleeper",
        "description": "Waits for ever.",
        "type": "tool_calling",
        "model": "scripted:script.yaml",
        "mcpServers": {"calc": CALC_ENTRY},
        "budget": {"max_seconds": 1},
    }
    (tmp_path / "sleeper.yaml").write_text(yaml.safe_dump(spec))
    server = StdioServerParameters(command=MCPAGENTS, args=["serve", str(tmp_path / "sleeper.yaml")])
    with anyio.fail_after(60):
        async with Client(server) as client:
            (served,) = (await client.list_tools()).tools
            result = await client.call_tool("sleeper", {"task": "Wait."})
    assert "max_time_reached" in (served.output_schema or {})["properties"]["state"]["enum"]
    assert not result.is_error and result.structured_content is not None
    assert (result.structured_content["answer"], result.structured_content["state"]) == (
        None,
        "max_time_reached",
    )
    assert [content.text for content in result.content] == [  # type: ignore[union-attr]
        "The agent's run was stopped: its time ran out; it has no answer."
    ]


def test_the_time_budget_is_the_deadline_down_the_chain() -> None:
    server = MCPServer("chain")

    @server.tool()
    def deadline(ctx: Context) -> float:
        """The deadline of the call chain this call belongs to."""
        chain: dict[str, Any] = (ctx.request_context.meta or {}).get(CHAIN_META_KEY, {})
        return float(chain.get("deadline", -1))

    model = ScriptedModel(
        [
            {"tool_calls": [{"name": "deadline", "arguments": {}}]},
            {"tool_calls": [{"name": "final_answer", "arguments": {"answer": "ok"}}]},
        ]
    )
    with ToolCollection.from_mcp(InProcessServer(server, name="chain")) as tools:
        agent = ToolCallingAgent(tools, model, budget=Budget(max_seconds=30), verbosity_level=0)
        started = time.time()
        result = agent.run("When must you be done?", return_full_result=True)
    (call,) = next(step for step in result.steps if isinstance(step, ActionStep)).tool_calls
    assert started + 29 < call.result <= time.time() + 30  # served agents down the chain stop then
