"""Run files made off the event loop: making a file is mostly the kernel's work (a few tens of µs,
more on a busy disk), which a served agent answering hundreds of calls a second should not do
between two requests. One thread per process takes the finished runs in turn; `wait()` lets a
reader in this process see every run that has ended."""

from __future__ import annotations

import atexit
import os
import queue
import threading
from collections.abc import Callable

_EXIT_WAIT = 5.0
"""Seconds a process that exits gives its last runs' files to be written."""


class FileMaker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        self._owner: int | None = None
        """The process whose thread takes the jobs (a forked child starts its own)."""

    def put(self, job: Callable[[], None]) -> None:
        """Run `job` (which must not raise) on the thread, after the jobs put before it."""
        with self._lock:
            if self._owner != os.getpid():
                self._owner = os.getpid()
                self._jobs = queue.Queue()
                threading.Thread(
                    target=self._take, args=(self._jobs,), name="mcpagents-run-files", daemon=True
                ).start()
            self._jobs.put(job)

    def wait(self, timeout: float | None = None) -> None:
        """Return once the jobs put so far are done (or `timeout` seconds have passed)."""
        if self._owner != os.getpid():
            return
        done = threading.Event()
        self._jobs.put(done.set)
        done.wait(timeout)

    @staticmethod
    def _take(jobs: queue.Queue[Callable[[], None]]) -> None:
        while True:
            jobs.get()()


file_maker = FileMaker()
atexit.register(file_maker.wait, _EXIT_WAIT)
