"""Agents served as MCP servers, driven by the MCP SDK's own client over stdio and HTTP."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from mcpagents.agents.chain import CHAIN_META_KEY

SERVED_AGENT = Path(__file__).parent / "servers" / "served_agent.py"
ERAS = ["legacy", "2026-07-28"]


@contextmanager
def served_over_http(*flags: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """tests/servers/served_agent.py over HTTP; yields its /mcp URL and the process."""
    process = subprocess.Popen(
        [sys.executable, str(SERVED_AGENT), "--transport", "http", *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "serving" in line, f"the served agent did not start: {line!r}{process.stderr.read()}"
        yield line.split(" at ")[1].strip(), process
    finally:
        process.kill()
        process.wait()


def stdio_agent(*flags: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=[str(SERVED_AGENT), *flags])


@asynccontextmanager
async def http_client(
    url: str, token: str | None = None, mode: Any = "auto", terminate_on_close: bool = True
) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(url, http_client=http, terminate_on_close=terminate_on_close)
        async with Client(transport, mode=mode) as client:
            yield client


class Progress:
    def __init__(self) -> None:
        self.reports: list[tuple[float, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.reports.append((progress, message))

    def strictly_increasing(self) -> bool:
        values = [value for value, _ in self.reports]
        return all(a < b for a, b in itertools.pairwise(values))


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_stdio_agent_is_one_tool_with_progress(mode: Any) -> None:
    async with Client(stdio_agent(), mode=mode) as client:
        (tool,) = (await client.list_tools()).tools
        assert tool.name == "helper"
        assert set(tool.input_schema["properties"]) == {"task", "context", "conversation_id"}
        assert "can use tools: add, divide" in (tool.description or "")
        progress = Progress()
        result = await client.call_tool("helper", {"task": "add 20 and 22"}, progress_callback=progress)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert result.structured_content["answer"] == "42"
    assert (result.structured_content["state"], result.structured_content["steps"]) == ("success", 2)
    assert progress.strictly_increasing() and len(progress.reports) == 3
    assert [message for _, message in progress.reports] == [
        "step 1: calling add(a=20, b=22)",
        "step 1 done",
        "step 2 done",
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_http_agent_with_token_and_progress(mode: Any) -> None:
    with served_over_http("--token", "s3cret") as (url, _):
        async with http_client(url, "s3cret", mode) as client:
            progress = Progress()
            result = await client.call_tool("helper", {"task": "slow 0.3"}, progress_callback=progress)
        assert result.structured_content is not None and result.structured_content["answer"] == "slept"
        messages = [message for _, message in progress.reports]
        assert messages[0] == "step 1: calling slow(seconds=0.3)"
        relayed = [message for message in messages if message and message.startswith("step 1: slow: step ")]
        assert len(relayed) >= 4, "the tool's own progress is relayed"
        assert progress.strictly_increasing()


@pytest.mark.anyio
async def test_http_refuses_missing_or_wrong_token_and_foreign_origins() -> None:
    with served_over_http("--token", "s3cret") as (url, _):
        base = url.removesuffix("/mcp")
        initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        headers = {"Accept": "application/json, text/event-stream"}
        async with httpx2.AsyncClient() as http:
            missing = await http.post(url, json=initialize, headers=headers)
            wrong = await http.post(url, json=initialize, headers={**headers, "Authorization": "Bearer nope"})
            sse = await http.get(f"{base}/sse")
            health = await http.get(f"{base}/health")
            authorised = {**headers, "Authorization": "Bearer s3cret"}
            foreign = await http.post(
                url, json=initialize, headers={**authorised, "Origin": "https://evil.example"}
            )
            rebound = await http.post(url, json=initialize, headers={**authorised, "Host": "evil.example"})
            huge = await http.post(
                url,
                content=b"[" + b" " * 5_000_000 + b"]",
                headers={**authorised, "Content-Type": "application/json"},
            )
        assert (missing.status_code, wrong.status_code, sse.status_code) == (401, 401, 401)
        assert missing.headers["WWW-Authenticate"] == "Bearer"
        assert health.status_code == 200 and health.json()["agents"] == {"helper": {"conversations": 0}}
        assert foreign.status_code == 403
        assert rebound.status_code == 421
        assert huge.status_code == 413


@pytest.mark.anyio
async def test_sse_transport_for_old_clients() -> None:
    with served_over_http() as (url, _):
        sse_url = url.removesuffix("/mcp") + "/sse"
        async with Client(sse_client(sse_url), mode="legacy") as client:
            result = await client.call_tool("helper", {"task": "add 1 and 2"})
    assert result.structured_content is not None and result.structured_content["answer"] == "3"


@pytest.mark.anyio
async def test_bad_arguments_and_failed_runs_are_tool_errors_and_the_server_keeps_serving() -> None:
    async with Client(stdio_agent()) as client:
        missing = await client.call_tool("helper", {"context": "no task"})
        wrong_type = await client.call_tool("helper", {"task": 42})
        unknown = await client.call_tool("helper", {"task": "x", "colour": "red"})
        failed = await client.call_tool("helper", {"task": "add 1"})  # the script cannot unpack one number
        still = await client.call_tool("helper", {"task": "add 2 and 3"})
    assert missing.is_error and "'task'" in missing.content[0].text and "required" in missing.content[0].text
    assert (
        wrong_type.is_error
        and "'task'" in wrong_type.content[0].text
        and "string" in wrong_type.content[0].text
    )
    assert unknown.is_error and "'colour'" in unknown.content[0].text
    assert failed.is_error and "agent 'helper' failed: ValueError" in failed.content[0].text
    assert still.structured_content is not None and still.structured_content["answer"] == "5"


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_cancelling_a_call_stops_the_run_and_its_tool_calls(transport: str) -> None:
    @asynccontextmanager
    async def connect() -> AsyncIterator[Client]:
        if transport == "stdio":
            async with Client(stdio_agent()) as client:
                yield client
        else:
            with served_over_http() as (url, _):
                async with http_client(url) as client:
                    yield client

    async with connect() as client:
        assert await cancellations_after_cancelling_a_hang(client) == "1", "cancelled downstream"


async def cancellations_after_cancelling_a_hang(client: Client) -> Any:
    """Call `hang`, cancel the call once the tool has started, then ask how many `hang` calls the calc
    server saw cancelled."""
    started = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if message == "step 1: hang: started":
            started.set()

    async with anyio.create_task_group() as group:
        group.start_soon(lambda: client.call_tool("helper", {"task": "hang"}, progress_callback=on_progress))
        await started.wait()
        group.cancel_scope.cancel()
    with anyio.fail_after(5):
        counted = await client.call_tool("helper", {"task": "cancellations"})
    assert counted.structured_content is not None
    return counted.structured_content["answer"]


@pytest.mark.anyio
async def test_a_2025_client_without_a_session_gets_progress_and_cancels_by_dropping_its_request() -> None:
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "helper", "arguments": {"task": "hang"}, "_meta": {"progressToken": "p"}},
    }
    with served_over_http() as (url, _):
        # No initialize and no session: any worker of a stateless server can take this request.
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            http.stream("POST", url, json=call, headers=headers) as response,
        ):
            assert response.status_code == 200 and "mcp-session-id" not in response.headers
            async for line in response.aiter_lines():
                if '"step 1: hang: started"' in line:
                    assert '"progressToken":"p"' in line
                    break
        async with http_client(url, mode="legacy") as client:
            with anyio.fail_after(5):
                counted = await client.call_tool("helper", {"task": "cancellations"})
    assert counted.structured_content is not None
    assert counted.structured_content["answer"] == "1", "dropping the request cancelled the run downstream"


@pytest.mark.anyio
async def test_with_sessions_a_2025_clients_cancel_notification_stops_the_run() -> None:
    with served_over_http("--stateful") as (url, _):
        async with http_client(url, mode="legacy") as client:  # it cancels with notifications/cancelled
            assert await cancellations_after_cancelling_a_hang(client) == "1"


@pytest.mark.anyio
async def test_conversation_id_continues_a_conversation() -> None:
    async with Client(stdio_agent()) as client:
        first = await client.call_tool("helper", {"task": "remember me", "conversation_id": "c1"})
        other = await client.call_tool("helper", {"task": "someone else", "conversation_id": "c2"})
        again = await client.call_tool("helper", {"task": "recall", "conversation_id": "c1"})
        fresh = await client.call_tool("helper", {"task": "recall"})
    answers = [
        result.structured_content and result.structured_content["answer"]
        for result in (first, other, again, fresh)
    ]
    assert answers == ["remember me", "someone else", "remember me", "recall"]


@pytest.mark.anyio
async def test_a_conversation_id_that_names_none_is_a_fresh_run_for_every_caller() -> None:
    """Clients that send every field (strict schemas) pass "" or null: such calls share nothing."""
    async with Client(stdio_agent()) as client:
        listed = await client.list_tools()
        schema = listed.tools[0].input_schema["properties"]
        answers = []
        for absent in ["", None, "   ", "\n", "null", "None", "undefined"]:
            await client.call_tool("helper", {"task": "remember me", "conversation_id": absent})
            again = await client.call_tool("helper", {"task": "recall", "conversation_id": absent})
            answers.append(again.structured_content and again.structured_content["answer"])
        unset = await client.call_tool("helper", {"task": "hello", "context": None, "conversation_id": None})
        longest = "c" * 200
        await client.call_tool("helper", {"task": "remember me", "conversation_id": longest})
        kept = await client.call_tool("helper", {"task": "recall", "conversation_id": longest})
        too_long = await client.call_tool("helper", {"task": "recall", "conversation_id": longest + "c"})
    assert answers == ["recall"] * 7
    assert unset.structured_content is not None and unset.structured_content["answer"] == "hello"
    assert kept.structured_content is not None and kept.structured_content["answer"] == "remember me"
    assert too_long.is_error and too_long.content[0].text == (
        "helper(): argument 'conversation_id' has 201 characters; a conversation id has at most 200"
    )
    assert schema["conversation_id"]["type"] == schema["context"]["type"] == ["string", "null"]
    assert "Leave it out, empty or null for a fresh run" in schema["conversation_id"]["description"]


@pytest.mark.anyio
async def test_chain_refuses_cycles_and_depth_and_carries_the_trace() -> None:
    async with Client(stdio_agent()) as client:
        cycle = await client.call_tool(
            "helper",
            {"task": "x"},
            meta={CHAIN_META_KEY: {"trace_id": "t1", "agents": ["boss", "helper", "aide"]}},
        )
        deep = await client.call_tool(
            "helper",
            {"task": "x"},
            meta={CHAIN_META_KEY: {"trace_id": "t2", "agents": [f"a{i}" for i in range(8)]}},
        )
        late = await client.call_tool(
            "helper", {"task": "x"}, meta={CHAIN_META_KEY: {"trace_id": "t3", "agents": [], "deadline": 1.0}}
        )
        traced = await client.call_tool(
            "helper", {"task": "x"}, meta={CHAIN_META_KEY: {"trace_id": "t4", "agents": ["boss"]}}
        )
    assert cycle.is_error and "helper → aide → helper" in cycle.content[0].text
    assert deep.is_error and "the most is 8" in deep.content[0].text
    assert late.is_error and "deadline passed" in late.content[0].text
    assert traced.structured_content is not None and traced.structured_content["trace_id"] == "t4"


@pytest.mark.anyio
async def test_manager_calls_a_child_agent_served_over_stdio_and_relays_its_progress() -> None:
    async with Client(stdio_agent("--name", "boss", "--child", "adder")) as client:
        progress = Progress()
        result = await client.call_tool("boss", {"task": "ask add 20 and 22"}, progress_callback=progress)
    assert result.structured_content is not None and result.structured_content["answer"] == "42"
    messages = [message for _, message in progress.reports]
    assert messages[0] == 'step 1: calling adder(task="add 20 and 22")'
    assert "step 1: adder: step 1: calling add(a=20, b=22)" in messages
    assert progress.strictly_increasing()


@pytest.mark.anyio
async def test_a_cycle_between_served_agents_is_refused() -> None:
    # boss (stdio) manages aide (stdio), which manages another boss: that call is refused.
    async with Client(stdio_agent("--name", "boss", "--child", "aide,boss")) as client:
        progress = Progress()
        result = await client.call_tool("boss", {"task": "ask ask hello"}, progress_callback=progress)
    refusal = "refused: agent 'boss' is already in this call chain (boss → aide → boss); a cycle"
    assert result.structured_content is not None and refusal in result.structured_content["answer"]
    assert any(refusal in (message or "") for _, message in progress.reports), "aide's failed step is relayed"


@pytest.mark.anyio
async def test_fifty_concurrent_http_clients_each_get_their_answer() -> None:
    with served_over_http() as (url, _):
        answers: dict[int, Any] = {}

        async def one(number: int) -> None:
            async with http_client(url) as client:
                result = await client.call_tool("helper", {"task": f"add {number} and 1000"})
                answers[number] = result.structured_content and result.structured_content["answer"]

        with anyio.fail_after(120):
            async with anyio.create_task_group() as group:
                for number in range(50):
                    group.start_soon(one, number)
    assert answers == {number: str(number + 1000) for number in range(50)}


@pytest.mark.parametrize("mode", ERAS)
def test_sigterm_lets_a_run_in_flight_finish_then_exits(mode: Any) -> None:
    with served_over_http("--grace", "20") as (url, process):
        result = anyio.run(call_and_terminate, url, mode, process, "slow 1")
        assert result.structured_content is not None and result.structured_content["answer"] == "slept"
        assert process.wait(timeout=10) == -signal.SIGTERM


def test_sigterm_cancels_runs_still_going_after_the_grace_period() -> None:
    with served_over_http("--grace", "1") as (url, process):
        with pytest.raises(ExceptionGroup) as raised:
            anyio.run(call_and_terminate, url, "2026-07-28", process, "hang")
        assert raised.group_contains(MCPError, match="SSE stream ended without a response", depth=2)
        assert process.wait(timeout=10) == -signal.SIGTERM


async def call_and_terminate(url: str, mode: Any, process: subprocess.Popen[str], task: str) -> Any:
    """Call the agent, send SIGTERM to the server at its first progress report, return the result."""
    # The server is shutting down when the client closes: it has no session to end then.
    async with http_client(url, mode=mode, terminate_on_close=False) as client:
        await client.list_tools()  # the output schema, fetched before the server stops listening

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            if progress == 1:
                process.send_signal(signal.SIGTERM)

        return await client.call_tool("helper", {"task": task}, progress_callback=on_progress)


@pytest.mark.anyio
async def test_a_run_stops_at_its_chain_deadline_and_cancels_its_tool_calls() -> None:
    async with Client(stdio_agent()) as client:
        await client.list_tools()
        started = time.monotonic()
        deadline = {CHAIN_META_KEY: {"trace_id": "t", "agents": [], "deadline": time.time() + 1}}
        stopped = await client.call_tool("helper", {"task": "hang"}, meta=deadline)
        took = time.monotonic() - started
        counted = await client.call_tool("helper", {"task": "cancellations"})
    assert stopped.is_error and "deadline passed" in stopped.content[0].text
    assert took < 5
    assert counted.structured_content is not None and counted.structured_content["answer"] == "1"
