"""Launching workers: one zygote process per mode (and sandbox root), forking a worker per run.

The host side of `zygote.py`. A zygote is shared by every executor of the process, whatever event
loop they run in, so its client uses a plain thread and `concurrent.futures`, never a loop.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from mcpagents.connections.logs import ServerLog, default_log_dir
from mcpagents.sandbox import protocol
from mcpagents.sandbox.bubblewrap import bwrap_command
from mcpagents.sandbox.zygote import MARKER

_zygotes: dict[tuple[str, str], ZygoteProcess] = {}
_zygotes_lock = threading.Lock()


class ZygoteDied(Exception):
    """The zygote process is gone; a new one is started on the next fork."""


class ZygoteProcess:
    """A running zygote: `fork` a worker onto a socket, `kill` one, learn how one exited."""

    def __init__(self, command: Sequence[str], environment: Mapping[str, str], cwd: str) -> None:
        host_end, zygote_end = socket.socketpair()
        # What goes wrong before the zygote can talk (bwrap refusing to start, say) is written here.
        self.log = ServerLog(default_log_dir(), "code-executor-zygote")
        stderr = self.log.open_for_start(" ".join(command))
        self.process = subprocess.Popen(
            [*command, str(zygote_end.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=dict(environment),
            cwd=cwd,
            start_new_session=True,
            pass_fds=[zygote_end.fileno()],
        )
        zygote_end.close()
        stderr.close()
        self._control = host_end
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._next_id = 0
        self._forks: dict[int, concurrent.futures.Future[int]] = {}
        self._exits: dict[int, concurrent.futures.Future[int]] = {}
        self._alive = True
        threading.Thread(target=self._read, name="mcpagents-zygote", daemon=True).start()

    @property
    def alive(self) -> bool:
        return self._alive and self.process.poll() is None

    def fork(
        self,
        worker_end: socket.socket,
        *,
        workdir: str,
        environment: Mapping[str, str],
        preimport: Sequence[str],
    ) -> concurrent.futures.Future[int]:
        """Ask for a worker on `worker_end` (a socket the worker keeps); the future gives its pid."""
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        with self._state_lock:
            if not self._alive:
                raise ZygoteDied("the zygote is not running")
            self._next_id += 1
            self._forks[self._next_id] = future
            request = {
                "type": "fork",
                "id": self._next_id,
                "workdir": workdir,
                "environment": dict(environment),
                "preimport": list(preimport),
            }
        self._send(request, [worker_end.fileno()])
        return future

    def kill(self, pid: int) -> None:
        with suppress(ZygoteDied):
            self._send({"type": "kill", "pid": pid}, [])

    def exit_code(self, pid: int) -> concurrent.futures.Future[int]:
        with self._state_lock:
            return self._exits.setdefault(pid, concurrent.futures.Future())

    def close(self) -> None:
        with suppress(OSError):
            self._control.shutdown(socket.SHUT_RDWR)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(5)

    def _send(self, message: dict[str, Any], fds: list[int]) -> None:
        try:
            with self._send_lock:
                socket.send_fds(self._control, [MARKER], fds)
                self._control.sendall(protocol.encode(message))
        except OSError as error:
            raise ZygoteDied(f"the zygote stopped taking requests: {error}") from error

    def _read(self) -> None:
        try:
            while True:
                message = protocol.read_frame(self._read_exactly)
                if message.get("type") == "forked":
                    with self._state_lock:
                        future = self._forks.pop(int(message["id"]), None)
                    if future is not None:
                        future.set_result(int(message["pid"]))
                elif message.get("type") == "exited":
                    exited = self.exit_code(int(message["pid"]))
                    if not exited.done():
                        exited.set_result(int(message["code"]))
        except (EOFError, OSError, protocol.ProtocolError):
            pass
        with self._state_lock:
            self._alive = False
            waiting = [*self._forks.values(), *(f for f in self._exits.values() if not f.done())]
            self._forks.clear()
        death = ZygoteDied(self._describe_death())
        for future in waiting:
            future.set_exception(death)

    def _describe_death(self) -> str:
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(2)
        code = self.process.returncode
        status = f"exited with code {code}" if code is not None and code >= 0 else "was killed"
        tail = self.log.tail(6)
        said = f"; it said:\n{tail}" if tail else ""
        return f"the worker zygote {status} (log: {self.log.path}){said}"

    def _read_exactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self._control.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return bytes(data)


def zygote_for(
    mode: str, root: Path, environment: Mapping[str, str], read_paths: Sequence[str]
) -> ZygoteProcess:
    """The zygote for this mode (and, in sandbox mode, this bound root folder), started if needed."""
    key = (mode, str(root) if mode == "sandbox" else "")
    with _zygotes_lock:
        zygote = _zygotes.get(key)
        if zygote is None or not zygote.alive:
            if zygote is not None:
                zygote.close()
            command = [sys.executable, "-I", "-B", "-m", "mcpagents.sandbox.zygote"]
            if mode == "sandbox":
                command = bwrap_command(
                    command, read_paths=read_paths, workdir=str(root), environment=environment
                )
            zygote = _zygotes[key] = ZygoteProcess(command, environment, str(root))
        return zygote


@atexit.register
def _close_zygotes() -> None:
    with _zygotes_lock:
        for zygote in _zygotes.values():
            zygote.close()
        _zygotes.clear()
