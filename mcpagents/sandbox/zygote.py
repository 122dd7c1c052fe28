"""The zygote: a clean, idle Python process with the worker's code already loaded, that forks a fresh
worker for each executor run (a few milliseconds instead of a new interpreter's tens).

Started by the host as `python -I -B -m mcpagents.sandbox.zygote FD` with the workers' clean
environment (in sandbox mode, inside bubblewrap). It never runs model code: each forked child
becomes a worker in its own session, applies its own confinement layers, and talks to the host
only on the socket the host sent along with the fork request. The zygote answers each fork with the
child's pid and a pidfd for it (so that the host can signal the child itself, whatever its PID
namespace), reports each child's exit status, and kills a child when asked. Standard library only.
"""

from __future__ import annotations

import importlib
import os
import select
import signal
import socket
import sys
import traceback
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from mcpagents.sandbox import confinement, protocol
from mcpagents.sandbox.worker import Worker
from mcpagents.sandbox.worker_channel import WorkerChannel

MARKER = b"\x00"
"""Every message, both ways, is a one-byte message (carrying a descriptor or none), then a frame."""
_SETUP_FAILED = 70  # EX_SOFTWARE: the child could not become a worker


class Zygote:
    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.children: set[int] = set()
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        with suppress(confinement.LayerUnavailable):
            confinement.load_seccomp()

    def serve(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self.control.fileno(), self.wake_read], [], [])
                if self.wake_read in ready:
                    os.read(self.wake_read, 512)
                    self.reap()
                if self.control.fileno() in ready and not self.handle():
                    return
        finally:
            for pid in self.children:
                with suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)

    def handle(self) -> bool:
        marker, fds, _, _ = socket.recv_fds(self.control, 1, 1)
        if not marker:
            return False
        message = protocol.read_frame(self._read_exactly)
        if message.get("type") == "fork":
            self.answer_fork(message, fds)
        elif message.get("type") == "kill":
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(int(message["pid"]), signal.SIGKILL)
        return True

    def answer_fork(self, request: dict[str, Any], fds: list[int]) -> None:
        if not fds:  # out of descriptors, say: the host replaces a zygote that cannot fork
            self.send({"type": "forked", "id": request.get("id"), "error": "no socket came with the request"})
            return
        try:
            pid = self.fork(fds[0], request)
        except OSError as error:
            self.send({"type": "forked", "id": request.get("id"), "error": f"fork failed: {error}"})
            return
        finally:
            for fd in fds:
                os.close(fd)
        try:
            pidfd = os.pidfd_open(pid)
        except (OSError, AttributeError):  # before Linux 5.3, or not Linux: the pid alone
            self.send({"type": "forked", "id": request.get("id"), "pid": pid})
            return
        try:
            self.send({"type": "forked", "id": request.get("id"), "pid": pid}, [pidfd])
        finally:
            os.close(pidfd)

    def fork(self, worker_fd: int, request: dict[str, Any]) -> int:
        for module in request.get("preimport", []):
            with suppress(Exception):  # loaded once here, shared by every later child
                importlib.import_module(module)
        zygote = os.getpid()
        pid = os.fork()
        if pid:
            self.children.add(pid)
            return pid
        try:
            self.become_worker(worker_fd, request, zygote)
        except BaseException:
            traceback.print_exc()  # into the zygote's log, unless stderr is already /dev/null
            os._exit(_SETUP_FAILED)
        os._exit(0)

    def become_worker(self, worker_fd: int, request: dict[str, Any], zygote: int) -> None:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.control.close()
        os.close(self.wake_read)
        os.close(self.wake_write)
        os.setsid()
        confinement.die_with_parent()
        if os.getppid() != zygote:  # it died before the line above
            os._exit(_SETUP_FAILED)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # the zygote's stderr is its log: a worker writes nowhere but its socket
            os.dup2(devnull, fd)
        os.close(devnull)
        os.environ.clear()
        os.environ.update(request.get("environment", {}))
        os.chdir(request["workdir"])
        with suppress(EOFError):
            Worker(WorkerChannel(worker_fd)).serve()

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            self.send({"type": "exited", "pid": pid, "code": code})

    def send(self, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
        socket.send_fds(self.control, [MARKER], list(fds))
        self.control.sendall(protocol.encode(message))

    def _read_exactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self.control.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return bytes(data)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    with suppress(EOFError, ConnectionError):
        Zygote(control).serve()


if __name__ == "__main__":
    main()
