"""A third-party legacy peer: a FastMCP server on the 1.x MCP SDK (tests/servers/fastmcp1_interactive.py,
run by the python of the pinned venv `make test` builds) asks mcpagents' client while it works, in the
push style of the 2025 era — sampling, a form made from a pydantic model, roots, log messages, progress —
and sees the client's answers. And a 1.x client (tests/servers/mcp1_client.py) at the top of a served
chain answers what that server asks at the bottom, three processes down."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest

from mcpagents import StdioServer, ToolCollection, ToolError
from mcpagents.connections.interaction import (
    DECLINE_REASON_META,
    ElicitationRequest,
    Interaction,
    LogMessage,
    SamplingRequest,
    accepted,
)
from mcpagents.tools.tool import Progress
from tests.conftest import MCPAGENTS, TESTS, Arrivals, mcp1_python

SERVER = TESTS / "servers" / "fastmcp1_interactive.py"
CLIENT = TESTS / "servers" / "mcp1_client.py"
BOOKING = {"name": "Ada", "guests": 3, "vegetarian": True}


def fastmcp1(**options: Any) -> StdioServer:
    return StdioServer(mcp1_python(), [str(SERVER)], name="fastmcp1", **options)


class Handlers:
    """Answers the server's requests as a client's person and model would, and records them."""

    def __init__(self) -> None:
        self.elicitations: list[ElicitationRequest] = []
        self.samplings: list[SamplingRequest] = []

    async def elicit(self, request: ElicitationRequest) -> mcp_types.ElicitResult:
        self.elicitations.append(request)
        return accepted(BOOKING)

    async def sample(self, request: SamplingRequest) -> mcp_types.CreateMessageResult:
        self.samplings.append(request)
        (message,) = request.params.messages
        assert isinstance(message.content, mcp_types.TextContent)
        text = f"echoed <{message.content.text}>"
        return mcp_types.CreateMessageResult(
            role="assistant", content=mcp_types.TextContent(type="text", text=text), model="scripted"
        )


@pytest.mark.anyio
async def test_a_fastmcp1_server_is_answered_while_it_works(tmp_path: Path, log_dir: Path) -> None:
    handlers, logs, progress = Handlers(), Arrivals[LogMessage](), Arrivals[Progress]()
    server = fastmcp1(sampling=True, roots=[str(tmp_path)])
    async with ToolCollection.from_mcp(
        server, elicitation=handlers.elicit, sampling=handlers.sample, on_log=logs, log_level="debug"
    ) as tools:
        assert tools.status()[0].protocol_version == "2025-11-25"  # the newest the 1.x SDK speaks
        # (a) sampling: the client's model answered, and the server got the answer
        sampled = json.loads(await tools["sample"].acall(prompt="hello"))
        assert sampled == {"role": "assistant", "text": "echoed <hello>", "model": "scripted"}
        (sampling,) = handlers.samplings
        assert sampling.server == "fastmcp1" and sampling.params.system_prompt == "Answer in one line."
        assert sampling.params.max_tokens == 64
        # (b) elicitation: a form made from the server's pydantic model, answered and validated there
        booked = json.loads(await tools["book"].acall(question="A table for how many?"))
        assert booked == {"action": "accept", "data": BOOKING}
        (asked,) = handlers.elicitations
        assert asked.server == "fastmcp1" and asked.mode == "form"
        assert asked.message == "A table for how many?"
        assert asked.schema["required"] == ["name", "guests"]
        assert asked.schema["properties"]["guests"] == {
            "description": "How many people",
            "maximum": 12,
            "minimum": 1,
            "title": "Guests",
            "type": "integer",
        }
        # (c) roots: the folders offered, and others once the server is told they changed
        assert json.loads(await tools["roots"].acall()) == [{"uri": tmp_path.as_uri(), "name": tmp_path.name}]
        other = tmp_path / "other"
        other.mkdir()
        await tools.aset_roots([other])
        assert json.loads(await tools["roots"].acall()) == [{"uri": other.as_uri(), "name": "other"}]
        # (d) log messages at each level
        assert await tools["chatter"].acall() == "sent 4 log messages"
        await logs.wait_for(6)  # and one each from `sample` and `book`, which say what they got
        # (e) progress
        counted = await tools["count"].acall_with({"steps": 3}, on_progress=progress)
        assert counted == "counted to 3"
        await progress.wait_for(3)
    assert [(m.server, m.logger, m.level, m.data) for m in logs.items] == [
        ("fastmcp1", "fastmcp1.sample", "info", f"sample got {json.dumps(sampled)}"),
        ("fastmcp1", "fastmcp1.book", "info", f"book got {json.dumps(booked)}"),
    ] + [
        ("fastmcp1", "fastmcp1.chatter", level, f"a {level} message from fastmcp1")
        for level in ("debug", "info", "warning", "error")
    ]
    assert "a warning message from fastmcp1" in (log_dir / "fastmcp1.log").read_text()
    assert [(p.tool, p.server, p.progress, p.total, p.message) for p in progress.items] == [
        ("count", "fastmcp1", float(step), 3.0, f"step {step} of 3") for step in (1, 2, 3)
    ]


@pytest.mark.anyio
async def test_without_anyone_to_ask_the_server_sees_a_decline_and_why() -> None:
    async with ToolCollection.from_mcp(fastmcp1()) as tools:
        booked = json.loads(await tools["book"].acall(question="A table?"))
        raw = json.loads(await tools["book_raw"].acall(question="A table?"))
    assert booked == {"action": "decline", "data": None}
    assert raw["action"] == "decline" and "content" not in raw
    assert "nobody is there to answer" in raw["_meta"][DECLINE_REASON_META]


@pytest.mark.anyio
async def test_a_server_allowed_to_sample_is_answered_by_the_calls_interaction_or_refused() -> None:
    handlers = Handlers()
    async with ToolCollection.from_mcp(fastmcp1(sampling=True)) as tools:
        with pytest.raises(ToolError, match="sampling refused: no model or handler answers"):
            await tools["sample"].acall(prompt="hi")
        answered = await tools["sample"].acall_with(
            {"prompt": "hi"}, interaction=Interaction(sampling=handlers.sample)
        )
    assert json.loads(answered)["text"] == "echoed <hi>"
    assert len(handlers.samplings) == 1


@pytest.mark.anyio
async def test_a_server_not_allowed_to_sample_never_reaches_a_model() -> None:
    handlers = Handlers()
    async with ToolCollection.from_mcp(fastmcp1()) as tools:
        with pytest.raises(ToolError, match=r"(?i)tool 'sample' on server 'fastmcp1' failed: .*sampling"):
            await tools["sample"].acall_with(
                {"prompt": "hi"}, interaction=Interaction(sampling=handlers.sample)
            )
    assert handlers.samplings == []


@pytest.mark.anyio
async def test_log_messages_below_the_log_level_are_not_delivered() -> None:
    logs = Arrivals[LogMessage]()
    async with ToolCollection.from_mcp(fastmcp1(), on_log=logs, log_level="warning") as tools:
        await tools["chatter"].acall()
        with anyio.fail_after(10):
            while not any(message.level == "error" for message in logs.items):  # the last one sent
                await logs.wait_for(len(logs.items) + 1)
    assert [message.level for message in logs.items] == ["warning", "error"]


@pytest.fixture
def legacy_chain(tmp_path: Path) -> Path:
    """boss.yaml manages asker.yaml, which books a table and samples through the FastMCP 1.x server."""
    server = json.dumps({"command": mcp1_python(), "args": [str(SERVER)], "sampling": True})
    (tmp_path / "asker-script.yaml").write_text(
        "per_conversation: true\nresponses:\n"
        '  - tool_calls: [{name: book, arguments: {question: "A table for how many?"}}]\n'
        '  - tool_calls: [{name: sample, arguments: {prompt: "Name the table."}}]\n'
        '  - tool_calls: [{name: final_answer, arguments: {answer: "asked"}}]\n'
    )
    (tmp_path / "asker.yaml").write_text(
        "name: asker\ndescription: Asks through a legacy server.\ntype: tool_calling\n"
        f"model: scripted:asker-script.yaml\nmcpServers:\n  fastmcp1: {server}\n"
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
    return tmp_path / "boss.yaml"


def test_a_1x_client_at_the_top_answers_a_1x_server_at_the_bottom(legacy_chain: Path, log_dir: Path) -> None:
    """1.x client → `mcpagents serve boss.yaml` → asker (served, stdio) → FastMCP 1.x server."""
    answers = ["--form", json.dumps({"name": "Top", "guests": 2}), "--sample", "written at the top"]
    served = [MCPAGENTS, "serve", str(legacy_chain)]
    done = subprocess.run(
        [mcp1_python(), str(CLIENT), "boss", '{"task": "Go."}', *answers, "--", *served],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["protocol_version"] == "2025-11-25"
    # The questions asked at the bottom reached the client at the top...
    (asked,) = seen["elicitations"]
    assert asked["message"] == "A table for how many?" and asked["schema"]["required"] == ["name", "guests"]
    assert seen["samplings"] == [{"messages": ["Name the table."], "system_prompt": "Answer in one line."}]
    assert 'step 1: asker: step 1: calling book(question="A table for how many?")' in [
        log["data"] for log in seen["logs"]
    ]
    assert seen["result"]["is_error"] is False and seen["result"]["structured"]["answer"] == "done"
    # ...and its answers reached the server at the bottom, which says so in its log messages (kept in
    # the log file of the asker's connection to it: a tool server's log messages go no further up).
    bottom = (log_dir / "fastmcp1.log").read_text()
    assert (
        'book got {"action": "accept", "data": {"name": "Top", "guests": 2, "vegetarian": false}}' in bottom
    )
    assert 'sample got {"role": "assistant", "text": "written at the top", "model": "mcp1-client"}' in bottom
