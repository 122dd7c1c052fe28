"""A supervised stdio transport: the SDK's streams, plus what the SDK hides about the process.

The SDK's `stdio_client` does not expose the child process, so a server that dies only shows up as
"Connection closed". This transport keeps the process: its exit status, the log file its stderr
goes to, and the moment its stdout ends, so errors can say what happened.
"""

from __future__ import annotations

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

from mcpagents.connections.logs import ServerLog
from mcpagents.errors import MCPServerError

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


class StdioTransport:
    """Starts `spec` as a subprocess in its own process group, stderr appended to `log`.

    `on_exit` is called once stdout ends (the process died or closed its output).
    """

    def __init__(self, spec: StdioServer, log: ServerLog, on_exit: Callable[[], None]) -> None:
        self.spec = spec
        self.log = log
        self.exit_code: int | None = None
        self.exited = anyio.Event()
        self.ignored_lines = 0
        self._on_exit = on_exit
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
        pending = b""
        try:
            async for chunk in process.stdout:
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if message := self._parse(line):
                        await sink.send(message)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            return

    def _parse(self, line: bytes) -> SessionMessage | None:
        """A JSON-RPC message, or None for a blank line or one that is not JSON-RPC (logged, skipped)."""
        if not line.strip():
            return None
        try:
            return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
        except ValidationError:
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
        for sig, grace in ((None, STOP_GRACE_SECONDS), (signal.SIGTERM, 1.0), (signal.SIGKILL, 1.0)):
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


def _search_path(spec: StdioServer) -> str | None:
    env_path = (spec.env or {}).get("PATH")
    return env_path or os.environ.get("PATH")


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
