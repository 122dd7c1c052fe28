"""A served agent's long runs as MCP Tasks (2025-11-25): a caller that asks for a task gets one at
once, polls it, collects its result, cancels it, lists them; a task that needs input reports
`input_required` and asks on the caller's `tasks/result`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest
from mcp import Client

from mcpagents import (
    ChatMessage,
    HttpServer,
    InProcessServer,
    Interaction,
    ScriptedModel,
    ToolCallingAgent,
    ToolCollection,
    ToolError,
    accepted,
    ask_user,
)
from mcpagents.agents.mcp_server import RunsInFlight, agent_server
from mcpagents.connections.interaction import ElicitationRequest
from mcpagents.connections.tasks import TaskHandle
from tests.conftest import serving_spec

ANSWER = {"tool_calls": [{"name": "final_answer", "arguments": {"answer": "42"}}]}


def answering(delay: float = 0.0) -> ToolCallingAgent:
    return ToolCallingAgent(
        model=ScriptedModel([ANSWER], per_conversation=True, delay=delay),
        name="answerer",
        description="Answers.",
        verbosity_level=0,
    )


def asking() -> ToolCallingAgent:
    """Asks the user a question with `ask_user`, then answers with what the user said."""

    def respond(messages: list[ChatMessage], tools: object) -> Any:
        if messages[-1].role != "tool":
            return {"tool_calls": [{"name": "ask_user", "arguments": {"question": "Which colour?"}}]}
        said = messages[-1].text
        return {"tool_calls": [{"name": "final_answer", "arguments": {"answer": f"you said {said}"}}]}

    return ToolCallingAgent(
        [ask_user], ScriptedModel(respond), name="asker", description="Asks.", verbosity_level=0
    )


def served(agent: ToolCallingAgent, **options: Any) -> ToolCollection:
    """The agent served in-process, to a 2025-era caller (tasks belong to that era)."""
    return ToolCollection.from_mcp(
        InProcessServer(agent_server(agent), name="served", mode="legacy"), **options
    )


@pytest.mark.anyio
async def test_a_task_is_started_at_once_polled_collected_and_listed() -> None:
    agent = answering()
    server = agent_server(agent)
    async with agent, ToolCollection.from_mcp(InProcessServer(server, name="served", mode="legacy")) as tools:
        tool = tools["answerer"]
        assert tool.task_support == "optional"
        handle = await tool.astart(task="What is 6 times 7?")
        assert (await handle.astatus()).status in ("working", "completed")
        result = await handle.aresult()
        assert result["answer"] == "42" and result["state"] == "success"
        assert (await handle.astatus()).status == "completed"
        async with Client(server, mode="legacy") as other, Client(server, mode="2026-07-28") as modern:
            assert other.server_capabilities.tasks is not None
            assert modern.server_capabilities.tasks is None, "2026-07-28 has no in-core tasks"
            listed = await other.session.send_request(mcp_types.ListTasksRequest(), mcp_types.ListTasksResult)
            got = await other.session.send_request(
                mcp_types.GetTaskRequest(params=mcp_types.GetTaskRequestParams(task_id=handle.task_id)),
                mcp_types.GetTaskResult,
            )
    assert [task.task_id for task in listed.tasks] == [handle.task_id]
    assert got.status == "completed" and got.poll_interval and got.ttl


@pytest.mark.anyio
async def test_cancelling_a_task_stops_its_run() -> None:
    runs = RunsInFlight()
    agent = answering(delay=60)
    server = agent_server(agent, runs=runs)
    async with agent, ToolCollection.from_mcp(InProcessServer(server, name="served", mode="legacy")) as tools:
        handle: TaskHandle = await tools["answerer"].astart(task="Take your time.")
        assert (await handle.astatus()).status == "working" and runs.count == 1
        cancelled = await handle.acancel()
        assert cancelled.status == "cancelled"
        with anyio.fail_after(10):
            await runs.wait()
        assert (await handle.astatus()).status == "cancelled"
        with pytest.raises(ToolError, match="cancelled"):
            await handle.aresult()


@pytest.mark.anyio
async def test_a_task_that_needs_input_asks_on_its_result_request() -> None:
    statuses: list[str] = []
    handles: list[TaskHandle] = []

    async def answer(request: ElicitationRequest) -> mcp_types.ElicitResult:
        statuses.append((await handles[0].astatus()).status)
        return accepted({"answer": "blue"})

    agent = asking()
    async with agent, served(agent, elicitation=answer) as tools:
        handles.append(await tools["asker"].astart(task="Ask me."))
        result = await handles[0].aresult()
    assert result["answer"] == "you said blue"
    assert statuses == ["input_required"]


@pytest.mark.anyio
async def test_the_agent_tool_runs_as_a_task_when_asked() -> None:
    agent = asking()
    answer = Interaction(elicitation=lambda request: _blue())
    async with agent, served(agent) as tools:
        result = await tools["asker"].acall_with({"task": "Ask me."}, as_task=True, interaction=answer)
    assert result["answer"] == "you said blue"


async def _blue() -> mcp_types.ElicitResult:
    return accepted({"answer": "blue"})


@pytest.mark.anyio
async def test_workers_share_tasks_and_a_result_outlives_the_server(tmp_path: Path) -> None:
    (tmp_path / "script.yaml").write_text(
        "per_conversation: true\nresponses:\n"
        '  - tool_calls: [{name: final_answer, arguments: {answer: "42"}}]\n'
    )
    spec = tmp_path / "answerer.yaml"
    spec.write_text(
        "name: answerer\ndescription: Answers.\ntype: tool_calling\nmodel: scripted:script.yaml\n"
    )
    store = ["--conversation-store", str(tmp_path / "store.db")]
    with serving_spec(spec, "--workers", "2", *store) as url:
        async with ToolCollection.from_mcp(HttpServer(url, mode="legacy")) as tools:
            tool = tools["answerer"]
            handles = [await tool.astart(task=f"Question {number}.") for number in range(4)]
            for handle in handles:  # each request may reach either worker
                assert (await handle.aresult())["answer"] == "42"
                assert (await handle.astatus()).status == "completed"
    with serving_spec(spec, *store) as url:
        async with ToolCollection.from_mcp(HttpServer(url, mode="legacy")) as tools:
            kept = tools["answerer"].task(handles[0].task_id)
            assert (await kept.astatus()).status == "completed"
            assert (await kept.aresult())["answer"] == "42"
