"""The zygote: a clean, idle Python process with the worker's code already loaded, that forks a fresh
worker for each executor run (a millisecond or two instead of a new interpreter's tens).

Started by the host as `python -I -B -m mcpagents.sandbox.zygote FD` with the workers' clean
environment (in sandbox mode, inside bubblewrap). It never runs model code. It keeps one child
forked ahead, a spare: in its own session, with the layers that do not depend on the run already
on (no capabilities, the seccomp filter, whose compiling is most of a worker's start), waiting on a
socket only the zygote holds. A fork request hands the spare its run (the host's socket, folder and
environment); it then takes the run's own layers (rlimits, Landlock) and talks to the host only on
that socket. The zygote answers with the child's pid and a pidfd for it (so that the host can signal
the child itself, whatever its PID namespace), forks the next spare, reports each worker's exit
status, and kills a worker when asked. Standard library only.
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
from dataclasses import dataclass
from typing import Any

from mcpagents.sandbox import confinement, protocol
from mcpagents.sandbox.worker import Worker, confine_process
from mcpagents.sandbox.worker_channel import WorkerChannel

MARKER = b"\x00"
"""Every message, both ways, is a one-byte message (carrying a descriptor or none), then a frame."""
_SETUP_FAILED = 70  # EX_SOFTWARE: the child could not become a worker


@dataclass
class Spare:
    """A child forked ahead of a request, waiting for its run on `socket` (the zygote's end)."""

    pid: int
    socket: socket.socket
    modules: frozenset[str]
    """The modules loaded when it was forked: a run that needs more gets a child forked after them."""


class Zygote:
    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.children: set[int] = set()
        self.spare: Spare | None = None
        self.unannounced: set[int] = set()
        """Children forked as spares and never handed a run: the host knows nothing of them."""
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        with suppress(confinement.LayerUnavailable):
            confinement.load_seccomp()

    def serve(self) -> None:
        self.spare = self.fork_spare()
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
        message = protocol.receive_frame(self.control)
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
            pid = self.hand_over(fds[0], request)
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
        else:
            try:
                self.send({"type": "forked", "id": request.get("id"), "pid": pid}, [pidfd])
            finally:
                os.close(pidfd)
        with suppress(OSError):  # none now: the next request forks one itself
            self.spare = self.fork_spare()

    def hand_over(self, worker_fd: int, request: dict[str, Any]) -> int:
        """Give the run to the spare (forked now if there is none, or if it lacks a module the run
        needs) and return its pid."""
        preimport = request.get("preimport", [])
        for module in preimport:
            with suppress(Exception):  # loaded once here, shared by every later child
                importlib.import_module(module)
        spare, self.spare = self.spare, None
        if spare is not None and not spare.modules.issuperset(preimport):
            self.discard(spare)
            spare = None
        try:
            return self.assign(spare or self.fork_spare(), worker_fd, request)
        except OSError:  # it died while it waited: another one, once
            return self.assign(self.fork_spare(), worker_fd, request)

    def assign(self, spare: Spare, worker_fd: int, request: dict[str, Any]) -> int:
        try:
            socket.send_fds(spare.socket, [MARKER], [worker_fd])
            spare.socket.sendall(protocol.encode(request))
        except OSError:
            self.discard(spare)
            raise
        spare.socket.close()
        self.unannounced.discard(spare.pid)
        return spare.pid

    def fork_spare(self) -> Spare:
        ours, its = socket.socketpair()
        zygote = os.getpid()
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            its.close()
            raise
        if pid:
            its.close()
            self.children.add(pid)
            self.unannounced.add(pid)
            return Spare(pid, ours, frozenset(sys.modules))
        try:
            ours.close()
            self.become_worker(its, zygote)
        except BaseException:
            traceback.print_exc()  # into the zygote's log, unless stderr is already /dev/null
            os._exit(_SETUP_FAILED)
        os._exit(0)

    def discard(self, spare: Spare) -> None:
        spare.socket.close()
        with suppress(ProcessLookupError):
            os.kill(spare.pid, signal.SIGKILL)

    def become_worker(self, assignment: socket.socket, zygote: int) -> None:
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
        layers = confine_process()
        marker, fds, _, _ = socket.recv_fds(assignment, 1, 1)
        if not marker or not fds:
            os._exit(0)  # never given a run: the zygote closed or discarded it
        request = protocol.receive_frame(assignment)
        assignment.close()
        os.environ.clear()
        os.environ.update(request.get("environment", {}))
        os.chdir(request["workdir"])
        with suppress(EOFError):
            Worker(WorkerChannel(fds[0]), layers).serve()

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            if pid in self.unannounced:
                self.unannounced.discard(pid)
                if self.spare is not None and pid == self.spare.pid:
                    self.spare.socket.close()
                    self.spare = None
                continue
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            self.send({"type": "exited", "pid": pid, "code": code})

    def send(self, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
        socket.send_fds(self.control, [MARKER], list(fds))
        self.control.sendall(protocol.encode(message))


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    with suppress(EOFError, ConnectionError):
        Zygote(control).serve()


if __name__ == "__main__":
    main()
