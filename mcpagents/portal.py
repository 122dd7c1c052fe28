"""The portal: where async objects live, and how sync code and other event loops reach them.

Every connection belongs to one event loop, and that loop's *portal* lets any thread or loop run code
in it (anyio's word and verbs): `portal.call(fn, ...)` from sync code, `await portal.acall(fn, ...)`
from another loop, `portal.iterate(fn, ...)` for an async iterator.

* `async with` keeps an object in the caller's running loop (`LoopPortal`, from `portal_here()`).
* Plain `with` in sync code puts it in the *shared loop* (`SharedPortal`, from `shared_portal()`).
  A thread that waits for a result drives that loop itself until its result is ready, so a sync
  call costs no thread hop and callbacks run in the calling thread. Several threads may wait at
  once: one drives, the others' tasks progress meanwhile, and a waiter takes over when the driver's
  own result is ready. When no caller has driven the loop for a moment, a background thread runs it,
  so servers' messages (a death, a list change, a closed stream) are handled between calls too; the
  next caller takes the loop back. A thread that already runs a loop (Jupyter) cannot drive another
  one: its call is handed to the background thread at once.

A sync call from inside the loop that owns the object raises `UsageError` (a RuntimeError) naming the
async twin (it could only deadlock). Ctrl-C during a sync call in the main thread cancels the call's work and
then raises KeyboardInterrupt; pressing it again stops waiting for that cancellation.

Why not anyio's `BlockingPortal` (Starlette's choice for its TestClient): it runs its loop in a
thread of its own, so every sync call, and every item of an iteration (it has none of its own), hops
to that thread and back: about twice the cost of a call here, from one thread or two at once
(`bench/portal.py`, in BENCHMARKS.md). The call's code and its callbacks run in the portal's thread,
not the caller's, and Ctrl-C interrupts the wait but leaves the call running in the loop.

mcpagents runs on asyncio (as the MCP SDK's transports and uvicorn do).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import signal
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Literal, ParamSpec, Protocol, TypeVar

from mcpagents.errors import UsageError

T = TypeVar("T")
P = ParamSpec("P")

INSIDE_THE_LOOP = (
    "this sync method was called from inside the event loop that owns the object; "
    "await its async twin instead (for example `await tool.acall(...)` for `tool(...)`)"
)

_detached: set[asyncio.Task[Any]] = set()
_shared: SharedPortal | None = None
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
    """The event loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Portal(Protocol):
    """The event loop an object's connections live in, reachable from any thread or loop."""

    async def acall(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Await `function(...)` in the portal's loop, from any loop."""
        ...

    def call(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `function(...)` in the portal's loop and wait for it (the sync twin of `acall`)."""
        ...


def portal_here() -> Portal:
    """The portal of an object opened in the running loop."""
    loop = asyncio.get_running_loop()
    if _shared is not None and loop is _shared.loop:
        return _shared
    return LoopPortal(loop)


def shared_portal() -> SharedPortal:
    """The shared loop's portal (for objects opened with plain `with`), made on first use and shut
    down at interpreter exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SharedPortal()
            atexit.register(_shared.shutdown)
        return _shared


class LoopPortal:
    """The portal of a loop that some thread runs by itself: calls from other threads and loops are
    handed to it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    async def acall(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        if running_loop() is self.loop:
            return await function(*args, **kwargs)
        future = asyncio.run_coroutine_threadsafe(_call(function, *args, **kwargs), self.loop)
        return await asyncio.wrap_future(future)

    def call(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        if running_loop() is self.loop:
            raise UsageError(INSIDE_THE_LOOP)
        future = asyncio.run_coroutine_threadsafe(_call(function, *args, **kwargs), self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. Ctrl-C while waiting: stop the remote work too
            raise


class SharedPortal:
    """A loop driven by the threads that wait on it (see the module docstring).

    Who drives is one state, under one lock: nobody, a caller (a thread waiting for its result),
    or the background thread. Callers queue up behind a driving caller and take the loop over when
    it leaves; the background thread drives only while no caller waits, and hands over on request.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._state = threading.Condition()
        self._driver: Literal["caller", "background"] | None = None
        self._released_at = 0.0
        self._waiting_callers = 0
        self._handed_over: set[concurrent.futures.Future[Any]] = set()
        self._takeover = asyncio.Event()
        self._takeover_asked = False
        self._closing = False
        self._tasks: dict[concurrent.futures.Future[Any], asyncio.Task[Any]] = {}
        self._background = threading.Thread(
            target=self._drive_when_idle, name="mcpagents-portal", daemon=True
        )
        self._background.start()

    async def acall(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        if running_loop() is self.loop:
            return await function(*args, **kwargs)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._hand_over(future, function, *args, **kwargs)
        return await asyncio.wrap_future(future)

    def call(self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        current = running_loop()
        if current is self.loop:
            raise UsageError(INSIDE_THE_LOOP)
        # The future exists before its call is submitted, so that a Ctrl-C at any point after
        # (even before the call starts) finds it and stops the work.
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        if current is not None:  # this thread runs another loop (Jupyter), so it cannot drive this one
            try:
                self._hand_over(future, function, *args, **kwargs)
                return future.result()
            except BaseException:
                future.cancel()  # e.g. Ctrl-C while waiting: stop the work too
                raise
        if self._claim():
            return self._drive(_call(function, *args, **kwargs))
        try:
            self._submit(future, function, *args, **kwargs)
            self._drive_until(future)
            return future.result()
        except BaseException:
            if not future.done():
                self._cancel(future)
            raise

    def iterate(
        self, function: Callable[P, AsyncIterator[T]], *args: P.args, **kwargs: P.kwargs
    ) -> Iterator[T]:
        """Iterate `function(...)`'s async iterator from sync code (the sync twin of `async for`).

        One task runs the whole iteration (an async generator's task groups and cancel scopes must
        stay in one task) and hands the items over one at a time. Leaving the iteration early (or
        closing it) cancels that task and closes the async iterator before returning.
        """
        items: asyncio.Queue[tuple[Literal["item", "error", "end"], Any]] = asyncio.Queue(maxsize=1)

        async def produce() -> None:
            iterator = function(*args, **kwargs)
            try:
                async for item in iterator:
                    await items.put(("item", item))
            except Exception as error:
                await items.put(("error", error))
            else:
                await items.put(("end", None))
            finally:
                if isinstance(iterator, AsyncGenerator):  # cancelled between items: close it now
                    await iterator.aclose()

        async def start() -> asyncio.Task[None]:
            return spawn_detached(produce())

        producer = self.call(start)
        try:
            while True:
                kind, value = self.call(items.get)
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            if not producer.done():
                self.call(_cancel_and_wait, producer)

    def shutdown(self) -> None:
        """At interpreter exit: cancel what still lives here (owners then stop their servers) and
        stop the background thread. Callers may still drive the loop afterwards."""

        async def cancel_all() -> None:
            work = [task for task in _detached if task.get_loop() is self.loop]
            work += [task for task in self._tasks.values() if task is not asyncio.current_task()]
            for task in work:
                task.cancel()
            if work:
                await asyncio.wait(work, timeout=_CANCEL_GRACE_SECONDS)

        with self._state:
            self._closing = True
            self._state.notify_all()
        with suppress(BaseException):
            self.call(cancel_all)
        if threading.current_thread() is not self._background:
            self._background.join(_CANCEL_GRACE_SECONDS)

    # -- who drives -------------------------------------------------------------------------------

    def _claim(self) -> bool:
        """Become the driver, unless another caller drives (the background thread hands over)."""
        with self._state:
            self._waiting_callers += 1
            try:
                while self._driver == "background":
                    self._ask_takeover()
                    self._state.wait()
            finally:
                self._waiting_callers -= 1
            if self._driver is not None:
                return False
            self._driver = "caller"
            return True

    def _drive(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """As the driver: run `coroutine` to completion in this thread (the fast path of a sync call)."""
        task = self.loop.create_task(coroutine)
        try:
            with _ctrl_c_cancels(self.loop, task):
                return self.loop.run_until_complete(task)
        finally:
            self._release()

    def _drive_until(self, future: concurrent.futures.Future[Any]) -> None:
        """Run the loop in this thread until `future` is done, or wait while another thread drives."""
        with self._state:
            self._waiting_callers += 1
            try:
                while not future.done() and self._driver is not None:
                    if self._driver == "background":
                        self._ask_takeover()
                    self._state.wait()
            finally:
                self._waiting_callers -= 1
            if future.done():
                return
            self._driver = "caller"
        try:
            with _ctrl_c_cancels(self.loop, self._tasks.get(future)):
                self.loop.run_until_complete(self._until(future))
        finally:
            self._release()

    def _drive_when_idle(self) -> None:
        """The background driver: runs the loop whenever no caller has for `_IDLE_GRACE_SECONDS`,
        so servers' messages (deaths, list changes, stream ends) are handled between calls too, and
        at once while calls handed over by threads that cannot drive are pending."""
        while True:
            with self._state:
                while not self._closing:
                    # Sleep until released rather than polling: a wake-up every few milliseconds
                    # is enough to halve llama.cpp's speed on a small machine.
                    if self._driver is not None or self._waiting_callers:
                        self._state.wait()
                    elif (
                        not self._handed_over
                        and (idle := time.monotonic() - self._released_at) < _IDLE_GRACE_SECONDS
                    ):
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
                self._release()

    def _ask_takeover(self) -> None:
        """(Holding `_state`) ask the background driver to hand the loop over."""
        if not self._takeover_asked:
            self._takeover_asked = True
            self.loop.call_soon_threadsafe(self._takeover.set)

    def _release(self) -> None:
        with self._state:
            # In the same step as the driver: a takeover asked between the two would never be answered.
            self._driver = None
            self._takeover_asked = False
            self._released_at = time.monotonic()
            self._state.notify_all()

    # -- calls handed to whoever drives -----------------------------------------------------------

    def _submit(
        self,
        future: concurrent.futures.Future[T],
        function: Callable[P, Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None:
        """Start `function(...)` on the loop, its outcome to `future` (unless `future` is done first)."""
        future.add_done_callback(self._on_done)

        def start() -> None:
            if future.done():  # given up before it started
                return
            task = self.loop.create_task(_call(function, *args, **kwargs))
            self._tasks[future] = task
            task.add_done_callback(lambda done: self._settle(future, done))

        self.loop.call_soon_threadsafe(start)

    def _hand_over(
        self,
        future: concurrent.futures.Future[T],
        function: Callable[P, Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None:
        """Submit a call for a thread that cannot drive: the background thread drives until it is done
        (unless a caller drives meanwhile)."""
        if self._closing:
            raise UsageError("the shared portal is shut down: no thread drives its loop for other loops")
        self._submit(future, function, *args, **kwargs)
        with self._state:
            if not future.done():
                self._handed_over.add(future)
                self._state.notify_all()

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

    async def _until(self, future: concurrent.futures.Future[Any]) -> None:
        done = asyncio.Event()
        future.add_done_callback(lambda _: self.loop.call_soon_threadsafe(done.set))
        await done.wait()

    def _cancel(self, future: concurrent.futures.Future[Any]) -> None:
        """Cancel the task behind `future` (e.g. after Ctrl-C) and let it finish cancelling, for
        `_CANCEL_GRACE_SECONDS` at most."""
        self.loop.call_soon_threadsafe(self._cancel_task, future)
        waiter = threading.Timer(_CANCEL_GRACE_SECONDS, self._give_up, args=(future,))
        waiter.name = "mcpagents-cancel-grace"
        waiter.start()
        try:
            self._drive_until(future)
        finally:
            waiter.cancel()
            waiter.join()  # leave no thread behind the call

    def _give_up(self, future: concurrent.futures.Future[Any]) -> None:
        if not future.done():
            future.set_exception(TimeoutError("the cancelled call did not finish in time"))

    def _on_done(self, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            self.loop.call_soon_threadsafe(self._cancel_task, future)
        with self._state:
            self._handed_over.discard(future)
            if self._waiting_callers:
                self._state.notify_all()

    def _cancel_task(self, future: concurrent.futures.Future[Any]) -> None:
        task = self._tasks.get(future)
        if task is not None:
            task.cancel()
        else:  # not started: it never will be
            future.cancel()


@contextmanager
def _ctrl_c_cancels(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any] | None) -> Iterator[None]:
    """While the main thread drives the loop, Ctrl-C cancels `task` (as `asyncio.run` does) instead
    of raising KeyboardInterrupt inside whatever callback runs, which would tear a connection down;
    KeyboardInterrupt is raised on leaving, however the task ended. A second Ctrl-C raises at once."""
    if (
        task is None
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    interrupted = False

    def cancel(signum: int, frame: object) -> None:
        nonlocal interrupted
        if interrupted:
            raise KeyboardInterrupt
        interrupted = True
        loop.call_soon_threadsafe(task.cancel)

    previous = signal.signal(signal.SIGINT, cancel)
    try:
        yield
    except BaseException:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt


async def _cancel_and_wait(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def _call(function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    return await function(*args, **kwargs)
