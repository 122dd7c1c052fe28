"""Calling tools of stdio servers: values, argument checks, progress, timeouts, cancellation and faults."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcpagents import (
    MCPServerError,
    Progress,
    StdioServer,
    ToolArgumentError,
    ToolCollection,
    ToolError,
    ToolTimeoutError,
)
from tests.conftest import TESTS, calc

ROGUE_SERVER = TESTS / "servers" / "rogue_server.py"


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolCollection]:
    logs = tmp_path_factory.mktemp("logs")
    with ToolCollection.from_mcp(calc(name="calc"), log_dir=logs) as collection:
        yield collection


def rogue(*flags: str, **options: Any) -> StdioServer:
    """`tests/servers/rogue_server.py`, which breaks the protocol on request, over stdio."""
    return StdioServer(sys.executable, [str(ROGUE_SERVER), *flags], name="rogue", **options)


@pytest.fixture(scope="module")
def rogue_tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolCollection]:
    logs = tmp_path_factory.mktemp("logs")
    with ToolCollection.from_mcp(rogue(timeout=10), log_dir=logs) as collection:
        yield collection


def test_results_come_back_as_python_values(tools: ToolCollection) -> None:
    assert tools["add"](a=40) == 42
    assert tools["divide"](a=7, b=2) == {"quotient": 3, "remainder": 1}
    assert tools["convert"](value=100, unit="c") == "212.0"


def test_optional_parameters_stay_optional_and_unions_keep_their_types(tools: ToolCollection) -> None:
    schema = tools["convert"].input_schema
    assert schema["required"] == ["value", "unit"]
    assert {option.get("type") for option in schema["properties"]["note"]["anyOf"]} == {"string", "null"}
    assert tools["convert"].signature == '(value: number, unit: "c" | "f", note?: string | null)'
    assert tools["convert"](value=32, unit="f", note=None) == "0.0"
    assert tools["convert"](value=32, unit="f", note=" C") == "0.0 C"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"a": "x"}, "add(): argument 'a' must be integer, got string \"x\""),
        ({}, "add(): missing required argument 'a' (integer)"),
        ({"a": 1, "c": 2}, "add(): unexpected argument 'c' (its arguments are: a, b)"),
        ({"a": object()}, "add(): argument 'a' is a object, which is not JSON data"),
        ({"a": True}, "add(): argument 'a' must be integer, got boolean true"),
        ({"a": 1.5}, "add(): argument 'a' must be integer, got number 1.5"),
        ({"a": 1, "b": None}, "add(): argument 'b' must be integer, got null"),
        ({"a": float("nan")}, "add(): argument 'a' is nan, which JSON cannot carry"),
        ({"a": float("-inf")}, "add(): argument 'a' is -inf, which JSON cannot carry"),
    ],
)
def test_bad_arguments_are_refused_before_sending(
    tools: ToolCollection, arguments: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ToolArgumentError) as caught:
        tools["add"](**arguments)
    assert str(caught.value).startswith(expected)
    assert (caught.value.tool, caught.value.server) == ("add", "calc")


def test_text_that_cannot_be_utf8_is_refused_and_the_connection_kept(tools: ToolCollection) -> None:
    for note in ("\udcff.txt", ["ok", {"\ud800": 1}]):
        with pytest.raises(ToolArgumentError) as caught:
            tools["convert"](value=1, unit="c", note=note)
        assert "convert(): argument 'note' holds a lone surrogate" in str(caught.value)
        assert "which JSON text cannot carry" in str(caught.value)
    assert tools["convert"](value=32, unit="f", note=" C") == "0.0 C", "the same connection goes on"


def test_enum_errors_list_the_allowed_values(tools: ToolCollection) -> None:
    with pytest.raises(
        ToolArgumentError, match=r"argument 'unit' must be one of \"c\", \"f\", got string \"k\""
    ):
        tools["convert"](value=1, unit="k")


def test_a_tool_error_carries_the_servers_message(tools: ToolCollection) -> None:
    with pytest.raises(ToolError) as caught:
        tools["divide"](a=1, b=0)
    assert str(caught.value) == "tool 'divide' on server 'calc' failed: cannot divide by zero"
    assert tools["add"](a=1, b=1) == 2, "the server keeps serving after a tool error"


def test_progress_reaches_a_sync_callback(tools: ToolCollection) -> None:
    reports: list[Progress] = []
    assert tools["slow"].call_with({"seconds": 0.2}, on_progress=reports.append) == "slept"
    assert [report.progress for report in reports] == [1, 2, 3, 4]
    assert reports[-1] == Progress("slow", "calc", 4, 4, "step 4 of 4")


def test_progress_restarts_the_silence_timeout(tools: ToolCollection) -> None:
    assert tools["slow"].call_with({"seconds": 0.6}, timeout=0.3) == "slept"


def test_timeout_names_server_and_tool_and_cancels_the_request(tools: ToolCollection) -> None:
    before = tools["cancelled"](at_least=0)
    with pytest.raises(ToolTimeoutError) as caught:
        tools["hang"].call_with({}, timeout=0.3)
    assert "tool 'hang' on server 'calc' sent no answer and no progress for 0.3 s" in str(caught.value)
    assert tools["cancelled"](at_least=before + 1) == before + 1, "the server saw the cancellation"


def test_a_servers_own_timeout_overrides_the_collections() -> None:
    with (
        ToolCollection.from_mcp(calc(name="impatient", timeout=0.2), timeout=30) as tools,
        pytest.raises(
            ToolTimeoutError, match=r"server 'impatient' sent no answer and no progress for 0\.2 s"
        ),
    ):
        tools["hang"]()


@pytest.mark.anyio
async def test_cancelling_the_caller_cancels_the_mcp_request() -> None:
    async with ToolCollection.from_mcp(calc()) as tools:
        with anyio.CancelScope() as scope:

            def cancel_once_started(report: Progress) -> None:
                assert report.message == "started"
                scope.cancel()

            await tools["hang"].acall_with({}, on_progress=cancel_once_started)
        assert scope.cancelled_caught
        assert await tools["cancelled"].acall() == 1


@pytest.mark.anyio
async def test_two_hundred_concurrent_calls_share_one_connection() -> None:
    results: dict[int, int] = {}
    async with ToolCollection.from_mcp(calc()) as tools:
        server_pid = await tools["pid"].acall()

        async def add(number: int) -> None:
            results[number] = await tools["add"].acall(a=number, b=number)

        async with anyio.create_task_group() as group:
            for number in range(200):
                group.start_soon(add, number)
        assert await tools["pid"].acall() == server_pid
    assert results == {number: 2 * number for number in range(200)}


def test_a_server_that_dies_mid_call_is_reported_and_restarted() -> None:
    with ToolCollection.from_mcp(calc(name="fragile")) as tools:
        first_pid = tools["pid"]()
        started = time.monotonic()
        with pytest.raises(MCPServerError) as caught:
            tools["die"](code=3)
        assert time.monotonic() - started < 5
        error = caught.value
        assert str(error).startswith("server 'fragile' exited with code 3 during the call to tool 'die'")
        assert error.exit_code == 3
        assert "dying on purpose with code 3" in error.stderr_tail
        assert error.log_path is not None and "dying on purpose" in error.log_path.read_text()
        assert str(error.log_path) in str(error)
        assert tools["pid"]() != first_pid, "the next call started a new server process"
        assert tools["add"](a=1) == 3


def test_a_server_killed_from_outside_mid_call_is_reported() -> None:
    with ToolCollection.from_mcp(calc(name="victim")) as tools:
        victim = tools["pid"]()
        with pytest.raises(MCPServerError, match="server 'victim' was killed by SIGKILL during the call"):
            tools["slow"].call_with({"seconds": 30}, on_progress=lambda _: os.kill(victim, signal.SIGKILL))
        assert tools["add"](a=2, b=2) == 4


def test_a_missing_command_is_named() -> None:
    server = StdioServer("no-such-mcp-server-command", name="ghost")
    with pytest.raises(MCPServerError) as caught, ToolCollection.from_mcp(server):
        pass
    assert str(caught.value).startswith(
        "server 'ghost' could not start: command 'no-such-mcp-server-command' was not found"
    )


def test_a_server_crashing_at_start_reports_exit_code_and_stderr() -> None:
    script = "import sys; print('missing API key FOO_KEY', file=sys.stderr); sys.exit(2)"
    server = StdioServer(sys.executable, ["-c", script], name="crashy")
    with pytest.raises(MCPServerError) as caught, ToolCollection.from_mcp(server):
        pass
    assert "server 'crashy'" in str(caught.value)
    assert "exited with code 2 before finishing the MCP handshake" in str(caught.value)
    assert "missing API key FOO_KEY" in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_server_that_never_answers_times_out_with_its_name() -> None:
    server = StdioServer(sys.executable, ["-c", "import sys; sys.stdin.read()"], name="mute")
    with pytest.raises(MCPServerError) as caught, ToolCollection.from_mcp(server, connect_timeout=1):
        pass
    assert str(caught.value).startswith("server 'mute'")
    assert "did not finish the MCP handshake within 1 s" in str(caught.value)


def test_lines_that_are_not_json_rpc_are_skipped_and_logged(log_dir: Path) -> None:
    with ToolCollection.from_mcp(calc("--garbage", "3", name="noisy")) as tools:
        assert tools["add"](a=1) == 3
    log = (log_dir / "noisy.log").read_text()
    assert log.count("[mcpagents] ignored a line on stdout that is not JSON-RPC: banner line") == 3


def test_one_broken_server_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    servers = [calc(name="good"), StdioServer("no-such-mcp-server-command", name="broken")]
    with ToolCollection.from_mcp(servers) as tools:
        assert tools["add"](a=1) == 3
        assert list(tools.failures) == ["broken"]
        assert [(status.name, status.connected) for status in tools.status()] == [
            ("good", True),
            ("broken", False),
        ]
    assert "continuing without server 'broken'" in caplog.text


def test_fail_fast_raises_for_one_broken_server() -> None:
    servers = [calc(name="good"), StdioServer("no-such-mcp-server-command", name="broken")]
    with pytest.raises(MCPServerError, match="server 'broken' could not start"):
        ToolCollection.from_mcp(servers, fail_fast=True).connect()


def test_children_get_an_explicit_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPAGENTS_TEST_SECRET", "host secret")
    with ToolCollection.from_mcp(calc(env={"GIVEN": "yes"})) as tools:
        assert tools["getenv"](name="MCPAGENTS_TEST_SECRET") is None
        assert tools["getenv"](name="GIVEN") == "yes"
        assert tools["getenv"](name="PATH") == os.environ["PATH"]


@pytest.mark.parametrize(("mode", "expected"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
def test_protocol_era_is_negotiated_per_server(mode: str, expected: str) -> None:
    with ToolCollection.from_mcp(calc(mode=mode)) as tools:
        assert tools.status()[0].protocol_version == expected
        assert tools["add"](a=1) == 3


# -- servers that break the protocol -------------------------------------------------------------


@pytest.mark.parametrize("code", [-32603, -32000])
def test_a_json_rpc_error_answer_fails_the_call_and_keeps_the_server(
    rogue_tools: ToolCollection, code: int
) -> None:
    """-32000 too: it is the SDK's "connection closed", but also the first code left to servers."""
    server_pid = rogue_tools["pid"]()
    with pytest.raises(ToolError) as caught:
        rogue_tools["error"](code=code)
    assert str(caught.value) == (
        f"tool 'error' on server 'rogue' failed with JSON-RPC error {code}: disk on fire"
        ' (data: {"disk": "sda1"})'
    )
    assert (caught.value.tool, caught.value.server) == ("error", "rogue")
    assert rogue_tools["pid"]() == server_pid, "the same server process answers the next call"


