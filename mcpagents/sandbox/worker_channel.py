"""The worker's end of its socket: blocking frames, usable from every thread of the model's code.

Tool calls may come from several threads at once (a `ThreadPoolExecutor` over a tool, say). One
thread at a time reads the socket; each frame it reads goes to whoever waits for it: a tool result
to the thread that made that call, anything else to the worker's main loop. Standard library only.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

from mcpagents.sandbox import protocol

_READ_SIZE = 65_536


class WorkerChannel:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._send_lock = threading.Lock()
        self._state = threading.Condition()
        self._reading = False
        self._results: dict[int, dict[str, Any]] = {}
        self._commands: deque[dict[str, Any]] = deque()
        self._closed: BaseException | None = None
        self._unread = bytearray()
        """Bytes read from the socket but not yet taken: a frame is read whole, with the next one
        if it came along, in one system call rather than one for its length and one for its body."""

    def send(self, message: dict[str, Any]) -> None:
        self.send_raw(protocol.encode(message))

    def send_raw(self, frame: bytes) -> None:
        data = memoryview(frame)
        with self._send_lock:  # a frame is written whole, whatever other threads send
            while data:
                data = data[os.write(self.fd, data) :]

    def next_command(self) -> dict[str, Any]:
        """The next frame from the host that is not a tool result."""
        self._wait(lambda: bool(self._commands))
        with self._state:
            return self._commands.popleft()

    def results(self, ids: Collection[int]) -> dict[int, dict[str, Any]]:
        """The host's results for the calls `ids`, once all of them have arrived."""
        self._wait(lambda: all(call_id in self._results for call_id in ids))
        with self._state:
            return {call_id: self._results.pop(call_id) for call_id in ids}

    def _wait(self, arrived: Callable[[], bool]) -> None:
        with self._state:
            while not arrived():
                if self._closed is not None:
                    raise EOFError("the host closed the channel") from self._closed
                if self._reading:
                    self._state.wait()
                    continue
                self._reading = True
                self._state.release()
                try:
                    message = protocol.read_frame(self._read_exactly)
                except BaseException as error:
                    self._state.acquire()
                    self._closed = error
                    self._reading = False
                    self._state.notify_all()
                    raise
                self._state.acquire()
                self._reading = False
                if message.get("type") == "result" and isinstance(message.get("id"), int):
                    self._results[message["id"]] = message
                else:
                    self._commands.append(message)
                self._state.notify_all()

    def _read_exactly(self, size: int) -> bytes:
        """`size` bytes (only the thread whose turn it is to read calls this)."""
        while len(self._unread) < size:
            chunk = os.read(self.fd, max(size - len(self._unread), _READ_SIZE))
            if not chunk:
                raise EOFError("the host closed the channel")
            self._unread += chunk
        taken = bytes(self._unread[:size])
        del self._unread[:size]
        return taken
