"""The host's end of a worker's socket: frames parsed as the bytes arrive.

An asyncio protocol rather than a stream: frames are cut from the data in the same loop iteration
that read it, and a waiting reader is woken once per frame — a tool call from code costs two
process wake-ups and little else.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from typing import Any

from mcpagents.sandbox import protocol


class WorkerGone(Exception):
    """The worker's end of the socket closed (it died, or was killed)."""


class FrameChannel(asyncio.Protocol):
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._frames: deque[dict[str, Any]] = deque()
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
                self._frames.append(protocol.decode(bytes(self._buffer[protocol.HEADER.size : end])))
                del self._buffer[:end]
        except protocol.ProtocolError as error:
            self._garbage = error
            self.close()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self._gone = True
        self._wake()

    async def receive(self) -> dict[str, Any]:
        """The next frame; `protocol.ProtocolError` for garbage, `WorkerGone` once the socket closed."""
        while not self._frames:
            if self._garbage is not None:
                raise self._garbage
            if self._gone:
                raise WorkerGone
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._frames.popleft()

    def send(self, message: dict[str, Any]) -> None:
        data = protocol.encode(message)
        if self._gone or self._transport is None or self._transport.is_closing():
            raise WorkerGone
        self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


async def open_channel(sock: socket.socket) -> FrameChannel:
    _, channel = await asyncio.get_running_loop().connect_accepted_socket(FrameChannel, sock)
    return channel
