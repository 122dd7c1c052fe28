"""Questions relayed up a chain of agents: a client nobody on this team wrote (the MCP SDK's `Client`,
with handlers of its own) calls a served agent, which calls a served child agent, which calls
server-everything's elicitation and sampling tools — the answer given at the top reaches the bottom,
in both protocol eras, in-process and through `mcpagents serve` over stdio and HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPDeprecationWarning

from mcpagents import ChatMessage, ScriptedModel, StdioServer, ToolCallingAgent, ToolCollection
from mcpagents.agents.caller import HeldRuns
from mcpagents.agents.mcp_server import RunsInFlight, agent_server
from tests.conftest import MCPAGENTS, inspector, peer, serving_spec

ERAS = {"legacy": "legacy", "modern": "2026-07-28"}
FORM = {"name": "Top", "check": True, "integer": 3, "untitledSingleSelectEnum": "Ross"}


def relay(tool: str, arguments: dict[str, Any]) -> ScriptedModel:
    """A model that calls `tool` once, then answers with what the tool returned."""

    def respond(messages: list[ChatMessage], tools: object) -> dict[str, Any]:
        if messages[-1].role != "tool":
            return {"tool_calls": [{"name": tool, "arguments": arguments}]}
        return {"tool_calls": [{"name": "final_answer", "arguments": {"answer": messages[-1].text}}]}

    return ScriptedModel(respond)


def chain(bottom_tool: str, arguments: dict[str, Any], **child_options: Any) -> ToolCallingAgent:
    """boss → child (a managed agent) → server-everything's `bottom_tool`."""
    everything = ToolCollection.from_mcp(
        StdioServer(peer("mcp-server-everything"), ["stdio"], name="everything", sampling=True),
        include=[bottom_tool],
    )
    child = ToolCallingAgent(
        everything,
        relay(bottom_tool, arguments),
        name="child",
        description="Calls the tool.",
        **child_options,
    )
    return ToolCallingAgent(
        model=relay("child", {"task": "Call the tool."}),
        name="boss",
        description="Delegates.",
        managed_agents=[child],
        verbosity_level=0,
    )


async def answer_form(
    context: ClientRequestContext, params: mcp_types.ElicitRequestParams
) -> mcp_types.ElicitResult:
    assert isinstance(params, mcp_types.ElicitRequestFormParams)
    return mcp_types.ElicitResult(action="accept", content=FORM)


async def sample_at_the_top(
    context: ClientRequestContext, params: mcp_types.CreateMessageRequestParams
) -> mcp_types.CreateMessageResult:
    return mcp_types.CreateMessageResult(
        role="assistant", content=mcp_types.TextContent(type="text", text="written at the top"), model="top"
    )


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_an_elicitation_three_servers_down_is_answered_at_the_top(era: str) -> None:
    boss = chain("trigger-elicitation-request", {})
    async with boss, Client(agent_server(boss), mode=ERAS[era], elicitation_callback=answer_form) as top:
        result = await top.call_tool("boss", {"task": "Ask the user."})
    assert not result.is_error, result.content
    answer = result.structured_content["answer"]  # type: ignore[index]
    assert "User provided the requested information" in answer and "- Name: Top" in answer
    assert "Ross" in answer


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_a_sampling_request_is_relayed_to_the_top(era: str) -> None:
    boss = chain("trigger-sampling-request", {"prompt": "Say hi."})
    async with boss, Client(agent_server(boss), mode=ERAS[era], sampling_callback=sample_at_the_top) as top:
        result = await top.call_tool("boss", {"task": "Sample."})
    answer = result.structured_content["answer"]  # type: ignore[index]
    assert "LLM sampling result" in answer and "written at the top" in answer


