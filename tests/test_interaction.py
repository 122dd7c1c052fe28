"""What servers ask of the client while they work — elicitation, sampling, roots, log messages —
against the npm server-everything (2025-11-25) over stdio, streamable HTTP and SSE, and against an
in-process SDK server in both protocol eras."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp_types
import pytest

from mcpagents import HttpServer, StdioServer, ToolCollection, ToolError, ask_user
from mcpagents.agents.terminal_input import TerminalInput
from mcpagents.connections.interaction import (
    DECLINE_REASON_META,
    ElicitationRequest,
    Interaction,
    LogMessage,
    SamplingRequest,
    accepted,
)
from mcpagents.connections.specs import InProcessServer
from mcpagents.tools.local import local_server
from tests.conftest import Arrivals, peer

FORM = {
    "name": "Ada",
    "check": True,
    "email": "ada@example.org",
    "integer": 7,
    "untitledSingleSelectEnum": "Joey",
    "untitledMultipleSelectEnum": ["Piano"],
}


def everything_stdio(**options: Any) -> StdioServer:
    return StdioServer(peer("mcp-server-everything"), ["stdio"], name="everything", **options)


@pytest.fixture(scope="module", params=["streamableHttp", "sse"])
def everything_http(request: pytest.FixtureRequest) -> Iterator[HttpServer]:
    """server-everything over streamable HTTP or SSE, once it says it listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [peer("mcp-server-everything"), request.param],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if str(port) in line:
                break
        options: dict[str, Any] = {"name": "everything", "sampling": True, "roots": ["/srv/data"]}
        if request.param == "streamableHttp":
            yield HttpServer(f"http://127.0.0.1:{port}/mcp", **options)
        else:
            yield HttpServer(f"http://127.0.0.1:{port}/sse", transport="sse", **options)
    finally:
        process.terminate()
        process.wait(timeout=10)


async def answer_form(request: ElicitationRequest) -> mcp_types.ElicitResult:
    assert request.server == "everything" and request.mode == "form"
    assert set(FORM) <= set(request.schema["properties"])
    return accepted(FORM)


async def sample_scripted(request: SamplingRequest) -> mcp_types.CreateMessageResult:
    (message,) = request.params.messages
    assert isinstance(message.content, mcp_types.TextContent)
    return mcp_types.CreateMessageResult(
        role="assistant",
        content=mcp_types.TextContent(type="text", text=f"echoed <{message.content.text}>"),
        model="scripted",
    )


def said(logs: Arrivals[LogMessage], text: str) -> int:
    """How many of the log messages say `text`."""
    return sum(text in str(message.data) for message in logs.items)


async def wait_for_saying(logs: Arrivals[LogMessage], text: str, more_than: int = 0) -> None:
    await logs.wait_until(lambda messages: said(logs, text) > more_than)


@pytest.mark.anyio
async def test_elicitation_sampling_roots_and_logs_over_stdio(tmp_path: Path) -> None:
    logs = Arrivals[LogMessage]()
    server = everything_stdio(roots=[str(tmp_path)])
    async with ToolCollection.from_mcp(
        server, elicitation=answer_form, sampling=sample_scripted, on_log=logs, log_level="debug"
    ) as tools:
        offered = {tool.name for tool in tools}
        assert {"trigger-elicitation-request", "trigger-sampling-request", "get-roots-list"} <= offered
        answered = await tools["trigger-elicitation-request"].acall()
        assert "User provided the requested information" in answered and "Name: Ada" in answered
        sampled = await tools["trigger-sampling-request"].acall(prompt="hello")
        assert "echoed <Resource trigger-sampling-request context: hello>" in sampled
        await wait_for_saying(logs, "Roots updated")
        assert tmp_path.as_uri() in await tools["get-roots-list"].acall()
        other = tmp_path / "other"
        other.mkdir()
        updates = said(logs, "Roots updated")
        await tools.aset_roots([other])
        await wait_for_saying(logs, "Roots updated", more_than=updates)  # it asked again once told
        assert other.as_uri() in await tools["get-roots-list"].acall()
        await tools["toggle-simulated-logging"].acall()
        await wait_for_saying(logs, "level")  # one of its simulated messages, of a random level
    assert all(message.server == "everything" for message in logs.items)
    assert "Roots updated" in (tools._log_dir / "everything.log").read_text()


@pytest.mark.anyio
async def test_elicitation_without_anyone_to_ask_is_declined_with_a_reason() -> None:
    async with ToolCollection.from_mcp(everything_stdio()) as tools:
        answered = await tools["trigger-elicitation-request"].acall()
    assert "declined" in answered.lower()
    assert DECLINE_REASON_META in answered and "nobody is there to answer" in answered


@pytest.mark.anyio
async def test_sampling_is_offered_only_to_servers_allowed_to_sample() -> None:
    async with ToolCollection.from_mcp(everything_stdio()) as tools:
        assert "trigger-sampling-request" not in tools
    async with ToolCollection.from_mcp(everything_stdio(sampling=True)) as tools:
        with pytest.raises(ToolError, match="sampling refused: no model or handler answers"):
            await tools["trigger-sampling-request"].acall(prompt="hi")
        runs_model = Interaction(sampling=sample_scripted)
        sampled = await tools["trigger-sampling-request"].acall_with({"prompt": "hi"}, interaction=runs_model)
        assert "echoed <" in sampled


