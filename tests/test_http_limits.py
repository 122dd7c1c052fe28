"""The HTTP servers' connection limits (`mcpagents serve` and the bundled servers' `--http`), measured
with raw sockets that send a request slowly or not at all (slowloris), against real servers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import CALC_SERVER

MCPAGENTS = str(Path(sys.executable).with_name("mcpagents"))
READ_TIMEOUT = 1.0
SLACK = 4.0
"""How late past its deadline a connection may be closed, on a machine busy with other tests."""
HANG_GUARD = 60.0
"""Seconds after which a test that waits on the server gives up. Only a guard against hanging: the
timings under test are asserted on their own. Generous, as a served agent with workers may start a
second worker's MCP server during the test, which takes seconds while the whole suite runs."""
TRICKLE = 0.25
"""Seconds between the bytes a slow client sends."""


@dataclass
class Server:
    mcp_url: str
    process: subprocess.Popen[str]
    tool: str
    arguments: dict[str, Any]
    answer: Callable[[Any], Any]

    @property
    def port(self) -> int:
        return int(re.findall(r":(\d+)/", self.mcp_url)[0])

    async def call(self) -> Any:
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            Client(streamable_http_client(self.mcp_url, http_client=http)) as client,
        ):
            result = await client.call_tool(self.tool, self.arguments)
        return self.answer(result.structured_content)

    def open_files(self) -> int:
        """The file descriptors the server's processes hold (itself, its workers and their children)."""
        pids, count = [self.process.pid], 0
        while pids:
            pid = pids.pop()
            count += len(os.listdir(f"/proc/{pid}/fd"))
            for task in os.listdir(f"/proc/{pid}/task"):
                pids += [
                    int(child) for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                ]
        return count


def write_agent(folder: Path, delay: float) -> Path:
    """adder.yaml: adds 20 and 22 with the calc server, each model call taking `delay` seconds."""
    calc = f"{{command: {json.dumps(sys.executable)}, args: [{json.dumps(str(CALC_SERVER))}]}}"
    (folder / "script.yaml").write_text(
        f"per_conversation: true\ndelay: {delay}\nresponses:\n"
        "  - tool_calls: [{name: add, arguments: {a: 20, b: 22}}]\n"
        '  - tool_calls: [{name: final_answer, arguments: {answer: "42"}}]\n'
    )
    spec = folder / "adder.yaml"
    spec.write_text(
        "name: adder\ndescription: Adds 20 and 22.\ntype: tool_calling\nmodel: scripted:script.yaml\n"
        f"mcpServers:\n  calc: {calc}\ninclude: [add]\n"
    )
    return spec


