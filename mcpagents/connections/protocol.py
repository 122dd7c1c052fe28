"""Checks that what a server sends can be matched to what was asked, whatever the transport.

The SDK drops a response whose id answers no request it is waiting for, so the request the server
meant to answer waits for its whole timeout. `ResponseGuard` wraps a transport: it records the id
of every request sent and, at the first response that answers none of them, reports the server as
broken and ends the stream, which fails every waiting request at once.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types
from mcp.client import Transport
from mcp.shared.dispatcher import coerce_request_id
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from mcpagents.logs import ServerLog

if TYPE_CHECKING:
    from mcp.client._transport import ReadStream, TransportStreams, WriteStream

ABANDONED_IDS_KEPT = 1024
"""Ids of cancelled requests whose late answers are still accepted (spec: an answer may cross the
cancellation); older ones are forgotten so that a long connection does not accumulate them."""
_UNADDRESSED_ERRORS_LOGGED = 20


class ResponseGuard:
    """`transport` with its responses checked: `on_violation` is called with what the server did
    wrong before the read stream ends. `ended` tells whether the stream from the server has ended;
    `unaddressed_errors` counts the errors it sent with no request id, the last one described in
    `last_unaddressed`."""

    def __init__(self, transport: Transport, log: ServerLog, on_violation: Callable[[str], None]) -> None:
        self.ended = False
        self.unaddressed_errors = 0
        self.last_unaddressed: str | None = None
        self._transport = transport
        self._log = log
        self._on_violation = on_violation
        self._waiting: set[mcp_types.RequestId] = set()
        self._abandoned: deque[mcp_types.RequestId] = deque(maxlen=ABANDONED_IDS_KEPT)

    async def __aenter__(self) -> TransportStreams:
        reads, writes = await self._transport.__aenter__()
        return _CheckedReads(reads, self), _RecordedWrites(writes, self)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> bool | None:
        self.ended = True
        return await self._transport.__aexit__(kind, error, traceback)

    def sent(self, message: mcp_types.JSONRPCMessage) -> None:
        if isinstance(message, mcp_types.JSONRPCRequest):
            self._waiting.add(coerce_request_id(message.id))
        elif (
            isinstance(message, mcp_types.JSONRPCNotification) and message.method == "notifications/cancelled"
        ):
            cancelled = (message.params or {}).get("requestId")
            if isinstance(cancelled, int | str) and (key := coerce_request_id(cancelled)) in self._waiting:
                self._waiting.discard(key)
                self._abandoned.append(key)

    def received(self, message: mcp_types.JSONRPCMessage) -> bool:
        """Whether `message` may go on; if not, the violation has been reported."""
        if not isinstance(message, mcp_types.JSONRPCResponse | mcp_types.JSONRPCError):
            return True
        if message.id is None:
            # JSON-RPC's answer to a message the server could not read. Some servers send it for
            # notifications they do not know, so it is noted rather than held against them.
            assert isinstance(message, mcp_types.JSONRPCError)
            self.unaddressed_errors += 1
            self.last_unaddressed = describe_error(message.error)
            if self.unaddressed_errors <= _UNADDRESSED_ERRORS_LOGGED:
                self._log.note(f"the server sent an error about no request: {self.last_unaddressed}")
            return True
        answered = coerce_request_id(message.id)
        if answered in self._waiting:
            self._waiting.discard(answered)
            return True
        if answered in self._abandoned:
            self._abandoned.remove(answered)
            return True
        self.ended = True
        self._on_violation(f"it answered request id {message.id!r}, which no request was waiting for")
        return False


class _CheckedReads:
    """The transport's read stream, ending at the first message that breaks the protocol."""

    def __init__(self, inner: ReadStream[SessionMessage | Exception], guard: ResponseGuard) -> None:
        self._inner = inner
        self._guard = guard

    @property
    def last_context(self) -> object:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        if self._guard.ended:
            raise anyio.EndOfStream
        try:
            item = await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._guard.ended = True
            raise
        if isinstance(item, SessionMessage) and not self._guard.received(item.message):
            raise anyio.EndOfStream
        return item

    async def aclose(self) -> None:
        self._guard.ended = True
        await self._inner.aclose()

    def __aiter__(self) -> _CheckedReads:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _CheckedReads:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _RecordedWrites:
    """The transport's write stream, recording the requests sent before they can be answered."""

    def __init__(self, inner: WriteStream[SessionMessage], guard: ResponseGuard) -> None:
        self._inner = inner
        self._guard = guard

    async def send(self, item: SessionMessage, /) -> None:
        self._guard.sent(item.message)
        await self._inner.send(item)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _RecordedWrites:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def describe_error(error: mcp_types.ErrorData) -> str:
    """'JSON-RPC error -32603: disk on fire (data: {"disk": "sda1"})', long data cut short."""
    if error.data is None:
        return f"JSON-RPC error {error.code}: {error.message}"
    return f"JSON-RPC error {error.code}: {error.message} (data: {_short(error.data, 300)})"


def describe_invalid(error: ValidationError) -> str:
    """'content: Input should be a valid list (got "not a list")' for each problem (the first three)."""
    problems = error.errors(include_url=False)
    shown = []
    for problem in problems[:3]:
        where = ".".join(str(part) for part in problem["loc"]) or "the message"
        # The input of a missing field is the object around it, which says nothing more.
        got = "" if problem["type"] == "missing" else f" (got {_short(problem['input'], 80)})"
        shown.append(f"{where}: {problem['msg']}{got}")
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    return "; ".join(shown) + more


def _short(value: Any, limit: int) -> str:
    text = json.dumps(value, default=repr, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
