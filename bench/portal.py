"""The shared loop's portal (`mcpagents.portal.SharedPortal`) against anyio's `BlockingPortal`.

Run: `.venv/bin/python bench/portal.py [--calls N] [--items N] [--rounds N]`

What a sync twin costs on top of the async work, for each way of reaching one shared event loop
from sync code: `shared_portal().call(fn)` / `.iterate(fn)`, against `BlockingPortal.call(fn)` on
`anyio.from_thread.start_blocking_portal()` (the baseline; Starlette's TestClient uses it). The work
is a coroutine that returns at once, or an async generator of `--items` integers, so only the
portal is measured:

* from the main thread (a plain script), alone;
* from the main thread while a second thread makes the same calls (per call: wall time / all calls);
* a call made after the loop sat idle for 50 ms (the shared portal's background thread drives it by
  then and hands it over);
* a sync call from a thread that runs another event loop (Jupyter).

An iteration through BlockingPortal, which has none of its own, is the same design as
`SharedPortal.iterate`: one task runs the generator into a one-item stream; the thread takes each
item with `portal.call(receive.receive)`. Rounds interleave the contenders; the table shows the best
and the median round.

Then the behaviours the project needs (DESIGN.md: sync twins that work from plain scripts and from
inside a running loop; docs/concepts.md: callbacks in the calling thread, Ctrl-C cancels the
request), probed on both: where the call's code runs, what Ctrl-C does to the call's work, and what
a sync call from inside the loop's own thread does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from typing import Protocol

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from mcpagents.portal import SharedPortal, shared_portal

IDLE_SECONDS = 0.05
IDLE_CALLS = 20


async def nothing() -> None:
    pass


async def numbers(count: int) -> AsyncIterator[int]:
    for number in range(count):
        yield number


class Contender(Protocol):
    def call_nothing(self) -> None: ...
    def iterate(self, count: int) -> Iterator[int]: ...


class Ours:
    def __init__(self, portal: SharedPortal) -> None:
        self.portal = portal

    def call_nothing(self) -> None:
        self.portal.call(nothing)

    def iterate(self, count: int) -> Iterator[int]:
        return self.portal.iterate(numbers, count)


class Anyio:
    def __init__(self, portal: BlockingPortal) -> None:
        self.portal = portal

    def call_nothing(self) -> None:
        self.portal.call(nothing)

    def iterate(self, count: int) -> Iterator[int]:
        send, receive = anyio.create_memory_object_stream[int](1)

        async def produce() -> None:
            async with send:
                async for number in numbers(count):
                    await send.send(number)

        self.portal.start_task_soon(produce)
        while True:
            try:
                yield self.portal.call(receive.receive)
            except anyio.EndOfStream:
                return


def calls(contender: Contender, count: int) -> None:
    for _ in range(count):
        contender.call_nothing()


def iteration(contender: Contender, count: int) -> None:
    assert sum(contender.iterate(count)) == count * (count - 1) // 2


def alone(work: Callable[[Contender, int], None], contender: Contender, count: int) -> float:
    started = time.perf_counter()
    work(contender, count)
    return (time.perf_counter() - started) / count


def beside_another_thread(work: Callable[[Contender, int], None], contender: Contender, count: int) -> float:
    """The main thread and a second one do the same work at once; seconds per call of either."""
    both = threading.Barrier(2)

    def run() -> None:
        both.wait()
        work(contender, count)

    other = threading.Thread(target=run)
    other.start()
    both.wait()
    started = time.perf_counter()
    work(contender, count)
    other.join()
    return (time.perf_counter() - started) / (2 * count)


def after_idle(contender: Contender) -> float:
    spent = 0.0
    for _ in range(IDLE_CALLS):
        time.sleep(IDLE_SECONDS)
        started = time.perf_counter()
        contender.call_nothing()
        spent += time.perf_counter() - started
    return spent / IDLE_CALLS


def from_another_loop(contender: Contender, count: int) -> float:
    async def main() -> float:
        started = time.perf_counter()
        calls(contender, count)  # a sync call blocking this thread's loop, as in a Jupyter cell
        return (time.perf_counter() - started) / count

    result: list[float] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(main())))
    thread.start()
    thread.join()
    return result[0]


def measure(
    options: argparse.Namespace, contenders: dict[str, Contender]
) -> dict[tuple[str, str], list[float]]:
    workloads: dict[str, Callable[[Contender], float]] = {
        f"call, {options.calls} calls from the main thread": lambda c: alone(calls, c, options.calls),
        f"call, {options.calls} calls from each of 2 threads at once": lambda c: beside_another_thread(
            calls, c, options.calls
        ),
        f"call after {IDLE_SECONDS * 1e3:.0f} ms idle, {IDLE_CALLS} calls": after_idle,
        f"call from a thread running another loop, {options.calls // 10} calls": lambda c: from_another_loop(
            c, options.calls // 10
        ),
        f"iterate {options.items} items, main thread": lambda c: alone(iteration, c, options.items),
        f"iterate {options.items} items in each of 2 threads at once": lambda c: beside_another_thread(
            iteration, c, options.items
        ),
    }
    for contender in contenders.values():  # warm-up
        calls(contender, 100)
        iteration(contender, 100)
    results: dict[tuple[str, str], list[float]] = {
        (workload, name): [] for workload in workloads for name in contenders
    }
    for _ in range(options.rounds):
        for workload, run in workloads.items():
            for name, contender in contenders.items():
                results[workload, name].append(run(contender))
    return results


# -- behaviours --------------------------------------------------------------------------------------


def runs_on(call: Callable[[Callable[[], object]], object]) -> str:
    async def thread_name() -> str:
        return threading.current_thread().name

    return f"the {'calling' if call(thread_name) == threading.current_thread().name else 'portal'} thread"


def ctrl_c(call: Callable[[Callable[[], object]], object]) -> str:
    """Ctrl-C (a real SIGINT) while the main thread waits for a call that never ends by itself."""
    started, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def press() -> None:
        started.wait()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press).start()
    try:
        call(forever)
    except KeyboardInterrupt:
        pass
    else:
        return "no KeyboardInterrupt"
    if cancelled.wait(1.0):
        return "KeyboardInterrupt; the call's work is cancelled"
    return "KeyboardInterrupt; the call's work keeps running"


def from_inside(call: Callable[[Callable[[], object]], object]) -> str:
    async def nested() -> str:
        try:
            call(nothing)
        except Exception as error:
            return f"{type(error).__name__}: {str(error)[:44]}..."
        return "runs"

    return str(call(nested))


def behaviours(calls_by_name: dict[str, Callable[[Callable[[], object]], object]]) -> list[tuple[str, ...]]:
    probes = {
        "the call's code (and callbacks) runs on": runs_on,
        "Ctrl-C during a call from the main thread": ctrl_c,
        "a sync call from inside the loop's thread": from_inside,
    }
    return [(label, *(probe(call) for call in calls_by_name.values())) for label, probe in probes.items()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()

    with ExitStack() as stack:
        blocking = stack.enter_context(start_blocking_portal())
        ours = shared_portal()
        contenders: dict[str, Contender] = {"SharedPortal": Ours(ours), "BlockingPortal": Anyio(blocking)}
        rounds = measure(options, contenders)
        found = behaviours({"SharedPortal": ours.call, "BlockingPortal": blocking.call})
        stack.callback(blocking.call, blocking.stop, True)  # what the Ctrl-C probe left running

    workloads = list(dict.fromkeys(workload for workload, _ in rounds))
    width = max(map(len, workloads)) + 2
    print(f"µs per call (per item for iterations), {options.rounds} interleaved rounds: best / median\n")
    print(f"{'':<{width}}{'SharedPortal':>17}  {'BlockingPortal':>17}  BlockingPortal / SharedPortal (best)")
    for workload in workloads:
        cells = []
        for name in contenders:
            values = rounds[workload, name]
            cells.append(f"{min(values) * 1e6:7.1f} / {statistics.median(values) * 1e6:7.1f}")
        ratio = min(rounds[workload, "BlockingPortal"]) / min(rounds[workload, "SharedPortal"])
        print(f"{workload:<{width}}{cells[0]:>17}  {cells[1]:>17}  {ratio:.1f}x")
    print("\nbehaviour")
    for label, *answers in found:
        print(f"  {label}")
        for name, answer in zip(contenders, answers, strict=True):
            print(f"    {name + ':':<16}{answer}")


if __name__ == "__main__":
    main()