@contextmanager
def started(command: list[str], url_pattern: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = re.search(url_pattern, line)
        assert found, line + process.stderr.read()
        yield found[1], process
    finally:
        process.kill()
        process.wait()


@contextmanager
def served_agent(folder: Path, *flags: str, delay: float = 0) -> Iterator[Server]:
    """`mcpagents serve adder.yaml --transport http` with `flags`."""
    command = [MCPAGENTS, "serve", str(write_agent(folder, delay)), "--transport", "http", "--port", "0"]
    with started([*command, *flags], r"serving adder at (\S+)") as (url, process):
        yield Server(url, process, "adder", {"task": "What is 20 + 22?"}, lambda result: result["answer"])


@contextmanager
def bundled_server(folder: Path, *flags: str) -> Iterator[Server]:
    """The bundled memory server with `--http 0` and `flags`."""
    command = [sys.executable, "-m", "mcpagents.servers.memory", "--db", str(folder / "memory.db")]
    with started([*command, "--http", "0", *flags], r"serving at (\S+)") as (url, process):
        yield Server(url, process, "put", {"key": "answer", "value": "42"}, lambda result: result["value"])


SERVERS = {
    "agent": lambda folder, *flags: served_agent(folder, *flags),
    "agent-workers": lambda folder, *flags: served_agent(folder, "--workers", "2", *flags),
    "bundled": bundled_server,
}


@dataclass
class SlowClient:
    """A raw connection that sends `opening`, then one byte of `trickle` every `TRICKLE` seconds, and
    records when the server closes it. With `answered_first`, a whole request goes first, and the
    slow one starts once it is answered (a kept-alive connection)."""

    opening: bytes
    trickle: bytes = b""
    answered_first: bool = False
    received: bytes = b""
    started: float = 0.0
    closed_after: float | None = None
    _stream: anyio.abc.SocketStream | None = field(default=None, repr=False)

    async def connect(self, port: int) -> None:
        self._stream = await anyio.connect_tcp("127.0.0.1", port)
        self.started = time.monotonic()

    async def run(self) -> None:
        assert self._stream is not None
        async with self._stream as stream, anyio.create_task_group() as group:
            if self.answered_first:
                await stream.send(b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                while not self.received.endswith(b"Not Found"):
                    self.received += await stream.receive()
                self.started = time.monotonic()
            group.start_soon(self._send_slowly, stream)
            with suppress(anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
                while True:
                    self.received += await stream.receive()
            self.closed_after = time.monotonic() - self.started
            group.cancel_scope.cancel()

    async def _send_slowly(self, stream: anyio.abc.SocketStream) -> None:
        with suppress(anyio.BrokenResourceError, ConnectionResetError, BrokenPipeError):
            await stream.send(self.opening) if self.opening else None
            while self.trickle:
                await anyio.sleep(TRICKLE)
                await stream.send(self.trickle)


def slow_clients(each: int) -> list[SlowClient]:
    """`each` of every way to send a request too slowly."""
    kinds = [
        lambda: SlowClient(b""),  # connects and says nothing
        lambda: SlowClient(b"GET /hea", b"l"),  # a request line that never ends
        lambda: SlowClient(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b"a"),  # headers
        lambda: SlowClient(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Accept: application/json, text/event-stream\r\nContent-Length: 100000\r\n\r\n{",
            b" ",
        ),  # a body
        lambda: SlowClient(b"GET /nowhere HTTP/1.1\r\nX-Slow: ", b"a", answered_first=True),
    ]
    return [kind() for kind in kinds for _ in range(each)]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", SERVERS)
async def test_slow_requests_are_dropped_at_the_read_timeout_while_others_get_answers(
    kind: str, tmp_path: Path
) -> None:
    with SERVERS[kind](tmp_path, "--read-timeout", str(READ_TIMEOUT)) as server:
        assert await server.call() == "42"
        idle_files = server.open_files()
        clients = slow_clients(20)
        with anyio.fail_after(HANG_GUARD):
            for client in clients:
                await client.connect(server.port)
            async with anyio.create_task_group() as group:
                for client in clients:
                    group.start_soon(client.run)
                assert await server.call() == "42", "a normal client is answered meanwhile"
                # A connection may wait in the listen backlog until a worker accepts it, and on a busy
                # machine the call may outlast the read timeout: wait until the server holds one
                # descriptor per slow client still open, or none is left open (a descriptor counted
                # as idle may close meanwhile: the server's end of the first call's connection, say).
                while (open_clients := sum(c.closed_after is None for c in clients)) and (  # noqa: ASYNC110 (nothing to wait on but /proc)
                    server.open_files() < idle_files + open_clients
                ):
                    await anyio.sleep(0.02)
        closed_after = [client.closed_after for client in clients]
        assert all(
            after is not None and READ_TIMEOUT * 0.9 <= after <= READ_TIMEOUT + SLACK
            for after in closed_after
        ), closed_after
        answered = [client for client in clients if client.answered_first]
        assert all(client.received.startswith(b"HTTP/1.1 404") for client in answered)
        assert not any(client.received for client in clients if not client.answered_first), (
            "no answer, only a close"
        )
        assert server.open_files() <= idle_files + 4, "the server holds no descriptor for them any more"


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["agent", "bundled"])  # with workers, the kernel picks which one counts
async def test_connections_beyond_the_cap_are_answered_503_and_closed(kind: str, tmp_path: Path) -> None:
    with SERVERS[kind](tmp_path, "--read-timeout", str(READ_TIMEOUT), "--max-connections", "3") as server:
        held = [SlowClient(b"") for _ in range(3)]
        refused = SlowClient(b"")
        with anyio.fail_after(HANG_GUARD):
            for client in [*held, refused]:
                await client.connect(server.port)
            async with anyio.create_task_group() as group:
                for client in [*held, refused]:
                    group.start_soon(client.run)
            assert await server.call() == "42", "once the held connections are dropped, calls are answered"
    assert refused.received.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), refused.received
    assert refused.received.endswith(b"too many connections: try again later\n")
    assert refused.closed_after is not None and refused.closed_after < READ_TIMEOUT
    assert not any(client.received for client in held)
    assert all(
        client.closed_after is not None and client.closed_after >= READ_TIMEOUT * 0.9 for client in held
    )


@pytest.mark.anyio
async def test_answers_streaming_longer_than_the_timeouts_are_not_cut(tmp_path: Path) -> None:
    """Each model call takes 1.5 s, in which the stream is silent: longer than both timeouts."""
    timeouts = ["--read-timeout", str(READ_TIMEOUT), "--keep-alive-timeout", "1"]
    with served_agent(tmp_path, *timeouts, delay=1.5) as server:
        results: dict[str, tuple[Any, list[str | None], float]] = {}

        async def call(transport: str, client: Client) -> None:
            messages: list[str | None] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                messages.append(message)

            started = time.monotonic()
            result = await client.call_tool("adder", {"task": "add"}, progress_callback=on_progress)
            results[transport] = (result.structured_content, messages, time.monotonic() - started)

        async def over(transport: str) -> None:
            async with clients[transport]() as client:
                await call(transport, client)

        @asynccontextmanager
        async def streamable(mode: Any) -> AsyncIterator[Client]:
            async with (
                httpx2.AsyncClient(timeout=30) as http,
                Client(streamable_http_client(server.mcp_url, http_client=http), mode=mode) as client,
            ):
                yield client

        @asynccontextmanager
        async def legacy_sse() -> AsyncIterator[Client]:
            async with Client(sse_client(server.mcp_url.removesuffix("/mcp") + "/sse")) as client:
                yield client

        clients = {
            "http-2026": lambda: streamable("2026-07-28"),
            "http-legacy": lambda: streamable("legacy"),
            "sse": legacy_sse,
        }
        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for transport in clients:
                    group.start_soon(over, transport)
    for transport, (answer, messages, took) in results.items():
        assert answer is not None and answer["answer"] == "42", transport
        assert "step 1: calling add(a=20, b=22)" in messages, (transport, messages)
        assert took >= 3 * READ_TIMEOUT, (transport, took)
    assert set(results) == set(clients)
