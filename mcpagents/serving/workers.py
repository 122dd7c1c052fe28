"""Several worker processes serving the same agents behind one port.

The parent binds the port, starts the workers (each builds its own agents with the factory it is
given and opens their tool servers) and announces the URL once every worker is ready. A worker that
dies is replaced. On SIGINT or SIGTERM each worker shuts down as a single server does: it stops
accepting connections and gives its runs in flight the grace period.

The HTTP app is stateless, so any worker can answer any request; what a worker keeps in memory
(conversations) stays in that worker.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import TYPE_CHECKING

import anyio

from mcpagents.errors import ConfigError, MCPAgentsError, WorkerFailed
from mcpagents.serving.serve import (
    announce,
    consoles_to_stderr,
    guarded,
    listen_or_explain,
    serve_http_on,
)
from mcpagents.serving.settings import ServerSettings

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent

AgentFactory = Callable[[], Sequence["MultiStepAgent"]]
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def serve_workers(
    build_agents: AgentFactory,
    *,
    workers: int,
    settings: ServerSettings | None = None,
) -> None:
    """Serve the agents `build_agents()` returns over HTTP from `workers` processes on the settings'
    host and port, until SIGINT or SIGTERM.

    Each worker calls `build_agents` itself, so it must be importable by name (a module-level
    function, or a `functools.partial` of one, such as `partial(load_agents, ["helper.yaml"])`):
    agent objects, holding connections and models, do not cross processes. Otherwise as
    `serve(..., transport="http")`.

    Raises `WorkerFailed` with a worker's error when one cannot start; on SIGINT `KeyboardInterrupt`
    once the workers have stopped; on SIGTERM ends this process by that signal, as a single server does.
    """
    if workers < 2:
        raise ConfigError(f"serve_workers runs two or more workers, not {workers}: use serve()")
    try:
        pickle.dumps(build_agents)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ConfigError(
            f"serve_workers sends build_agents to each worker, so it must be importable by name"
            f" (a module-level function, or a functools.partial of one): {error}"
        ) from error
    settings = guarded(settings or ServerSettings())
    settings.check_workers(workers)
    listener, base = listen_or_explain(settings.host, settings.port)
    supervisor = _Supervisor(_WorkerPlan(build_agents, settings, workers), listener)
    with listener, _handled_by(supervisor.on_signal):
        received = supervisor.run(
            on_ready=lambda names, pids: announce(names, base, "http", f" (workers {pids})")
        )
    if received == signal.SIGINT:
        raise KeyboardInterrupt
    if received == signal.SIGTERM:
        signal.raise_signal(signal.SIGTERM)  # the handlers are restored: the default one ends the process


@dataclass(frozen=True)
class _WorkerPlan:
    """What a worker is sent: how to build its agents and how to serve them."""

    build_agents: AgentFactory
    settings: ServerSettings
    workers: int


@dataclass
class _Worker:
    process: BaseProcess
    messages: Connection
    names: list[str] = field(default_factory=list)
    """The agents it serves, once it is ready."""


class _Supervisor:
    def __init__(self, plan: _WorkerPlan, listener: socket.socket) -> None:
        self.plan = plan
        self.listener = listener
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._received: int | None = None

    def on_signal(self, number: int, frame: FrameType | None) -> None:
        if self._received is None:
            self._received = number
        self._wake_writer.send(b"!")

    def run(self, on_ready: Callable[[list[str], str], None]) -> int | None:
        """Start the workers, replace those that die, and stop them all at a signal, which is returned.
        `on_ready` gets the agents' names and the workers' pids once all are ready."""
        self.workers = [self._start() for _ in range(self.plan.workers)]
        announced = False
        try:
            while self._received is None:
                self._wait_for_news()
                if not announced and all(worker.names for worker in self.workers):
                    on_ready(
                        self.workers[0].names, ", ".join(str(worker.process.pid) for worker in self.workers)
                    )
                    announced = True
        finally:
            self._stop_all()
        return self._received

    def _start(self) -> _Worker:
        receiving, sending = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=_worker_main, args=(self.plan, self.listener, sending), name="mcpagents-worker"
        )
        process.start()
        sending.close()
        return _Worker(process, receiving)

    def _wait_for_news(self) -> None:
        starting = [worker.messages for worker in self.workers if not worker.names]
        ready = wait([*starting, *(worker.process.sentinel for worker in self.workers), self._wake_reader])
        if self._wake_reader in ready:
            self._wake_reader.recv(64)
        for worker in list(self.workers):
            if worker.messages in ready and not worker.names:
                self._read_message(worker)
            if worker.process.sentinel in ready and self._received is None:
                self._replace(worker)

    def _read_message(self, worker: _Worker) -> None:
        try:
            ready, message = worker.messages.recv()
        except EOFError:
            return  # it died before saying anything: its sentinel says so too
        if not ready:
            raise WorkerFailed(f"a worker could not start: {message}")
        worker.names = message

    def _replace(self, worker: _Worker) -> None:
        worker.process.join()
        code = worker.process.exitcode
        if not worker.names:
            raise WorkerFailed(f"a worker exited while starting ({_how(code)})")
        index = self.workers.index(worker)
        self.workers[index] = self._start()
        print(
            f"mcpagents: worker {worker.process.pid} {_how(code)}; started worker"
            f" {self.workers[index].process.pid}",
            file=sys.stderr,
            flush=True,
        )

    def _stop_all(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive() and worker.process.pid is not None:
                os.kill(worker.process.pid, signal.SIGTERM)
        for worker in self.workers:
            worker.process.join(self.plan.settings.grace + 10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.messages.close()
        self._wake_reader.close()
        self._wake_writer.close()


@contextmanager
def _handled_by(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """SIGINT and SIGTERM go to `handler` inside the block, as before after it."""
    before = {number: signal.signal(number, handler) for number in _STOP_SIGNALS}
    try:
        yield
    finally:
        for number, previous in before.items():
            signal.signal(number, previous)


def _how(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        return f"was killed by {signal.Signals(-exit_code).name}"
    return f"exited with status {exit_code}"


def _worker_main(plan: _WorkerPlan, listener: socket.socket, messages: Connection) -> None:
    """A worker process: build the agents, serve them on the inherited socket until told to stop.
    It tells the parent `(True, names)` once it listens, or `(False, why)` if it cannot start."""
    _stop_with_parent()
    try:
        anyio.run(_serve_worker, plan, listener, messages)
    except KeyboardInterrupt:
        pass  # Ctrl-C reached the whole process group: the parent reports it
    except (MCPAgentsError, OSError) as error:
        messages.send(
            (False, str(error) if isinstance(error, MCPAgentsError) else f"{type(error).__name__}: {error}")
        )
        sys.exit(1)


async def _serve_worker(plan: _WorkerPlan, listener: socket.socket, messages: Connection) -> None:
    agents = list(plan.build_agents())
    consoles_to_stderr(agents)
    names = [agent.name or "" for agent in agents]
    await serve_http_on(
        listener,
        agents,
        plan.settings,
        on_ready=lambda: messages.send((True, names)),
        workers=plan.workers,
    )


def _stop_with_parent() -> None:
    """Shut down gracefully when the parent goes away without stopping this worker (killed)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="mcpagents-parent-watch", daemon=True).start()
