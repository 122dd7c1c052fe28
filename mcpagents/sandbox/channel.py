"""The host's end of a worker's socket: frames parsed as the bytes arrive.

An asyncio protocol rather than a stream: frames are cut from the data in the same loop iteration
that read it, and a waiting reader is woken once per frame — a tool call from code costs two
process wake-ups and little else. The worker is not trusted: frames it sends faster than the host
takes them stop the reading (the worker then blocks on its writes), so that what the host holds of
its frames stays bounded whatever it sends.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from typing import Any

from mcpagents.sandbox import protocol

_QUEUED_FRAMES = 8
_QUEUED_BYTES = 1 << 20


class WorkerGone(Exception):
    """The worker's end of the socket closed (it died, or was killed)."""


class FrameChannel(asyncio.Protocol):
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._frames: deque[tuple[dict[str, Any], int]] = deque()
        self._queued_bytes = 0
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._transport: asyncio.Transport | None = None
        self._gone = False
        self._garbage: protocol.ProtocolError | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            while len(self._buffer) >= protocol.HEADER.size:
                end = protocol.HEADER.size + protocol.frame_length(
                    bytes(self._buffer[: protocol.HEADER.size])
                )
                if len(self._buffer) < end:
                    break
                self._frames.append((protocol.decode(bytes(self._buffer[protocol.HEADER.size : end])), end))
                self._queued_bytes += end
                del self._buffer[:end]
        except protocol.ProtocolError as error:
            self._garbage = error
            self.close()
        if len(self._frames) >= _QUEUED_FRAMES or self._queued_bytes >= _QUEUED_BYTES:
            self._pause(True)
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self._gone = True
        self._wake()

    async def receive(self) -> tuple[dict[str, Any], int]:
        """The next frame and its size in bytes; `protocol.ProtocolError` for garbage, `WorkerGone`
        once the socket closed."""
        while not self._frames:
            if self._garbage is not None:
                raise self._garbage
            if self._gone:
                raise WorkerGone
            self._pause(False)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        frame, size = self._frames.popleft()
        self._queued_bytes -= size
        return frame, size

    def discard_pending(self) -> None:
        """Forget the frames read but not yet taken (those of a step that has ended)."""
        self._frames.clear()
        self._queued_bytes = 0

    def send(self, message: dict[str, Any]) -> None:
        data = protocol.encode(message)
        if self._gone or self._transport is None or self._transport.is_closing():
            raise WorkerGone
        self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _pause(self, paused: bool) -> None:
        if paused == self._paused or self._transport is None or self._transport.is_closing():
            return
        self._paused = paused
        if paused:
            self._transport.pause_reading()
        else:
            self._transport.resume_reading()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


async def open_channel(sock: socket.socket) -> FrameChannel:
    _, channel = await asyncio.get_running_loop().connect_accepted_socket(FrameChannel, sock)
    return channel
