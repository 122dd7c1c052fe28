"""Tool calls run as MCP tasks (2025-11-25, SEP-1686), against the npm server-everything, whose
`simulate-research-query` runs only as a task: four stages of a second each, and a question
(elicitation) before the third when the query is `ambiguous`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from mcpagents import (
    Progress,
    ScriptedModel,
    StdioServer,
    ToolCallFinished,
    ToolCallingAgent,
    ToolCollection,
    ToolError,
    ToolProgress,
    ToolTimeoutError,
)
from mcpagents.connections.interaction import ElicitationRequest, Interaction, accepted
from mcpagents.errors import UsageError
from tests.conftest import peer

RESEARCH = "simulate-research-query"


def everything_server() -> StdioServer:
    return StdioServer(peer("mcp-server-everything"), ["stdio"], name="everything")


@pytest.fixture(scope="module")
def everything() -> Iterator[ToolCollection]:
    with ToolCollection.from_mcp(everything_server()) as tools:
        yield tools


def test_a_tool_that_requires_a_task_is_called_as_one(everything: ToolCollection) -> None:
    research = everything[RESEARCH]
    assert (research.task_support, everything["echo"].task_support) == ("required", "forbidden")
    report = research(topic="tides")
    assert report.startswith("# Research Report: tides\n")
    assert "Stage 4: Generating report ✓" in report


def test_a_started_task_reports_its_status_then_its_result(everything: ToolCollection) -> None:
    handle = everything[RESEARCH].start(topic="tides")
    status = handle.status()
    assert (status.task_id, status.status, status.status_message) == (
        handle.task_id,
        "working",
        "Gathering sources...",
    )
    assert handle.result().startswith("# Research Report: tides\n")
    assert handle.status().status == "completed"


def test_a_cancelled_handle_leaves_its_task_cancelled(everything: ToolCollection) -> None:
    handle = everything[RESEARCH].start(topic="tides")
    assert handle.cancel().status == "cancelled"
    assert handle.status().status == "cancelled"
    with pytest.raises(ToolError) as caught:
        handle.result()
    assert str(caught.value) == (
        f"tool {RESEARCH!r} on server 'everything' failed: its task {handle.task_id} was cancelled:"
        " Client cancelled task execution."
    )
    assert handle.cancel().status == "cancelled", "a task that ended is left as it was"


def test_a_task_silent_for_too_long_times_out_and_is_cancelled(everything: ToolCollection) -> None:
    research = everything[RESEARCH]
    reports: list[Progress] = []
    # The task's first change comes a second after it starts: 0.3 s of silence run out before.
    with pytest.raises(ToolTimeoutError) as caught:
        research.call_with({"topic": "tides"}, timeout=0.3, on_progress=reports.append)
    assert str(caught.value) == (
        f"tool {RESEARCH!r} on server 'everything' sent no news of its task for 0.3 s; the task was"
        " cancelled (raise the timeout if the tool needs longer)"
    )
    (created,) = reports
    assert created.task_id is not None
    assert research.task(created.task_id).status().status == "cancelled"


def test_tools_that_cannot_run_as_tasks_say_so(everything: ToolCollection) -> None:
    with pytest.raises(UsageError, match="tool 'echo' on server 'everything' cannot run as an MCP task"):
        everything["echo"].start(message="hi")
    with pytest.raises(UsageError, match="call it without `as_task=True`"):
        everything["echo"].call_with({"message": "hi"}, as_task=True)
    with pytest.raises(UsageError, match="runs only as an MCP task"):
        everything[RESEARCH].call_with({"topic": "tides"}, as_task=False)
    assert everything["echo"].call_with({"message": "hi"}, as_task=False) == "Echo: hi"


@pytest.mark.anyio
async def test_astart_refuses_a_tool_without_task_support(everything: ToolCollection) -> None:
    with pytest.raises(UsageError, match="tool 'echo' on server 'everything' cannot run as an MCP task"):
        await everything["echo"].astart(message="hi")


def test_task_states_arrive_as_progress_and_its_question_is_answered(everything: ToolCollection) -> None:
    reports: list[Progress] = []
    asked: list[str] = []
    # Both handlers run in the collection's loop; the event binds to it on first use.
    waiting = asyncio.Event()

    def progress(report: Progress) -> None:
        reports.append(report)
        if report.message and report.message.startswith("input_required: "):
            waiting.set()

    async def answer(request: ElicitationRequest) -> Any:
        asked.append(request.message)
        await waiting.wait()  # the task stays input_required until answered: a poll must see it
        return accepted({"interpretation": "snake"})

    report = everything[RESEARCH].call_with(
        {"topic": "python", "ambiguous": True},
        on_progress=progress,
        interaction=Interaction(elicitation=answer),
    )
    assert report.startswith("# Research Report: python (snake)\n")
    assert asked == [
        'The research query "python" could have multiple interpretations. Please clarify what you\'re'
        " looking for:"
    ]
    messages = [report.message for report in reports]
    assert messages[0] == "Gathering sources..."
    assert (
        'input_required: Found multiple interpretations for "python". Requesting clarification...' in messages
    )
    assert [report.progress for report in reports] == list(range(1, len(reports) + 1))
    assert {report.task_id for report in reports} == {reports[0].task_id} != {None}


@pytest.mark.anyio
async def test_cancelling_the_caller_cancels_the_task() -> None:
    started: list[str] = []
    async with ToolCollection.from_mcp(everything_server()) as tools:
        research = tools[RESEARCH]
        with anyio.CancelScope() as scope:

            def cancel(report: Progress) -> None:
                assert report.task_id is not None
                started.append(report.task_id)
                scope.cancel()

            await research.acall_with({"topic": "tides"}, on_progress=cancel)
        assert scope.cancelled_caught
        (task_id,) = started
        assert (await research.task(task_id).astatus()).status == "cancelled"


@pytest.mark.anyio
async def test_an_agent_calls_a_task_tool(everything: ToolCollection) -> None:
    model = ScriptedModel(
        [
            {"tool_calls": [{"name": RESEARCH, "arguments": {"topic": "tides"}}]},
            {"tool_calls": [{"name": "final_answer", "arguments": {"answer": "done"}}]},
        ]
    )
    agent = ToolCallingAgent(everything, model, verbosity_level=0)
    events = [event async for event in agent.arun("Research tides.", stream=True)]
    (finished,) = [
        event for event in events if isinstance(event, ToolCallFinished) and event.name == RESEARCH
    ]
    assert finished.error is None
    assert finished.result.startswith("# Research Report: tides\n")
    progress = [event.message for event in events if isinstance(event, ToolProgress)]
    assert progress[0] == "Gathering sources..."
