"""The host's hold on one worker process: signals by pidfd, its CPU time, how it ended.

Signals go through the pidfd the zygote sent when it forked the worker, so they reach the worker
itself — not a process that took over its pid — and do not depend on the zygote answering.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import time
import weakref
from contextlib import suppress

import anyio

from mcpagents.sandbox.launcher import Forked, ZygoteDied, ZygoteProcess

PAUSE_AFTER = 0.05


class WorkerProcess:
    def __init__(self, forked: Forked, zygote: ZygoteProcess) -> None:
        self.pid = forked.pid
        self.host_pid = forked.host_pid
        self._pidfd = forked.pidfd
        self.zygote = zygote
        self._cpu_clock = _cpu_clock(self.host_pid)
        self._pause: asyncio.TimerHandle | None = None
        self._paused = False
        # An executor nobody closed (an agent run and dropped, as smolagents programs do) would leave
        # its worker frozen between steps until the zygote exits: it is killed when this is collected.
        # (Without a pidfd, before Linux 5.3, it is not: by then its pid may be another process's.)
        self._end = weakref.finalize(self, _end, forked.pidfd)

    def pause_soon(self) -> None:
        """Freeze every thread of the worker once it has been idle `PAUSE_AFTER` seconds: between
        steps nothing of the code runs, and steps that follow at once cost no signals."""
        self._pause = asyncio.get_running_loop().call_later(PAUSE_AFTER, self._freeze)

    def resume(self) -> None:
        if self._pause is not None:
            self._pause.cancel()
            self._pause = None
        if self._paused:
            self._paused = False
            self._signal(signal.SIGCONT)

    def _freeze(self) -> None:
        self._pause = None
        self._paused = True
        self._signal(signal.SIGSTOP)

    def cpu_seconds(self) -> float | None:
        """CPU time of all the worker's threads so far (None where the system cannot tell)."""
        if self._cpu_clock is None:
            return None
        try:
            return time.clock_gettime(self._cpu_clock)
        except OSError:  # the worker is gone
            return None

    async def kill(self) -> None:
        """SIGKILL the worker (and, through the zygote, its process group); wait a little for it."""
        if self._pause is not None:
            self._pause.cancel()
        if self._pidfd is None:
            self._signal(signal.SIGKILL)  # by its pid, while the worker is surely there to be killed
        self._end()  # by its pidfd, which is closed then
        self._pidfd = None
        self.zygote.kill(self.pid)
        await self.exit_code(5)

    async def exit_code(self, timeout: float) -> int | None:
        """How the worker ended (negative: the signal that killed it); None if it has not within
        `timeout` seconds, or the zygote that could tell is gone."""
        with anyio.move_on_after(timeout), suppress(ZygoteDied):
            return await asyncio.wrap_future(self.zygote.exit_code(self.pid))
        return None

    def _signal(self, signal_number: signal.Signals) -> None:
        with suppress(OSError):
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, signal_number)
            else:
                os.kill(self.host_pid, signal_number)


def _end(pidfd: int | None) -> None:
    """SIGKILL a worker by its pidfd (its zygote reaps it) and close the pidfd. Takes no lock: as a
    finalizer, it may run in the middle of any code of this thread, a request to the zygote included."""
    if pidfd is not None:
        with suppress(OSError):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        os.close(pidfd)


def _cpu_clock(pid: int) -> int | None:
    """The clock of a process's CPU time (clock_getcpuclockid(3)): a read costs a few microseconds."""
    clock = ctypes.c_int()
    try:
        failed = ctypes.CDLL(None).clock_getcpuclockid(pid, ctypes.byref(clock))
    except (OSError, AttributeError):
        return None
    return None if failed else clock.value
