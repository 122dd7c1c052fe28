"""The Tasks extension of MCP 2026-07-28 (SEP-2663), both sides: a served agent whose run outlasts
the call's wait answers with a task to a caller that declared the extension; the caller polls it,
answers its questions with `tasks/update`, may cancel it. Checked on the wire with the SDK's
`Client`, through `ToolCollection`, with the MCP Inspector (whose Tasks client is the extension's
reference package), and across the workers of a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import anyio
import httpx2
import mcp_types
import pytest
from mcp import Client, MCPError
from mcp.client import ClientSession
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client

from mcpagents import (
    ChatMessage,
    InProcessServer,
    ScriptedModel,
    ToolCallingAgent,
    ToolCollection,
    ToolError,
    accepted,
)
from mcpagents.agents.mcp_server import RunsInFlight, agent_server
from mcpagents.connections.interaction import ElicitationRequest
from mcpagents.connections.tasks_extension import (
    CancelTaskRequest,
    CreatedTask,
    GetTaskRequest,
    TaskParams,
    TasksExtension,
    TaskState,
    UpdateTaskParams,
    UpdateTaskRequest,
)
from mcpagents.tools.tool import Progress
from tests.conftest import MCPAGENTS, Arrivals, inspector, serving_spec
from tests.test_served_tasks import answering, asking

MODERN: Final = "2026-07-28"


async def get(session: ClientSession, task_id: str) -> TaskState:
    return await session.send_request(GetTaskRequest(params=TaskParams(task_id=task_id)), TaskState)


async def until(session: ClientSession, task_id: str, *statuses: str) -> TaskState:
    """Poll the task, as the extension has its clients do, until it is in one of `statuses`."""
    with anyio.fail_after(20):
        while (state := await get(session, task_id)).status not in statuses:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    return state


@pytest.mark.anyio
async def test_a_run_longer_than_the_wait_becomes_a_task_polled_to_its_inline_result() -> None:
    agent = answering(delay=0.5)
    quick, slow = agent_server(agent), agent_server(agent, task_after=0.1)
    async with (
        agent,
        Client(slow, mode=MODERN, extensions=[TasksExtension()]) as caller,
        Client(quick, mode=MODERN, extensions=[TasksExtension()]) as patient,
        Client(slow, mode=MODERN) as undeclared,
    ):
        discovered = await caller.session.send_discover(MODERN)
        assert discovered["capabilities"]["extensions"] == {"io.modelcontextprotocol/tasks": {}}
        created = await caller.session.call_tool("answerer", {"task": "Q?"}, allow_claimed=True)
        assert isinstance(created, CreatedTask) and created.status == "working"
        assert created.ttl_ms and created.poll_interval_ms
        state = await until(caller.session, created.task_id, "completed")
        assert state.result is not None and state.result["structuredContent"]["answer"] == "42"
        # A run that ends within the wait is answered as a plain result; a caller that did not
        # declare the extension never gets a task, and may not ask about one.
        direct = await patient.session.call_tool("answerer", {"task": "Q?"}, allow_claimed=True)
        assert isinstance(direct, mcp_types.CallToolResult) and not direct.is_error
        plain = await undeclared.call_tool("answerer", {"task": "Q?"})
        assert plain.structured_content is not None and plain.structured_content["answer"] == "42"
        with pytest.raises(MCPError) as refused:
            await get(undeclared.session, created.task_id)
        assert refused.value.code == mcp_types.MISSING_REQUIRED_CLIENT_CAPABILITY
        with pytest.raises(MCPError) as unknown:
            await get(caller.session, "no-such-task")
        assert unknown.value.code == mcp_types.INVALID_PARAMS and "no task" in unknown.value.message


@pytest.mark.anyio
async def test_a_task_lists_its_questions_and_takes_the_answers_by_update() -> None:
    async def never(context: ClientRequestContext, params: Any) -> mcp_types.ElicitResult:
        raise AssertionError("a task's questions are answered by tasks/update")

    agent = asking()
    server = agent_server(agent, task_after=0)
    async with (
        agent,
        Client(server, mode=MODERN, extensions=[TasksExtension()], elicitation_callback=never) as caller,
    ):
        created = await caller.session.call_tool("asker", {"task": "Ask me."}, allow_claimed=True)
        assert isinstance(created, CreatedTask)
        waiting = await until(caller.session, created.task_id, "input_required")
        ((key, question),) = (waiting.input_requests or {}).items()
        assert question["method"] == "elicitation/create"
        assert question["params"]["message"] == "Which colour?"
        again = await get(caller.session, created.task_id)
        assert again.input_requests == waiting.input_requests, "the same key until it is answered"
        answer = {"action": "accept", "content": {"answer": "blue"}}
        update = UpdateTaskParams(task_id=created.task_id, input_responses={"unknown": answer, key: answer})
        await caller.session.send_request(UpdateTaskRequest(params=update), mcp_types.EmptyResult)
        done = await until(caller.session, created.task_id, "completed")
    assert done.result is not None and done.result["structuredContent"]["answer"] == "you said blue"


@pytest.mark.anyio
async def test_a_tool_collection_follows_a_task_answers_it_and_reports_its_states() -> None:
    agent = asking()
    asked: list[str] = []
    progress: Arrivals[Progress] = Arrivals()

    async def answer(request: ElicitationRequest) -> mcp_types.ElicitResult:
        asked.append(request.params.message)
        return accepted({"answer": "blue"})

    server = InProcessServer(agent_server(agent, task_after=0), name="served")
    async with agent, ToolCollection.from_mcp(server, elicitation=answer) as tools:
        result = await tools["asker"].acall_with({"task": "Ask me."}, on_progress=progress)
    assert result["answer"] == "you said blue" and asked == ["Which colour?"]
    assert [report.message for report in progress.items][:1] == ["working"]
    assert any((report.message or "").startswith("input_required") for report in progress.items), (
        progress.items
    )
    assert {report.task_id for report in progress.items} != {None}


@pytest.mark.anyio
async def test_cancelling_the_caller_cancels_the_task_and_its_run() -> None:
    runs = RunsInFlight()
    agent = answering(delay=60)
    server = agent_server(agent, runs=runs, task_after=0)
    async with agent, ToolCollection.from_mcp(InProcessServer(server, name="served")) as tools:
        with anyio.move_on_after(1):
            await tools["answerer"].acall(task="Take your time.")
        assert runs.count == 0 or await _stops(runs)
        async with Client(server, mode=MODERN, extensions=[TasksExtension()]) as caller:
            created = await caller.session.call_tool("answerer", {"task": "Again."}, allow_claimed=True)
            assert isinstance(created, CreatedTask)
            cancel = CancelTaskRequest(params=TaskParams(task_id=created.task_id))
            await caller.session.send_request(cancel, mcp_types.EmptyResult)
            assert (await until(caller.session, created.task_id, "cancelled")).status == "cancelled"
            await caller.session.send_request(cancel, mcp_types.EmptyResult)  # an ended task: still acked
        assert await _stops(runs)


async def _stops(runs: RunsInFlight) -> bool:
    with anyio.fail_after(10):
        await runs.wait()
    return True


def _spec(tmp_path: Path, *responses: str, delay: float = 0.0) -> Path:
    script = "".join(f"  - tool_calls: [{response}]\n" for response in responses)
    (tmp_path / "script.yaml").write_text(f"per_conversation: true\ndelay: {delay}\nresponses:\n{script}")
    spec = tmp_path / "agent.yaml"
    spec.write_text(
        "name: asker\ndescription: Asks.\ntype: tool_calling\nmodel: scripted:script.yaml\nask_user: true\n"
    )
    return spec


FINAL = '{name: final_answer, arguments: {answer: "thanks"}}'


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_the_inspector_follows_a_served_agents_task_to_its_result(tmp_path: Path, transport: str) -> None:
    spec = _spec(tmp_path, FINAL, delay=0.5)
    call = ["--protocol-era", "modern", "--method", "tools/call", "--tool-name", "asker"]
    call += ["--tool-arg", "task=Go."]
    if transport == "stdio":
        called = inspector(MCPAGENTS, "serve", str(spec), "--task-after", "0", *call, home=tmp_path)
    else:
        with serving_spec(spec, "--task-after", "0") as url:
            called = inspector(url, "--transport", "http", *call, home=tmp_path)
    assert called["isError"] is False and called["structuredContent"]["answer"] == "thanks"


@pytest.mark.anyio
async def test_workers_answer_for_any_task_and_pass_its_answers_on(tmp_path: Path) -> None:
    questions = [f'{{name: ask_user, arguments: {{question: "{word}?"}}}}' for word in ("First", "Second")]
    spec = _spec(tmp_path, *questions, FINAL)
    asked: list[str] = []

    async def answer(context: ClientRequestContext, params: Any) -> mcp_types.ElicitResult:
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={"answer": "yes"})

    store = ["--conversation-store", str(tmp_path / "store.db"), "--task-after", "0"]
    # A connection per request: the kernel hands each to either worker.
    fresh_connections = httpx2.AsyncClient(limits=httpx2.Limits(max_keepalive_connections=0))
    with serving_spec(spec, "--workers", "2", *store) as url:
        transport = streamable_http_client(url, http_client=fresh_connections)
        async with (
            fresh_connections,
            Client(
                transport, mode=MODERN, elicitation_callback=answer, extensions=[TasksExtension()]
            ) as caller,
        ):
            for _ in range(3):
                result = await caller.call_tool("asker", {"task": "Ask me two things."})
                assert result.structured_content is not None, result.content
                assert result.structured_content["answer"] == "thanks"
    assert asked == ["First?", "Second?"] * 3


@pytest.mark.anyio
async def test_a_task_handle_follows_cancels_and_collects_an_extension_task() -> None:
    runs = RunsInFlight()
    agent = answering(delay=0.5)
    server = InProcessServer(agent_server(agent, runs=runs, task_after=0), name="served")
    async with agent, ToolCollection.from_mcp(server) as tools:
        tool = tools["answerer"]
        handle = await tool.astart(task="Q?")
        assert (await handle.astatus()).status == "working"
        assert (await handle.aresult())["answer"] == "42"
        assert (await handle.astatus()).status == "completed"
        stopped = await tool.astart(task="Q?")
        assert (await stopped.acancel()).status == "cancelled"
        assert await _stops(runs)
        with pytest.raises(ToolError, match="cancelled"):
            await stopped.aresult()
        with pytest.raises(ToolError, match="does not know task"):
            await tool.task("no-such-task").astatus()


@pytest.mark.anyio
async def test_a_question_asked_inside_a_child_agents_task_reaches_the_top_of_the_chain() -> None:
    def delegate(messages: list[ChatMessage], tools: object) -> Any:
        if messages[-1].role != "tool":
            return {"tool_calls": [{"name": "asker", "arguments": {"task": "Ask the user."}}]}
        return {"tool_calls": [{"name": "final_answer", "arguments": {"answer": messages[-1].text}}]}

    child = asking()
    below = ToolCollection.from_mcp(InProcessServer(agent_server(child, task_after=0), name="child"))
    boss = ToolCallingAgent(below, ScriptedModel(delegate), name="boss", description="d", verbosity_level=0)
    asked: list[str] = []

    async def answer(context: ClientRequestContext, params: Any) -> mcp_types.ElicitResult:
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={"answer": "blue"})

    reports: list[str] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        reports.append(message or "")

    async with child, boss, Client(agent_server(boss), mode=MODERN, elicitation_callback=answer) as top:
        result = await top.call_tool("boss", {"task": "Find out the colour."}, progress_callback=progress)
    assert asked == ["Which colour?"]
    assert any(report.startswith("step 1: asker: input_required") for report in reports), reports
    assert result.structured_content is not None and "you said blue" in result.structured_content["answer"]
