"""Work that can be stopped: worker processes for the bundled servers whose calls may run too long.

A thread cannot be stopped in Python, and one call into a C library (SQLite, a big-integer power)
cannot be interrupted: a process can be killed. A worker is a Python child process that answers one
JSON request per line with one JSON reply per line — `{"result": ...}` or `{"error": "..."}` — after a
first line saying it is ready (`{"ready": true}`, or `{"error": ...}` when it cannot be). `serve_lines`
is the child's side; `WorkerPool` the server's.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

import anyio
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp.server.mcpserver.exceptions import ToolError


def serve_lines(answer: Callable[[Any], Any], refusals: tuple[type[Exception], ...]) -> None:
    """The child's loop: the result of `answer(request)` for each request read; an exception of
    `refusals` becomes an `{"error": ...}` reply, any other ends the worker (its traceback goes to
    the server's log)."""
    _reply({"ready": True})
    for line in sys.stdin:
        try:
            _reply({"result": answer(json.loads(line))})
        except refusals as error:
            _reply({"error": str(error)})


def refuse_to_start(reason: str) -> None:
    """The child's first line when it cannot work (a database that will not open, say)."""
    _reply({"error": reason})


def _reply(reply: dict[str, Any]) -> None:
    print(json.dumps(reply, ensure_ascii=False), flush=True)


class _Worker:
    def __init__(self, process: Process, max_reply_bytes: int) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self._requests = process.stdin
        self._replies = BufferedByteReceiveStream(process.stdout)
        self._max_reply_bytes = max_reply_bytes

    async def ask(self, request: Any) -> dict[str, Any]:
        await self._requests.send(json.dumps(request).encode() + b"\n")
        return await self.receive()

    async def receive(self) -> dict[str, Any]:
        reply: dict[str, Any] = json.loads(await self._replies.receive_until(b"\n", self._max_reply_bytes))
        return reply

    async def stop(self) -> None:
        with suppress(ProcessLookupError):  # it ended by itself
            self.process.kill()
        await self.process.aclose()


class WorkerPool:
    """Up to `size` workers started with `command`, one request at a time each. A request not answered
    within `kill_after` seconds kills its worker, which stops the work for real, and fails with
    `ToolError(timeout_error)`; a worker that dies fails its request naming `what` it was working for.
    Later requests start new workers."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        size: int,
        kill_after: float,
        timeout_error: str,
        what: str,
        max_reply_bytes: int,
    ) -> None:
        self.command = list(command)
        self.kill_after = kill_after
        self.timeout_error = timeout_error
        self.what = what
        self.max_reply_bytes = max_reply_bytes
        self._idle: list[_Worker] = []
        self._slots = anyio.CapacityLimiter(size)

    async def ask(self, request: Any) -> Any:
        """The worker's result for `request`; a `ToolError` says why there is none."""
        async with self._slots:
            try:
                worker = self._idle.pop() if self._idle else await self._start()
                try:
                    with anyio.fail_after(self.kill_after):
                        reply = await worker.ask(request)
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await worker.stop()
                    raise
            except TimeoutError:
                raise ToolError(self.timeout_error) from None
            except (anyio.BrokenResourceError, anyio.EndOfStream, anyio.IncompleteRead):
                raise ToolError(
                    f"the {self.what}'s worker process ended unexpectedly (the server's log may say why)"
                ) from None
            self._idle.append(worker)
        if "error" in reply:
            raise ToolError(str(reply["error"]))
        return reply["result"]

    async def _start(self) -> _Worker:
        worker = _Worker(await anyio.open_process(self.command, stderr=None), self.max_reply_bytes)
        try:  # its stderr is the server's: its errors go to the server's log
            ready = await worker.receive()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await worker.stop()
            raise
        if "error" in ready:
            await worker.stop()
            raise ToolError(str(ready["error"]))
        return worker