def test_json_rpc_error_answers_to_other_requests_name_the_request() -> None:
    failing = ["resources/list", "resources/read", "prompts/list", "prompts/get"]
    flags = [part for method in failing for part in ("--fail", method)]
    with ToolCollection.from_mcp(rogue(*flags)) as tools:
        server_pid = tools["pid"]()
        requests: list[tuple[str, Callable[[], object]]] = [
            ("resources/list", tools.list_resources),
            ("resources/read note://x", lambda: tools.read_resource("note://x")),
            ("prompts/list", tools.list_prompts),
            ("prompts/get greeting", lambda: tools.get_prompt("greeting")),
        ]
        for request, send in requests:
            with pytest.raises(MCPServerError) as caught:
                send()
            method = request.split()[0]
            expected = f"server 'rogue' answered {request} with JSON-RPC error -32603: {method} is on fire"
            assert str(caught.value).startswith(expected + "\n")
        assert tools["pid"]() == server_pid


def test_a_json_rpc_error_answer_to_the_tool_listing_is_reported() -> None:
    with (
        pytest.raises(MCPServerError) as caught,
        ToolCollection.from_mcp(rogue("--fail", "tools/list"), fail_fast=True),
    ):
        pass
    assert str(caught.value).startswith(
        "server 'rogue' answered tools/list with JSON-RPC error -32603: tools/list is on fire\n"
    )


