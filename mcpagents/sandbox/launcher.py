"""Launching workers: one zygote process per mode (and sandbox root), forking a worker per run.

The host side of `zygote.py`. A zygote is shared by every executor of the process, whatever event
loop they run in, so its client uses a plain thread and `concurrent.futures`, never a loop. A zygote
that dies, refuses a fork or stops answering is retired, and the next fork starts a fresh one.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mcpagents.logs import ServerLog, default_log_dir
from mcpagents.sandbox import protocol
from mcpagents.sandbox.bubblewrap import bwrap_command
from mcpagents.sandbox.zygote import MARKER

T = TypeVar("T")

_zygotes: dict[tuple[str, tuple[str, ...]], ZygoteProcess] = {}
_zygotes_lock = threading.Lock()


class ZygoteDied(Exception):
    """The zygote process is gone, or could not fork; a new one is started on the next fork."""


@dataclass(frozen=True)
class Forked:
    """A worker the zygote forked."""

    pid: int
    """Its pid in the zygote's PID namespace (in sandbox mode, not ours)."""
    host_pid: int
    """Its pid in ours: for /proc, prlimit and signals."""
    pidfd: int | None
    """A pidfd for it (None before Linux 5.3): signals that cannot reach a recycled pid."""


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
        self._forks: dict[int, concurrent.futures.Future[Forked]] = {}
        self._exits: dict[int, concurrent.futures.Future[int]] = {}
        self._alive = True
        self.imported: set[str] = set()
        """Modules the zygote has been asked to import before forking."""
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
    ) -> concurrent.futures.Future[Forked]:
        """Ask for a worker on `worker_end` (a socket the worker keeps); the future gives the worker,
        or `ZygoteDied` when the zygote could not fork."""
        future: concurrent.futures.Future[Forked] = concurrent.futures.Future()
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
        self.imported.update(preimport)
        self._send(request, [worker_end.fileno()])
        return future

    def kill(self, pid: int) -> None:
        with suppress(ZygoteDied):
            self._send({"type": "kill", "pid": pid}, [])

    def exit_code(self, pid: int) -> concurrent.futures.Future[int]:
        """The worker's exit code: a future of the caller's own, which it may cancel (a timeout, say)
        without changing what other callers see."""
        mine: concurrent.futures.Future[int] = concurrent.futures.Future()

        def settle(shared: concurrent.futures.Future[int]) -> None:
            _settle(mine, shared.exception() or shared.result())

        self._exit(pid).add_done_callback(settle)
        return mine

    def _exit(self, pid: int) -> concurrent.futures.Future[int]:
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
                marker, fds, _, _ = socket.recv_fds(self._control, 1, 1)
                if not marker:
                    break
                message = protocol.receive_frame(self._control)
                if message.get("type") == "forked":
                    self._forked(message, fds[0] if fds else None)
                else:
                    for fd in fds:
                        os.close(fd)
                    if message.get("type") == "exited":
                        exited = self._exit(int(message["pid"]))
                        if not exited.done():
                            _settle(exited, int(message["code"]))
        except (EOFError, OSError, protocol.ProtocolError):
            pass
        with self._state_lock:
            self._alive = False
            forks = list(self._forks.values())
            exits = [future for future in self._exits.values() if not future.done()]
            self._forks.clear()
        death = ZygoteDied(self._describe_death())
        for fork in forks:
            _settle(fork, death)
        for exit in exits:
            _settle(exit, death)

    def _forked(self, message: dict[str, Any], pidfd: int | None) -> None:
        with self._state_lock:
            future = self._forks.pop(int(message["id"]), None)
        if future is None or "error" in message:
            if pidfd is not None:
                os.close(pidfd)
            if future is not None:
                _settle(future, ZygoteDied(f"the worker zygote could not fork: {message['error']}"))
            return
        pid = int(message["pid"])
        forked = Forked(pid, _pid_in_our_namespace(pidfd) if pidfd is not None else pid, pidfd)
        if not _settle(future, forked) and pidfd is not None:
            os.close(pidfd)  # nobody waits for this worker any more; the zygote's kill ends it

    def _describe_death(self) -> str:
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(2)
        code = self.process.returncode
        status = f"exited with code {code}" if code is not None and code >= 0 else "was killed"
        tail = self.log.tail(6)
        said = f"; it said:\n{tail}" if tail else ""
        return f"the worker zygote {status} (log: {self.log.path}){said}"


def _settle(future: concurrent.futures.Future[T], outcome: T | BaseException) -> bool:
    """Give `future` its outcome, unless it was cancelled (its waiter gave up): False then."""
    if not future.set_running_or_notify_cancel():
        return False
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
    return True


def _pid_in_our_namespace(pidfd: int) -> int:
    with open(f"/proc/self/fdinfo/{pidfd}") as info:
        for line in info:
            if line.startswith("Pid:"):
                return int(line.split()[1])
    raise ZygoteDied("the worker's pidfd names no process")


def zygote_for(
    mode: str, root: Path, environment: Mapping[str, str], read_paths: Sequence[str]
) -> ZygoteProcess:
    """The zygote for this mode (and, in sandbox mode, this bound root folder and these readable
    paths, which its namespace binds), started if needed: a new one replaces one that died or was
    retired."""
    key = (mode, (str(root), *read_paths) if mode == "sandbox" else ())
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


def retire(zygote: ZygoteProcess) -> None:
    """Stop a zygote that misbehaved (no answer, a failed fork): the next fork starts a fresh one."""
    with _zygotes_lock:
        for key, running in list(_zygotes.items()):
            if running is zygote:
                del _zygotes[key]
    zygote.close()


@atexit.register
def _close_zygotes() -> None:
    with _zygotes_lock:
        for zygote in _zygotes.values():
            zygote.close()
        _zygotes.clear()
