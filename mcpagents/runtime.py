"""Where async objects live, and how sync code and other event loops reach them.

Every connection belongs to one event loop, its *home*:

* `async with` keeps it in the caller's running loop (`LoopHome`);
* plain `with` in sync code puts it in the *shared loop* (`SharedHome`). A thread that waits for a
  result drives that loop itself until its result is ready, so a sync call costs no thread hop and
  callbacks run in the caller's thread. Several threads may wait at once: one drives, the others'
  tasks progress meanwhile, and a waiter takes over when the driver's own result is ready. When no
  caller has driven the loop for a moment, a background thread runs it, so servers' messages
  (a death, a list change, a closed stream) are handled between calls too. A thread that already
  runs a loop (Jupyter) cannot drive another one: its call is driven from a helper thread.

mcpagents runs on asyncio (as the MCP SDK's transports and uvicorn do).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from typing import Any, ParamSpec, Protocol, TypeVar

T = TypeVar("T")
P = ParamSpec("P")

_detached: set[asyncio.Task[Any]] = set()
_shared: SharedHome | None = None
_shared_lock = threading.Lock()

_CANCEL_GRACE_SECONDS = 5.0
_IDLE_GRACE_SECONDS = 0.02


def spawn_detached(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run `coroutine` as a task of the current loop that belongs to no caller's task group.

    Connection owners run this way so that whoever opened a connection, any task may close it,
    in any order, without exiting a cancel scope it did not enter.
    """
    task = asyncio.get_running_loop().create_task(coroutine)
    _detached.add(task)
    task.add_done_callback(_detached.discard)
    return task


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Home(Protocol):
    """The event loop an object's connections live in."""

    async def run(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Await `function(...)` in the home loop, from any loop."""
        ...

    def run_blocking(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `function(...)` in the home loop and wait for it (the sync twin of `run`)."""
        ...


def home_here() -> Home:
    """The home of an object opened in the running loop."""
    loop = asyncio.get_running_loop()
    if _shared is not None and loop is _shared.loop:
        return _shared
    return LoopHome(loop)


def shared_home() -> SharedHome:
    """The shared loop (for objects opened with plain `with`)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SharedHome()
            atexit.register(_shared.shutdown)
        return _shared


class LoopHome:
    """A loop some thread runs by itself: calls from other threads and loops are handed to it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    async def run(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        if running_loop() is self.loop:
            return await function(*args, **kwargs)
        future = asyncio.run_coroutine_threadsafe(_call(function, *args, **kwargs), self.loop)
        return await asyncio.wrap_future(future)

    def run_blocking(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
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


class SharedHome:
    """The loop driven by the threads that wait on it (see the module docstring)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._state = threading.Condition()
        self._driver: str | None = None  # "caller", "background" or None
        self._released_at = 0.0
        self._waiting_callers = 0
        self._takeover = asyncio.Event()
        self._takeover_asked = False
        self._closing = False
        self._tasks: dict[concurrent.futures.Future[Any], asyncio.Task[Any]] = {}
        threading.Thread(target=self._drive_when_idle, name="mcpagents-loop", daemon=True).start()

    async def run(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        if running_loop() is self.loop:
            return await function(*args, **kwargs)
        future = self._submit(function, *args, **kwargs)
        threading.Thread(target=self._drive_until, args=(future,), daemon=True).start()
        return await asyncio.wrap_future(future)

    def run_blocking(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        current = running_loop()
        if current is self.loop:
            raise RuntimeError(
                "this sync method was called from inside the event loop that owns the object; "
                "await its async twin instead (for example `await tool.acall(...)` for `tool(...)`)"
            )
        if current is None and self._claim():
            return self._drive(_call(function, *args, **kwargs))
        future = self._submit(function, *args, **kwargs)
        try:
            if current is None:
                self._drive_until(future)
            else:
                threading.Thread(target=self._drive_until, args=(future,), daemon=True).start()
            return future.result()
        except BaseException:
            if not future.done():
                self._cancel(future)
            raise

    def iterate_blocking(
        self, function: Callable[P, AsyncIterator[T]], *args: P.args, **kwargs: P.kwargs
    ) -> Iterator[T]:
        """Iterate `function(...)`'s async iterator from sync code (the sync twin of `async for`).

        One task runs the whole iteration (an async generator's task groups and cancel scopes must
        stay in one task); the items reach this thread through a queue.
        """
        items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        async def produce() -> None:
            try:
                async for item in function(*args, **kwargs):
                    await items.put(("item", item))
            except Exception as error:
                await items.put(("error", error))
            else:
                await items.put(("end", None))

        async def start() -> asyncio.Task[None]:
            return spawn_detached(produce())

        producer = self.run_blocking(start)
        try:
            while True:
                kind, value = self.run_blocking(items.get)
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            if not producer.done():
                self.run_blocking(_cancel_and_wait, producer)

    def shutdown(self) -> None:
        """At interpreter exit: cancel what still lives here (owners then stop their servers)."""

        async def cancel_all() -> None:
            work = [task for task in _detached if task.get_loop() is self.loop]
            work += [task for task in self._tasks.values() if task is not asyncio.current_task()]
            for task in work:
                task.cancel()
            if work:
                await asyncio.wait(work, timeout=_CANCEL_GRACE_SECONDS)

        with self._state:
            self._closing = True
        with suppress(BaseException):
            self.run_blocking(cancel_all)

    def _claim(self) -> bool:
        """Become the driver if nobody drives the loop right now."""
        with self._state:
            if self._driver is not None:
                return False
            self._driver = "caller"
            return True

    def _drive(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """As the driver: run `coroutine` to completion in this thread (the fast path of a sync call)."""
        task = self.loop.create_task(coroutine)
        try:
            with _ctrl_c_cancels(self.loop, task) as interrupted:
                try:
                    return self.loop.run_until_complete(task)
                except asyncio.CancelledError:
                    if interrupted:
                        raise KeyboardInterrupt from None
                    raise
        finally:
            self._release()

    def _submit(
        self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        future.add_done_callback(self._on_done)

        def start() -> None:
            task = self.loop.create_task(_call(function, *args, **kwargs))
            self._tasks[future] = task
            task.add_done_callback(lambda done: self._settle(future, done))

        self.loop.call_soon_threadsafe(start)
        return future

    def _settle(self, future: concurrent.futures.Future[T], task: asyncio.Task[T]) -> None:
        self._tasks.pop(future, None)
        if future.done():  # given up on, or cancelled by an awaiting task of another loop
            return
        if task.cancelled():
            future.set_exception(concurrent.futures.CancelledError())
        elif (error := task.exception()) is not None:
            future.set_exception(error)
        else:
            future.set_result(task.result())

    def _drive_until(self, future: concurrent.futures.Future[Any]) -> None:
        """Run the loop in this thread until `future` is done, or wait while another thread drives."""
        with self._state:
            self._waiting_callers += 1
            try:
                while not future.done() and self._driver is not None:
                    if self._driver == "background" and not self._takeover_asked:
                        self._takeover_asked = True
                        self.loop.call_soon_threadsafe(self._takeover.set)
                    self._state.wait()
            finally:
                self._waiting_callers -= 1
            if future.done():
                return
            self._driver = "caller"
        try:
            with _ctrl_c_cancels(self.loop, self._tasks.get(future)) as interrupted:
                self.loop.run_until_complete(self._until(future))
            if interrupted:
                raise KeyboardInterrupt
        finally:
            self._release()

    def _drive_when_idle(self) -> None:
        """The background driver: runs the loop whenever no caller has for `_IDLE_GRACE_SECONDS`,
        so servers' messages (deaths, list changes, stream ends) are handled between calls too."""
        while True:
            with self._state:
                while not self._closing:
                    # Sleep until released rather than polling: a wake-up every few milliseconds
                    # is enough to halve llama.cpp's speed on a small machine.
                    if self._driver is not None or self._waiting_callers:
                        self._state.wait()
                    elif (idle := time.monotonic() - self._released_at) < _IDLE_GRACE_SECONDS:
                        self._state.wait(_IDLE_GRACE_SECONDS - idle)
                    else:
                        break
                if self._closing:
                    return
                self._driver = "background"
                self._takeover.clear()
            try:
                self.loop.run_until_complete(self._takeover.wait())
            finally:
                with self._state:
                    self._takeover_asked = False
                self._release()

    def _release(self) -> None:
        with self._state:
            self._driver = None
            self._released_at = time.monotonic()
            self._state.notify_all()

    async def _until(self, future: concurrent.futures.Future[Any]) -> None:
        done = asyncio.Event()
        future.add_done_callback(lambda _: self.loop.call_soon_threadsafe(done.set))
        await done.wait()

    def _cancel(self, future: concurrent.futures.Future[Any]) -> None:
        """Cancel the task behind `future` (e.g. after Ctrl-C) and let it finish cancelling."""
        self.loop.call_soon_threadsafe(self._cancel_task, future)
        if running_loop() is None:
            waiter = threading.Timer(_CANCEL_GRACE_SECONDS, self._give_up, args=(future,))
            waiter.start()
            try:
                self._drive_until(future)
            finally:
                waiter.cancel()

    def _give_up(self, future: concurrent.futures.Future[Any]) -> None:
        if not future.done():
            future.set_exception(TimeoutError("the cancelled call did not finish in time"))

    def _on_done(self, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            self.loop.call_soon_threadsafe(self._cancel_task, future)
        with self._state:
            if self._waiting_callers:
                self._state.notify_all()

    def _cancel_task(self, future: concurrent.futures.Future[Any]) -> None:
        task = self._tasks.get(future)
        if task is not None:
            task.cancel()


@contextmanager
def _ctrl_c_cancels(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any] | None) -> Iterator[list[bool]]:
    """While the main thread drives the loop, Ctrl-C cancels `task` (as `asyncio.run` does) instead of
    raising KeyboardInterrupt inside whatever callback runs, which would tear a connection down. The
    yielded list turns true once that happened; the caller re-raises KeyboardInterrupt."""
    interrupted: list[bool] = []
    if (
        task is None
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield interrupted
        return

    def cancel(signum: int, frame: object) -> None:
        interrupted.append(True)
        loop.call_soon_threadsafe(task.cancel)

    previous = signal.signal(signal.SIGINT, cancel)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


async def _cancel_and_wait(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def _call(function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    return await function(*args, **kwargs)
