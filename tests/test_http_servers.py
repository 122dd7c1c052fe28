"""Servers over streamable HTTP and SSE on 127.0.0.1, in both protocol eras."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mcpagents import HttpServer, MCPServerError, Progress, ToolCollection, ToolError
from tests.conftest import CALC_SERVER, TESTS, http_calc

TRANSPORTS = [
    pytest.param("--http", "streamable-http", "/mcp", "auto", "2026-07-28", id="streamable-http-modern"),
    pytest.param("--http", "streamable-http", "/mcp", "legacy", "2025-11-25", id="streamable-http-legacy"),
    pytest.param("--sse", "sse", "/sse", "legacy", "2025-11-25", id="sse"),
]


@pytest.mark.parametrize(("flag", "transport", "path", "mode", "version"), TRANSPORTS)
def test_calls_progress_and_errors_over_http(
    flag: str, transport: str, path: str, mode: str, version: str
) -> None:
    with http_calc(flag) as base:
        server = HttpServer(base + path, transport=transport, name="remote", mode=mode)  # type: ignore[arg-type]
        with ToolCollection.from_mcp(server) as tools:
            assert tools.status()[0].protocol_version == version
            assert tools["add"](a=1, b=1) == 2
            assert tools["divide"](a=9, b=4) == {"quotient": 2, "remainder": 1}
            reports: list[Progress] = []
            assert tools["slow"].call_with({"seconds": 0.1}, on_progress=reports.append) == "slept"
            assert [report.message for report in reports] == ["step 1 of 2", "step 2 of 2"]
            (content,) = tools.read_resource("note://greeting")
            assert content.text == "hello from calc"


def test_headers_carry_the_token_and_a_401_says_what_to_check() -> None:
    with http_calc("--http", "--token", "s3cret") as base:
        good = HttpServer(base + "/mcp", headers={"Authorization": "Bearer s3cret"}, name="guarded")
        with ToolCollection.from_mcp(good) as tools:
            assert tools["add"](a=2) == 4
        bad = HttpServer(base + "/mcp", headers={"Authorization": "Bearer wrong"}, name="guarded")
        with pytest.raises(MCPServerError) as caught, ToolCollection.from_mcp(bad):
            pass
    assert "server 'guarded'" in str(caught.value)
    assert "answered HTTP 401 Unauthorized (check the headers/token of this server)" in str(caught.value)


def test_an_unreachable_url_fails_fast_with_its_address() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mcp"
    with pytest.raises(MCPServerError) as caught, ToolCollection.from_mcp(HttpServer(url, name="nowhere")):
        pass
    assert str(caught.value).startswith(
        f"server 'nowhere' ({url} (streamable-http)) is unreachable: ConnectError"
    )


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_a_server_dying_mid_call_is_reported(mode: str) -> None:
    process = subprocess.Popen(
        [sys.executable, str(CALC_SERVER), "--http"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    url = f"http://127.0.0.1:{int(process.stdout.readline().split()[1])}/mcp"
    try:
        with ToolCollection.from_mcp(HttpServer(url, name="remote", mode=mode)) as tools:
            with pytest.raises(
                MCPServerError, match=r"server 'remote' lost its connection .* during the call"
            ):
                tools["slow"].call_with({"seconds": 30}, on_progress=lambda _: process.kill())
            with pytest.raises(MCPServerError, match="server 'remote'"):
                tools["add"](a=1)
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_a_restarted_server_is_reconnected_transparently(mode: str) -> None:
    """The restarted server does not know the old session (legacy: HTTP 404): the call reconnects
    and is sent again, once, because the server refused it without running it."""
    with http_calc("--http") as base:
        port = base.rsplit(":", 1)[1]
        tools = ToolCollection.from_mcp(HttpServer(base + "/mcp", name="restartable", mode=mode))
        tools.connect()
        first_pid = tools["pid"]()
    try:
        with http_calc("--http", "--port", port):
            assert tools["pid"]() != first_pid
            assert tools["add"](a=1) == 3
    finally:
        tools.close()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_calls_while_a_server_is_down_fail_clearly_and_recover(mode: str) -> None:
    with http_calc("--http") as base:
        port = base.rsplit(":", 1)[1]
        tools = ToolCollection.from_mcp(HttpServer(base + "/mcp", name="flaky", mode=mode))
        tools.connect()
        assert tools["add"](a=1) == 3
    try:
        with pytest.raises(MCPServerError, match="server 'flaky'"):
            tools["add"](a=1)
        with http_calc("--http", "--port", port):
            assert tools["add"](a=2) == 4
    finally:
        tools.close()


@contextmanager
def http_rogue(*flags: str) -> Iterator[str]:
    """`tests/servers/rogue_server.py`, which breaks the protocol on request, over streamable HTTP;
    yields its URL."""
    server = subprocess.Popen(
        [sys.executable, str(TESTS / "servers" / "rogue_server.py"), "--http", *flags],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield f"http://127.0.0.1:{int(server.stdout.readline().split()[1])}/mcp"
    finally:
        server.kill()
        server.wait()


def test_error_answers_and_invalid_results_fail_the_call_and_keep_the_connection() -> None:
    with (
        http_rogue("--fail", "resources/list") as url,
        ToolCollection.from_mcp(HttpServer(url, name="rogue")) as tools,
    ):
        for code in (-32603, -32000):
            with pytest.raises(ToolError) as caught:
                tools["error"](code=code)
            assert str(caught.value) == (
                f"tool 'error' on server 'rogue' failed with JSON-RPC error {code}: disk on fire"
                ' (data: {"disk": "sda1"})'
            )
        with pytest.raises(ToolError) as caught:
            tools["invalid"]()
        assert str(caught.value) == (
            "tool 'invalid' on server 'rogue' returned an invalid result:"
            ' content: Input should be a valid list (got "not a list")'
        )
        with pytest.raises(MCPServerError) as listing:
            tools.list_resources()
        assert str(listing.value) == (
            "server 'rogue' answered resources/list with JSON-RPC error -32603: resources/list is on fire"
        )
        assert tools.status()[0].connected, "no error above dropped the connection"
        assert int(tools["pid"]()) > 0


def test_a_response_to_no_request_over_http_fails_the_call_at_once_and_reconnects(log_dir: Path) -> None:
    with http_rogue() as url, ToolCollection.from_mcp(HttpServer(url, name="rogue", timeout=10)) as tools:
        server_pid = tools["pid"]()
        started = time.monotonic()
        with pytest.raises(MCPServerError) as caught:
            tools["wrong_id"]()
        assert time.monotonic() - started < 2, "the call failed as soon as the server broke the protocol"
        assert str(caught.value) == (
            "server 'rogue' broke the MCP protocol during the call to tool 'wrong_id': it answered"
            " request id 987654321, which no request was waiting for; the next request restarts it"
        )
        assert tools["pid"]() == server_pid
    assert (
        "[mcpagents] connection given up: the server broke the MCP protocol: it answered request id"
        in (log_dir / "rogue.log").read_text()
    )