@pytest.mark.anyio
async def test_each_call_is_answered_by_its_own_interaction() -> None:
    async def declines(request: ElicitationRequest) -> mcp_types.ElicitResult:
        return mcp_types.ElicitResult(action="cancel")

    async with ToolCollection.from_mcp(everything_stdio()) as tools:
        asking = tools["trigger-elicitation-request"]
        accepted_text = await asking.acall_with({}, interaction=Interaction(elicitation=answer_form))
        cancelled_text = await asking.acall_with({}, interaction=Interaction(elicitation=declines))
    assert "Name: Ada" in accepted_text and "cancel" in cancelled_text.lower()


@pytest.mark.anyio
async def test_interaction_over_http_transports(everything_http: HttpServer) -> None:
    async with ToolCollection.from_mcp(
        everything_http, elicitation=answer_form, sampling=sample_scripted
    ) as tools:
        assert "Name: Ada" in await tools["trigger-elicitation-request"].acall()
        assert "echoed <" in await tools["trigger-sampling-request"].acall(prompt="x")
        assert "file:///srv/data" in await tools["get-roots-list"].acall()


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_ask_user_reaches_the_calls_interaction_in_both_eras(mode: str) -> None:
    questions: list[str] = []

    async def answer(request: ElicitationRequest) -> mcp_types.ElicitResult:
        questions.append(request.message)
        return accepted({"answer": "blue"})

    served = local_server([ask_user]).server
    async with ToolCollection.from_mcp(InProcessServer(served, mode=mode)) as tools:  # type: ignore[arg-type]
        asking = tools["ask_user"]
        assert (
            await asking.acall_with({"question": "Which colour?"}, interaction=Interaction(answer)) == "blue"
        )
        unanswered = await asking.acall(question="Which colour?")
        era = tools.status()[0].protocol_version
    assert questions == ["Which colour?"]
    assert unanswered.startswith("The user did not answer (decline)")
    assert (era == "2025-11-25") == (mode == "legacy")


@pytest.mark.anyio
async def test_terminal_input_checks_each_field_and_asks_again() -> None:
    typed = "\n".join(
        [
            "",  # answer the form
            "Ada",
            "maybe",  # not a boolean
            "y",
            "",  # keeps the default first line
            "not-an-email",
            "ada@example.org",
            "https://ada.example.org",
            "2000-13-40",  # not a date
            "2000-01-31",
            "500",  # above the maximum of 100
            "7",
            "",
            "3",  # the third choice
            "2,3",
            "",
            "",
            "",
        ]
    )
    shown = io.StringIO()
    async with ToolCollection.from_mcp(
        everything_stdio(), elicitation=TerminalInput(io.StringIO(typed + "\n"), shown)
    ) as tools:
        answered = await tools["trigger-elicitation-request"].acall()
    transcript = shown.getvalue()
    assert "answer y or n" in transcript and "'not-an-email' is not a valid email" in transcript
    assert "'2000-13-40' is not a valid date" in transcript and "maximum of 100" in transcript
    for line in ("Name: Ada", "Email: ada@example.org", "Birthdate: 2000-01-31", "Favorite Integer: 7"):
        assert line in answered
    assert '"untitledSingleSelectEnum": "Joey"' in answered
    assert '"Piano",\n      "Violin"' in answered


@pytest.mark.anyio
async def test_terminal_input_declines_and_opens_urls() -> None:
    shown = io.StringIO()
    async with ToolCollection.from_mcp(
        everything_stdio(), elicitation=TerminalInput(io.StringIO("d\n\n"), shown)
    ) as tools:
        declined_text = await tools["trigger-elicitation-request"].acall()
        opened = await tools["trigger-url-elicitation"].acall(url="https://example.org/pay")
    assert "declined" in declined_text.lower() and "the user declined" in declined_text
    assert "Open this address to continue: https://example.org/pay" in shown.getvalue()
    assert "accept" in opened.lower()


@pytest.mark.anyio
async def test_a_page_the_server_requires_first_is_opened_and_the_call_made_again() -> None:
    opened: list[str | None] = []
    answer: list[mcp_types.ElicitResult] = [mcp_types.ElicitResult(action="accept")]

    async def open_page(request: ElicitationRequest) -> mcp_types.ElicitResult:
        opened.append(request.url)
        return answer[0]

    async with ToolCollection.from_mcp(everything_stdio(), elicitation=open_page) as tools:
        url_tool = tools["trigger-url-elicitation"]
        done = await url_tool.acall(url="https://example.org/sign-in", errorPath=True)
        required = opened[0]
        assert required is not None and required != "https://example.org/sign-in", "the error's own page"
        assert "example.org/sign-in" in done, "the call made again went through"
        answer[0] = mcp_types.ElicitResult(action="decline")
        with pytest.raises(
            ToolError, match=rf"needs this page opened first: {re.escape(required)} .*declined"
        ):
            await url_tool.acall(url="https://example.org/other", errorPath=True)
