"""Calling tools of stdio servers: values, argument checks, progress, timeouts, cancellation and faults."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
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
from tests.conftest import calc


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolCollection]:
    logs = tmp_path_factory.mktemp("logs")
    with ToolCollection.from_mcp(calc(name="calc"), log_dir=logs) as collection:
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
    ],
)
def test_bad_arguments_are_refused_before_sending(
    tools: ToolCollection, arguments: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ToolArgumentError) as caught:
        tools["add"](**arguments)
    assert str(caught.value).startswith(expected)
    assert (caught.value.tool, caught.value.server) == ("add", "calc")


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
