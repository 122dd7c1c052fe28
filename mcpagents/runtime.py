"""Where async objects live, and how sync code and other event loops reach them.

Every connection belongs to one event loop, its *home*: the caller's loop for `async with`, or the
hub, a daemon thread running its own loop, for plain `with` in sync code. Sync twins block on the
hub (so they also work inside Jupyter's running loop); async calls from a foreign loop hop to the
home loop. mcpagents runs on asyncio (as the MCP SDK's transports and uvicorn do).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from typing import Any, ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")

_detached: set[asyncio.Task[Any]] = set()
_hub_lock = threading.Lock()
_hub_loop: asyncio.AbstractEventLoop | None = None

_HUB_SHUTDOWN_SECONDS = 10.0


def spawn_detached(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run `coroutine` as a task of the current loop that belongs to no caller's task group.

    Connection owners run this way so that whoever opened a connection, any task may close it,
    in any order, without exiting a cancel scope it did not enter.
    """
    task = asyncio.get_running_loop().create_task(coroutine)
    _detached.add(task)
    task.add_done_callback(_detached.discard)
    return task


def hub_loop() -> asyncio.AbstractEventLoop:
    """The event loop of the hub thread, started on first use and stopped at interpreter exit."""
    global _hub_loop
    with _hub_lock:
        if _hub_loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="mcpagents-hub", daemon=True)
            thread.start()
            atexit.register(_shutdown_hub, loop, thread)
            _hub_loop = loop
        return _hub_loop


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Home:
    """The event loop an object's connections live in."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    @classmethod
    def here(cls) -> Home:
        """The running loop (for `async with`)."""
        return cls(asyncio.get_running_loop())

    @classmethod
    def hub(cls) -> Home:
        """The hub thread's loop (for sync `with`)."""
        return cls(hub_loop())

    async def run(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Await `function(...)` on the home loop, hopping threads if called from another loop."""
        if running_loop() is self.loop:
            return await function(*args, **kwargs)
        future = asyncio.run_coroutine_threadsafe(_call(function, *args, **kwargs), self.loop)
        return await asyncio.wrap_future(future)

    def run_blocking(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `function(...)` on the home loop and wait for it (the sync twin of `run`)."""
        if running_loop() is self.loop:
            raise RuntimeError(
                "this sync method was called from inside the event loop that owns the object; "
                "await its async twin instead (for example `await tool.acall(...)` for `tool(...)`)"
            )
        future = asyncio.run_coroutine_threadsafe(_call(function, *args, **kwargs), self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. Ctrl-C while waiting: stop the remote work too
            raise


async def _call(function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    return await function(*args, **kwargs)


def _shutdown_hub(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    """Cancel what still runs on the hub (owners then close their servers) and stop its loop."""

    async def cancel_all() -> None:
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    if loop.is_running():
        future = asyncio.run_coroutine_threadsafe(cancel_all(), loop)
        with suppress(concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            future.result(timeout=_HUB_SHUTDOWN_SECONDS)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=1.0)