def test_an_invalid_result_fails_the_call_with_what_is_invalid(rogue_tools: ToolCollection) -> None:
    server_pid = rogue_tools["pid"]()
    with pytest.raises(ToolError) as caught:
        rogue_tools["invalid"]()
    assert str(caught.value) == (
        "tool 'invalid' on server 'rogue' returned an invalid result:"
        ' content: Input should be a valid list (got "not a list")'
    )
    assert rogue_tools["pid"]() == server_pid


@pytest.mark.parametrize(
    ("tool", "arguments", "violation"),
    [
        ("wrong_id", {}, "it answered request id 987654321, which no request was waiting for"),
        (
            "malformed",
            {},
            "it sent a response that is not valid JSON-RPC"
            " (result: Input should be a valid dictionary (got 42))",
        ),
        (
            "huge",
            {"size": 50_000_000},
            "it sent a message (a line on stdout) longer than 32 MiB, the limit set by"
            " StdioServer(max_message_bytes=...)",
        ),
    ],
)
def test_a_server_breaking_the_protocol_fails_the_call_at_once_and_is_restarted(
    tool: str, arguments: dict[str, Any], violation: str
) -> None:
    with ToolCollection.from_mcp(rogue(timeout=10)) as tools:
        server_pid = tools["pid"]()
        started = time.monotonic()
        with pytest.raises(MCPServerError) as caught:
            tools[tool](**arguments)
        assert time.monotonic() - started < 2, "the call failed as soon as the server broke the protocol"
        assert str(caught.value).startswith(
            f"server 'rogue' broke the MCP protocol during the call to tool {tool!r}: {violation};"
            " the next request restarts it\n"
        )
        log_path = caught.value.log_path
        assert (
            log_path is not None
            and f"[mcpagents] connection given up: the server broke the MCP protocol: {violation}\n"
            in log_path.read_text()
        )
        assert tools["pid"]() != server_pid