@pytest.mark.anyio
async def test_a_served_agent_may_answer_sampling_with_its_own_model() -> None:
    boss = chain("trigger-sampling-request", {"prompt": "Say hi."})
    relaying = boss.model

    def respond(messages: list[ChatMessage], tools: object) -> Any:
        if "context: Say hi." in messages[-1].text:  # the bottom server's sampling request
            return "written by the boss's model"
        return relaying._function(messages, tools)  # type: ignore[attr-defined]

    boss.model = ScriptedModel(respond)
    async with boss, Client(agent_server(boss, sampling="model"), sampling_callback=sample_at_the_top) as top:
        result = await top.call_tool("boss", {"task": "Sample."})
    structured = result.structured_content or {}
    assert "written by the boss's model" in structured["answer"]
    assert "written at the top" not in structured["answer"]
    # The sampling tokens count in the boss's run.
    assert structured["token_usage"]["input_tokens"] > 0


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_a_caller_that_cannot_answer_gets_the_question_declined_with_why(era: str) -> None:
    boss = chain("trigger-elicitation-request", {})
    async with boss, Client(agent_server(boss), mode=ERAS[era]) as top:
        result = await top.call_tool("boss", {"task": "Ask the user."})
    answer = result.structured_content["answer"]  # type: ignore[index]
    assert "declined" in answer.lower() and "does not accept elicitation requests" in answer


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_a_caller_that_goes_away_while_a_question_waits_stops_the_runs(era: str) -> None:
    """2025 era: cancelling the call cancels the runs below. 2026-07-28: the call has already
    answered `input_required`, so nothing is left to cancel; a caller that never comes back with
    the answers is given up after the answer wait, and the runs go on without."""
    asked = anyio.Event()

    async def never_answers(
        context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult:
        asked.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    runs = RunsInFlight()
    boss = chain("trigger-elicitation-request", {})
    served = agent_server(boss, runs=runs, held_runs=HeldRuns(answer_wait=0.5))
    async with boss, Client(served, mode=ERAS[era], elicitation_callback=never_answers) as top:
        async with anyio.create_task_group() as calls:
            calls.start_soon(top.call_tool, "boss", {"task": "Ask the user."})
            with anyio.fail_after(30):
                await asked.wait()
            calls.cancel_scope.cancel()
        with anyio.fail_after(30):
            await runs.wait()
    assert runs.count == 0


@pytest.fixture
def chain_specs(tmp_path: Path) -> Path:
    """boss.yaml manages asker.yaml, whose tool asks the user (server-everything over stdio)."""
    everything = json.dumps(peer("mcp-server-everything"))
    (tmp_path / "asker-script.yaml").write_text(
        "per_conversation: true\nresponses:\n"
        "  - tool_calls: [{name: trigger-elicitation-request, arguments: {}}]\n"
        '  - tool_calls: [{name: final_answer, arguments: {answer: "asked"}}]\n'
    )
    (tmp_path / "asker.yaml").write_text(
        "name: asker\ndescription: Asks the user through a tool.\ntype: tool_calling\n"
        "model: scripted:asker-script.yaml\n"
        f"mcpServers:\n  everything: {{command: {everything}, args: [stdio]}}\n"
        "include: [trigger-elicitation-request]\n"
    )
    (tmp_path / "boss-script.yaml").write_text(
        "per_conversation: true\nresponses:\n"
        "  - tool_calls: [{name: asker, arguments: {task: Ask the user.}}]\n"
        '  - tool_calls: [{name: final_answer, arguments: {answer: "done"}}]\n'
    )
    (tmp_path / "boss.yaml").write_text(
        "name: boss\ndescription: Delegates.\ntype: tool_calling\nmodel: scripted:boss-script.yaml\n"
        "agents: [asker.yaml]\n"
    )
    return tmp_path


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_served_specs_relay_a_question_to_the_top(chain_specs: Path, era: str, transport: str) -> None:
    questions: list[str] = []

    async def answer(
        context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult:
        questions.append(params.message)
        return mcp_types.ElicitResult(action="accept", content=FORM)

    async def call(target: Any) -> mcp_types.CallToolResult:
        async with Client(target, mode=ERAS[era], elicitation_callback=answer) as top:
            return await top.call_tool("boss", {"task": "Go."})

    boss = chain_specs / "boss.yaml"
    if transport == "stdio":
        result = await call(StdioServerParameters(command=MCPAGENTS, args=["serve", str(boss)]))
    else:
        # A 2025-era caller is asked on the stream of a session: stateless HTTP has none.
        with serving_spec(boss, *(["--stateful"] if era == "legacy" else [])) as url:
            result = await call(url)
    assert result.structured_content is not None and result.structured_content["answer"] == "done"
    assert questions == ["Please provide inputs for the following fields:"]


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_the_inspector_sees_an_honest_tool_and_a_run_whose_question_it_cannot_answer_ends(
    chain_specs: Path, tmp_path: Path, era: str
) -> None:
    command = [MCPAGENTS, "serve", str(chain_specs / "asker.yaml"), "--protocol-era", era]
    (tool,) = inspector(*command, "--method", "tools/list", home=tmp_path)["tools"]
    tasks = {"taskSupport": "optional"} if era == "legacy" else None  # 2026-07-28 has no in-core tasks
    assert tool["title"] == "Asker" and tool.get("execution") == tasks
    # Its one tool (server-everything's) says it is neither read-only nor destructive, and local.
    assert tool["annotations"] == {
        "readOnlyHint": False,
        "destructiveHint": False,
        "idempotentHint": False,
        "openWorldHint": False,
    }
    # The Inspector declares no elicitation: the question is declined, and the run goes on to its end.
    call = ["--method", "tools/call", "--tool-name", "asker", "--tool-arg", "task=Go."]
    called = inspector(*command, *call, home=tmp_path)
    assert called["structuredContent"]["answer"] == "asked" and called["isError"] is False


@pytest.mark.anyio
async def test_workers_relay_questions_whichever_worker_a_retry_reaches(tmp_path: Path) -> None:
    (tmp_path / "script.yaml").write_text(
        "per_conversation: true\nresponses:\n"
        '  - tool_calls: [{name: ask_user, arguments: {question: "First?"}}]\n'
        '  - tool_calls: [{name: ask_user, arguments: {question: "Second?"}}]\n'
        '  - tool_calls: [{name: ask_user, arguments: {question: "Third?"}}]\n'
        '  - tool_calls: [{name: final_answer, arguments: {answer: "thanks"}}]\n'
    )
    spec = tmp_path / "asker.yaml"
    spec.write_text(
        "name: asker\ndescription: Asks.\ntype: tool_calling\nmodel: scripted:script.yaml\nask_user: true\n"
    )
    questions: list[str] = []

    async def answer(
        context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult:
        questions.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={"answer": "yes"})

    store = ["--conversation-store", str(tmp_path / "store.db")]
    # A connection per request, as clients behind proxies or without keep-alive make: the kernel
    # hands each to either worker.
    fresh_connections = httpx2.AsyncClient(limits=httpx2.Limits(max_keepalive_connections=0))
    with serving_spec(spec, "--workers", "2", *store) as url:
        transport = streamable_http_client(url, http_client=fresh_connections)
        async with (
            fresh_connections,
            Client(transport, mode="2026-07-28", elicitation_callback=answer) as caller,
        ):
            for _ in range(3):
                result = await caller.call_tool("asker", {"task": "Ask me three things."})
                assert result.structured_content is not None, result.content
                assert result.structured_content["answer"] == "thanks"
    assert questions == ["First?", "Second?", "Third?"] * 3


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_each_step_reaches_a_caller_that_asked_for_log_messages(era: str) -> None:
    received: list[mcp_types.LoggingMessageNotificationParams] = []

    async def log(params: mcp_types.LoggingMessageNotificationParams) -> None:
        received.append(params)

    boss = chain("trigger-elicitation-request", {})
    served = agent_server(boss, step_log_level="notice")
    async with (
        boss,
        Client(
            served, mode=ERAS[era], elicitation_callback=answer_form, logging_callback=log, log_level="info"
        ) as top,
    ):
        if era == "legacy":  # a 2025-era session asks for log messages by setting a level
            with pytest.warns(MCPDeprecationWarning):
                await top.set_logging_level("info")
        result = await top.call_tool("boss", {"task": "Ask the user."})
    assert not result.is_error
    lines = [(params.level, params.logger, params.data) for params in received]
    assert ("notice", "boss", 'step 1: calling child(task="Call the tool.")') in lines, lines
    assert ("notice", "boss", "step 2 done") in lines


@pytest.mark.anyio
async def test_a_2025_caller_that_set_no_level_gets_no_log_messages() -> None:
    received: list[mcp_types.LoggingMessageNotificationParams] = []

    async def log(params: mcp_types.LoggingMessageNotificationParams) -> None:
        received.append(params)

    boss = chain("trigger-elicitation-request", {})
    served = agent_server(boss)
    async with (
        boss,
        Client(served, mode="legacy", elicitation_callback=answer_form, logging_callback=log) as top,
    ):
        assert top.server_capabilities.logging is not None
        result = await top.call_tool("boss", {"task": "Ask the user."})
    assert not result.is_error and received == []
