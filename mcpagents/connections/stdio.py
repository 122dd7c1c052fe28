"""A supervised stdio transport: the SDK's streams, plus what the SDK hides about the process.

The SDK's `stdio_client` does not expose the child process, so a server that dies only shows up as
"Connection closed". This transport keeps the process: its exit status, the log file its stderr
goes to, and the moment its stdout ends, so errors can say what happened. It also reads stdout
itself, one message a line, so that a line longer than `StdioServer.max_message_bytes` or a response
that is not valid JSON-RPC ends the connection at once, reported to `on_violation`, instead of leaving
the request it was meant to answer waiting for its timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

import anyio
import mcp_types
from anyio.abc import Process
from mcp.client.stdio import get_default_environment
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from mcpagents.connections.protocol import describe_invalid
from mcpagents.errors import MCPServerError
from mcpagents.logs import ServerLog

if TYPE_CHECKING:
    from mcp.client._transport import TransportStreams

    from mcpagents.connections.specs import StdioServer

STOP_GRACE_SECONDS = 2.0
"""How long a server may take to exit after its stdin closes before it is terminated."""

_EXIT_WAIT_AFTER_EOF = 2.0
_POLL_INTERVAL = 0.01
_MAX_IGNORED_LINES_LOGGED = 20
_BUFFERED_MESSAGES = 64
"""Messages that may wait between the pipes and the session: enough to spare a task switch per
message, few enough that a flooding server is held back by its pipe."""


class _Broken(Exception):
    """The server wrote something after which its output cannot be trusted (the message says what)."""


class StdioTransport:
    """Starts `spec` as a subprocess in its own process group, stderr appended to `log`.

    `on_exit` is called once stdout ends (the process died or closed its output) or is given up;
    `on_violation` first, with what the server did, when it is given up.
    """

    def __init__(
        self,
        spec: StdioServer,
        log: ServerLog,
        on_exit: Callable[[], None],
        on_violation: Callable[[str], None],
    ) -> None:
        self.spec = spec
        self.log = log
        self.exit_code: int | None = None
        self.exited = anyio.Event()
        self.ignored_lines = 0
        self.answered = False
        """Whether the server has sent a message yet."""
        self.violation: str | None = None
        self._on_exit = on_exit
        self._on_violation = on_violation
        self._process: Process | None = None
        self._context = self._run()

    async def __aenter__(self) -> TransportStreams:
        return await self._context.__aenter__()

    async def __aexit__(self, *exc_info: object) -> bool | None:
        return await self._context.__aexit__(*exc_info)  # type: ignore[arg-type]

    @property
    def running(self) -> bool:
        """The process is alive and its stdout open, as far as the event loop has seen."""
        process = self._process
        return process is not None and process.returncode is None and not self.exited.is_set()

    def describe_exit(self) -> str:
        """'exited with code 3', 'was killed by SIGKILL', or 'closed its stdout' (still running)."""
        code = self.exit_code
        if code is None:
            return "closed its stdout"
        if code < 0:
            with suppress(ValueError):
                return f"was killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"

    @asynccontextmanager
    async def _run(self) -> AsyncIterator[TransportStreams]:
        process = self._process = await self._spawn()
        read_in, read_out = anyio.create_memory_object_stream[SessionMessage | Exception](_BUFFERED_MESSAGES)
        write_in, write_out = anyio.create_memory_object_stream[SessionMessage](_BUFFERED_MESSAGES)

        async def pump_stdout() -> None:
            async with read_in:
                await self._read_messages(process, read_in)
                if self.violation is None:
                    await self._observe_exit(process)
            self.exited.set()
            self._on_exit()

        async def pump_stdin() -> None:
            assert process.stdin is not None
            try:
                async with write_out:
                    async for message in write_out:
                        line = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                        await process.stdin.send(line.encode())
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                await read_in.aclose()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(pump_stdout)
            tasks.start_soon(pump_stdin)
            try:
                yield read_out, write_in
            finally:
                with anyio.CancelScope(shield=True):
                    await self._stop(process)
                    for stream in (read_out, write_in):
                        await stream.aclose()
                tasks.cancel_scope.cancel()

    async def _spawn(self) -> Process:
        spec = self.spec
        command = shutil.which(spec.command, path=_search_path(spec)) or spec.command
        stderr = self.log.open_for_start(spec.describe())
        try:
            return await anyio.open_process(
                [command, *spec.args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=get_default_environment() | dict(spec.env or {}),
                cwd=spec.cwd,
                start_new_session=True,
            )
        except FileNotFoundError as error:
            missing = spec.cwd if spec.cwd and not await anyio.Path(spec.cwd).is_dir() else spec.command
            what = "working directory" if missing == spec.cwd else "command"
            raise MCPServerError(
                f"server {spec.display_name!r} could not start: {what} {str(missing)!r} was not found",
                server=spec.display_name,
                log_path=self.log.path,
            ) from error
        except PermissionError as error:
            raise MCPServerError(
                f"server {spec.display_name!r} could not start: {spec.command!r} is not executable",
                server=spec.display_name,
                log_path=self.log.path,
            ) from error
        finally:
            stderr.close()

    async def _read_messages(
        self, process: Process, sink: anyio.abc.ObjectSendStream[SessionMessage | Exception]
    ) -> None:
        assert process.stdout is not None
        pending = bytearray()  # the line read so far; grown in place, as a line may be megabytes long
        try:
            async for chunk in process.stdout:
                *ends, rest = chunk.split(b"\n")
                for end in ends:
                    pending += end
                    message = self._parse(pending)
                    pending.clear()
                    if message is not None:
                        self.answered = True
                        await sink.send(message)
                        del message  # a message may be megabytes: kept here, it would live on till the next
                pending += rest
                self._check_length(pending)
        except _Broken as broken:
            self.violation = str(broken)
            self._on_violation(self.violation)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            return

    def _check_length(self, line: bytearray) -> None:
        if len(line) > self.spec.max_message_bytes:
            raise _Broken(
                f"it sent a message (a line on stdout) longer than {_size(self.spec.max_message_bytes)},"
                " the limit set by StdioServer(max_message_bytes=...)"
            )

    def _parse(self, line: bytearray) -> SessionMessage | None:
        """A JSON-RPC message, or None for a blank line or one that is not JSON-RPC (logged, skipped).

        Raises `_Broken` for a line that is too long, or meant as a response but not valid JSON-RPC.
        """
        self._check_length(line)
        if not line.strip():
            return None
        try:
            return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
        except ValidationError:
            if problem := _response_problem(line):
                raise _Broken(f"it sent a response that is not valid JSON-RPC ({problem})") from None
            self.ignored_lines += 1
            if self.ignored_lines <= _MAX_IGNORED_LINES_LOGGED:
                text = line.decode(errors="replace")[:300]
                self.log.note(f"ignored a line on stdout that is not JSON-RPC: {text}")
            return None

    async def _observe_exit(self, process: Process) -> None:
        """After stdout ends, give the process a moment to exit so its status can be reported."""
        await _wait_for_exit(process, _EXIT_WAIT_AFTER_EOF)
        self.exit_code = process.returncode

    async def _stop(self, process: Process) -> None:
        """Close stdin, wait for a clean exit, then terminate and finally kill the process group."""
        assert process.stdin is not None
        assert process.stdout is not None
        with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            await process.stdin.aclose()
        steps = [(None, STOP_GRACE_SECONDS), (signal.SIGTERM, 1.0), (signal.SIGKILL, 1.0)]
        # A server given up on may be blocked writing to the stdout nobody reads, and one that never
        # answered (still starting: an npx download) has no session to end: no grace for either.
        for sig, grace in steps[1:] if self.violation or not self.answered else steps:
            if sig is not None:
                _signal_group(process.pid, sig)
            if await _wait_for_exit(process, grace):
                break
        # Children the server left behind in its process group go with it.
        _signal_group(process.pid, signal.SIGKILL)
        with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            await process.stdout.aclose()
        if self.exit_code is None:
            self.exit_code = process.returncode


async def _wait_for_exit(process: Process, seconds: float) -> bool:
    """Whether the process exited within `seconds`.

    Polls `returncode` rather than awaiting `process.wait()`, which on asyncio also waits for the
    pipes to close: a grandchild still holding stdout would make a dead server look alive.
    """
    with anyio.move_on_after(seconds):
        while process.returncode is None:  # noqa: ASYNC110
            await anyio.sleep(_POLL_INTERVAL)
    return process.returncode is not None


def _response_problem(line: bytearray) -> str | None:
    """What is invalid in `line` if it is a JSON object meant as a response, else None (stray output).

    A response is recognised by two of its marks (`jsonrpc`, `id`, and `result` or `error`) without a
    `method`: a JSON log line on stdout is skipped like any other stray output.
    """
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or "method" in data:
        return None
    if ("jsonrpc" in data) + ("id" in data) + ("result" in data or "error" in data) < 2:
        return None
    model = mcp_types.JSONRPCError if "error" in data else mcp_types.JSONRPCResponse
    try:
        model.model_validate(data, by_name=False)
    except ValidationError as error:
        return describe_invalid(error)
    return None


def _size(count: int) -> str:
    return f"{count // 2**20} MiB" if count % 2**20 == 0 else f"{count:,} bytes"


def _search_path(spec: StdioServer) -> str | None:
    env_path = (spec.env or {}).get("PATH")
    return env_path or os.environ.get("PATH")


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