def test_an_answer_crossing_a_cancellation_is_not_held_against_the_server(
    rogue_tools: ToolCollection,
) -> None:
    server_pid = rogue_tools["pid"]()
    with pytest.raises(ToolTimeoutError):
        rogue_tools["late"].call_with({}, timeout=0.3)
    assert rogue_tools["pid"]() == server_pid, "the answer that came after the cancellation was dropped"


def test_a_call_answered_by_an_error_without_id_says_so_when_given_up(rogue_tools: ToolCollection) -> None:
    """JSON-RPC's error for a request the server could not read has no id: the call it may have been
    meant for is not failed on a guess, but its timeout says what came instead."""
    server_pid = rogue_tools["pid"]()
    with pytest.raises(ToolTimeoutError) as caught:
        rogue_tools["null_id"].call_with({}, timeout=0.3)
    assert str(caught.value).startswith(
        "tool 'null_id' on server 'rogue' sent no answer and no progress for 0.3 s (meanwhile it sent an"
        " error about no request, perhaps meant for this one: JSON-RPC error -32700: Parse error);"
    )
    assert rogue_tools["pid"]() == server_pid


def test_the_message_limit_is_set_per_server() -> None:
    with ToolCollection.from_mcp(rogue(max_message_bytes=2**20)) as tools:
        assert set(tools["huge"](size=2**20)) == {"x"}, "a message of exactly the limit gets through"
        with pytest.raises(MCPServerError, match=r"longer than 1 MiB, the limit set by StdioServer"):
            tools["huge"](size=2**20 + 1)
    with pytest.raises(ValueError, match="max_message_bytes must be a positive number of bytes, not 0"):
        rogue(max_message_bytes=0)


@pytest.mark.parametrize(
    ("misbehaviour", "expected"),
    [
        (
            "wrong_id",
            "broke the MCP protocol before finishing the handshake: it answered request id 987654321,"
            " which no request was waiting for",
        ),
        (
            "huge",
            "broke the MCP protocol before finishing the handshake: it sent a message (a line on stdout)",
        ),
        (
            "malformed",
            "broke the MCP protocol before finishing the handshake: it sent a response that is not",
        ),
        ("error", 'failed the MCP handshake: JSON-RPC error -32603: disk on fire (data: {"disk": "sda1"})'),
        (
            "invalid",
            "sent an invalid answer during the MCP handshake: capabilities: Field required;"
            " protocolVersion: Field required; serverInfo: Field required\n",
        ),
    ],
)
def test_a_server_breaking_the_handshake_fails_fast_with_what_it_did(
    misbehaviour: str, expected: str
) -> None:
    server = rogue("--handshake", misbehaviour)
    started = time.monotonic()
    with pytest.raises(MCPServerError) as caught, ToolCollection.from_mcp(server, connect_timeout=10):
        pass
    assert time.monotonic() - started < 3
    assert str(caught.value).startswith(f"server 'rogue' ({server.describe()}) {expected}")


def test_a_flood_of_log_notifications_does_not_hold_back_the_answer(rogue_tools: ToolCollection) -> None:
    server_pid = rogue_tools["pid"]()
    assert rogue_tools["flood"].call_with({"count": 20_000}, timeout=10) == "after the flood"
    assert rogue_tools["pid"]() == server_pid
