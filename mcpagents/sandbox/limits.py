"""What one step of code may spend, and the watch that stops a step that spends more.

* **Code time**: `step_timeout` seconds of wall time while no tool call is in flight (the deadline of
  the step's cancel scope, moved while calls are in flight), and as many seconds of the worker's CPU
  time, all threads together, tool calls in flight or not.
* **Tool time**: at most `tool_wait_limit` seconds of wall time with tool calls in flight.
* **Scratch folder**: it may grow by at most `max_bytes` (blocks allocated) and `max_entries` (files,
  folders, links) over the run; a folder already past that may not grow.

Wall time is kept by the scope's deadline; the rest is checked four times a second of the step's
running time (the worker is frozen between steps): while a step runs, once it has run a quarter of a
second, and at the end of a step when the steps since the last check have run that long.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio

CHECK_INTERVAL = 0.25
_SCAN_IN_THREAD = 2_000
"""A folder with more entries than this is measured in a thread, away from the event loop."""


@dataclass(frozen=True)
class Usage:
    bytes: int
    entries: int
    too_deep: bool = False


MAX_DEPTH = 64
"""Folders nested deeper than this in the scratch folder are an excess of their own: past a few
thousand characters their paths can no longer be measured."""


def measure(folder: Path) -> Usage:
    """Blocks allocated (each inode once) and directory entries under `folder`."""
    seen: set[tuple[int, int]] = set()
    allocated = entries = 0
    pending = [(str(folder), 0)]
    while pending:
        path, depth = pending.pop()
        if depth > MAX_DEPTH:
            return Usage(allocated, entries, too_deep=True)
        try:
            listing = os.scandir(path)
        except OSError:
            continue
        with listing:
            for entry in listing:
                entries += 1
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if (info.st_dev, info.st_ino) not in seen:
                    seen.add((info.st_dev, info.st_ino))
                    allocated += info.st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, depth + 1))
    return Usage(allocated, entries)


class ScratchQuota:
    """How much a run's scratch folder may grow."""

    def __init__(self, folder: Path, max_bytes: int, max_entries: int) -> None:
        self.folder = folder
        self.start = self.last = self.step_start = measure(folder)
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.unchecked = 0.0
        """Seconds steps have run since the folder was last measured."""

    def begin_step(self) -> None:
        """Between steps the worker is frozen: the last measure is where this step starts."""
        self.step_start = self.last

    def ran(self, seconds: float) -> bool:
        """A step ran `seconds`: whether the folder is due a measure (`excess()`)."""
        self.unchecked += seconds
        return self.unchecked >= CHECK_INTERVAL

    async def excess(self) -> str | None:
        """What the folder holds beyond its allowance now (None: within it)."""
        self.unchecked = 0.0
        if self.last.entries > _SCAN_IN_THREAD:
            self.last = await anyio.to_thread.run_sync(measure, self.folder)
        else:
            self.last = measure(self.folder)
        if self.last.too_deep:
            return f"your code nested folders more than {MAX_DEPTH} deep in the scratch folder"
        allowed_bytes = max(self.start.bytes + self.max_bytes, self.step_start.bytes)
        allowed_entries = max(self.start.entries + self.max_entries, self.step_start.entries)
        if self.last.bytes > allowed_bytes:
            grown = self.last.bytes - self.start.bytes
            return (
                f"your code filled the scratch folder past its limit ({grown >> 20} MiB written in this run;"
                f" the limit is {self.max_bytes >> 20} MiB)"
            )
        if self.last.entries > allowed_entries:
            created = self.last.entries - self.start.entries
            return (
                f"your code created too many files in the scratch folder ({created} in this run;"
                f" the limit is {self.max_entries})"
            )
        return None


class StepWatch:
    """The limits of one step, watched while it runs; `exceeded` says which one stopped it."""

    def __init__(
        self,
        scope: anyio.CancelScope,
        limit: float,
        tool_wait_limit: float,
        cpu_seconds: Callable[[], float | None],
        scratch: ScratchQuota | None,
    ) -> None:
        self.scope = scope
        self.limit = limit
        self.left = limit
        self.tool_wait_limit = self.tool_wait_left = tool_wait_limit
        self.in_flight = 0
        self.calls_since = 0.0
        self.exceeded: str | None = None
        self._cpu_seconds = cpu_seconds
        self._cpu_start = cpu_seconds()
        self._scratch = scratch
        if scratch is not None:
            scratch.begin_step()
        self.started = anyio.current_time()
        scope.deadline = self.started + limit
        self._watcher: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(CHECK_INTERVAL, self._start_watching)

    def pause(self) -> None:
        """A tool call went out: the code's clock stops while calls are in flight."""
        if self.in_flight == 0:
            self.calls_since = anyio.current_time()
            self.left = self.scope.deadline - self.calls_since
            self.scope.deadline = math.inf
        self.in_flight += 1

    def resume(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            now = anyio.current_time()
            self.tool_wait_left -= now - self.calls_since
            self.scope.deadline = now + self.left

    def stop(self) -> bool:
        """The step ended: stop watching. True when the scratch folder is due a last check
        (`check_scratch`)."""
        self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()
        ran = anyio.current_time() - self.started
        return self.exceeded is None and self._scratch is not None and self._scratch.ran(ran)

    async def check_scratch(self) -> None:
        assert self._scratch is not None
        self.exceeded = await self._scratch.excess()

    def _start_watching(self) -> None:
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while self.exceeded is None:
            self.exceeded = await self._check()
            if self.exceeded is not None:
                self.scope.cancel()
                return
            await asyncio.sleep(CHECK_INTERVAL)

    async def _check(self) -> str | None:
        now, cpu = anyio.current_time(), self._cpu_seconds()
        if cpu is not None and self._cpu_start is not None and cpu - self._cpu_start > self.limit:
            return f"your code used more than {self.limit:g} s of CPU time (all its threads together)"
        if self.in_flight and now - self.calls_since > self.tool_wait_left:
            return f"your code waited for tool calls longer than the {self.tool_wait_limit:g} s limit"
        return await self._scratch.excess() if self._scratch is not None else None
