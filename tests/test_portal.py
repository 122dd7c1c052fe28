"""The portal's state machine: who drives the shared loop (the calling thread, another waiting thread,
the background thread), Ctrl-C, calls from inside the loop and from other loops, iterations."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest

from mcpagents import Progress, ToolCollection
from mcpagents.portal import SharedPortal, portal_here, spawn_detached
from tests.conftest import calc


@pytest.fixture
def portal() -> Iterator[SharedPortal]:
    """A shared portal of the test's own, shut down after it, leaving no thread behind."""
    before = set(threading.enumerate())
    portal = SharedPortal()
    yield portal
    portal.shutdown()
    portal.loop.close()
    assert set(threading.enumerate()) <= before, "the portal left a thread behind"


async def thread_name() -> str:
    return threading.current_thread().name


def test_a_call_takes_the_loop_over_from_the_background_thread(portal: SharedPortal) -> None:
    go, ran = asyncio.Event(), threading.Event()
    ran_on: list[str] = []

    async def watch() -> None:
        await go.wait()
        ran_on.append(threading.current_thread().name)
        ran.set()

    async def start() -> None:
        spawn_detached(watch())

    portal.call(start)
    portal.loop.call_soon_threadsafe(go.set)
    assert ran.wait(10), "no call in flight: the background thread runs the loop"
    assert ran_on == ["mcpagents-portal"]
    assert portal.call(thread_name) == "MainThread", "the calling thread runs the whole call itself"


def test_waiting_threads_progress_under_one_driver_and_take_over_from_it(portal: SharedPortal) -> None:
    entered = {name: threading.Event() for name in "ab"}
    gates = {name: asyncio.Event() for name in "ab"}
    results: dict[str, list[str]] = {}

    async def wait(name: str) -> list[str]:
        threads = [threading.current_thread().name]
        entered[name].set()
        await gates[name].wait()
        return [*threads, threading.current_thread().name]

    def caller(name: str) -> None:
        results[name] = portal.call(wait, name)

    callers = {name: threading.Thread(target=caller, args=(name,), name=name) for name in "ab"}
    callers["a"].start()
    assert entered["a"].wait(10)
    callers["b"].start()
    assert entered["b"].wait(10), "b's call started while a drives the loop"
    for name in "ab":
        portal.loop.call_soon_threadsafe(gates[name].set)
        callers[name].join(10)
    assert results == {"a": ["a", "a"], "b": ["a", "b"]}, "b took the loop over when a's call ended"


CTRL_C_SCRIPT = """
import asyncio, contextlib, sys, threading
from mcpagents.portal import shared_portal

portal, outcome = shared_portal(), []
driving, release = threading.Event(), asyncio.Event()

async def forever():
    print("blocked", flush=True)
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        outcome.append("cancelled")
        if sys.argv[1] != "ignoring-cancellation":
            raise
    print("still running", flush=True)
    while not release.is_set():
        with contextlib.suppress(asyncio.CancelledError):
            await release.wait()

async def drive_until_released():
    driving.set()
    await release.wait()

if sys.argv[1] == "behind-another-thread":
    other = threading.Thread(target=portal.call, args=(drive_until_released,), name="other")
    other.start()
    driving.wait()
try:
    portal.call(forever)
except KeyboardInterrupt:
    print("KeyboardInterrupt", outcome, flush=True)
portal.loop.call_soon_threadsafe(release.set)
if sys.argv[1] == "behind-another-thread":
    other.join()
print(sorted(thread.name for thread in threading.enumerate()), flush=True)
"""


@pytest.mark.parametrize("where", ["driving", "behind-another-thread", "ignoring-cancellation"])
def test_ctrl_c_cancels_the_call_and_raises_keyboard_interrupt_promptly(where: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT, where],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "blocked\n"
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        if where == "ignoring-cancellation":
            assert process.stdout.readline() == "still running\n"
            process.send_signal(signal.SIGINT)  # a second Ctrl-C stops waiting for it
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert time.monotonic() - interrupted < 4, "promptly (a cancelled call that hangs is waited for 5 s)"
    assert (process.returncode, err) == (0, "")
    assert out.splitlines() == ["KeyboardInterrupt ['cancelled']", "['MainThread', 'mcpagents-portal']"]


def test_a_sync_call_from_inside_the_loop_raises_instead_of_deadlocking(portal: SharedPortal) -> None:
    async def nested() -> str:
        return portal.call(thread_name)

    with pytest.raises(RuntimeError, match="await its async twin"):
        portal.call(nested)
    assert portal.call(thread_name) == "MainThread"

    async def in_an_async_with() -> None:
        with pytest.raises(RuntimeError, match="await its async twin"):
            portal_here().call(thread_name)

    anyio.run(in_an_async_with)


def test_calls_from_a_thread_running_another_loop_are_driven_by_the_background_thread(
    portal: SharedPortal,
) -> None:
    async def in_jupyter() -> tuple[str, str]:
        return portal.call(thread_name), await portal.acall(thread_name)

    assert asyncio.run(in_jupyter()) == ("mcpagents-portal", "mcpagents-portal")


def test_an_iteration_left_early_closes_its_async_generator(portal: SharedPortal) -> None:
    closed = threading.Event()

    async def count() -> AsyncIterator[int]:
        try:
            number = 0
            while True:
                yield number
                number += 1
        finally:
            closed.set()

    numbers = portal.iterate(count)
    assert [next(numbers) for _ in range(3)] == [0, 1, 2]
    numbers.close()
    assert closed.is_set(), "closed before the sync iterator's close() returned"
    assert portal.call(thread_name) == "MainThread"


def test_sync_calls_from_many_threads_run_concurrently() -> None:
    with ToolCollection.from_mcp(calc()) as tools, ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: tools["rendezvous"](parties=6), range(6)))
        assert results == ["met"] * 6, "all six calls were in flight at once"
        assert list(pool.map(lambda n: tools["add"](a=n, b=n), range(60))) == [2 * n for n in range(60)]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_server_messages_are_handled_between_calls(mode: str) -> None:
    changed = threading.Event()
    with ToolCollection.from_mcp(calc(mode=mode), on_tools_changed=lambda _: changed.set()) as tools:
        assert tools["grow_later"](name="late") == "scheduled"
        assert not changed.is_set()
        assert changed.wait(10), "no call was running: the background driver handled the announcement"
        assert tools["late"](text="ok") == "ok"


def test_ctrl_c_during_a_sync_call_cancels_the_request_and_keeps_the_collection() -> None:
    def interrupt(report: Progress) -> None:
        assert threading.current_thread() is threading.main_thread(), "callbacks run in the calling thread"
        os.kill(os.getpid(), signal.SIGINT)

    with ToolCollection.from_mcp(calc()) as tools:
        with pytest.raises(KeyboardInterrupt):
            tools["hang"].call_with({}, on_progress=interrupt)
        assert tools["cancelled"]() == 1, "the server saw the request cancelled"
        assert tools["add"](a=1) == 3
