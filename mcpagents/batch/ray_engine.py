"""The `ray` engine of a batch: Ray actors, each holding one agent whose MCP connections it opens once
and shares between the tasks it runs at once; the results come back in the order they finish.

Ray is imported only here, when a batch asks for it (extra `mcpagents[ray]`). Ray started here is
local, quiet and offline: no dashboard, no usage statistics, no runtime environment to fetch; its
workers run this interpreter, so they see the same packages.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from mcpagents.batch.results import Record, crashed_result, failure_of, run_task, task_record
from mcpagents.batch.tasks import BatchTask
from mcpagents.errors import AgentError, ConfigError, MCPServerError

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent

WAIT_SECONDS = 0.5
"""How long one `ray.wait` blocks at most: a cancelled batch (Ctrl-C) stops within it."""
CONNECT_SECONDS = 5.0
"""How long joining a cluster (`address`) may take to reach its GCS port."""
CLOSE_SECONDS = 10.0
"""How long the workers may take to close their agents (stop their servers) before they are killed."""
MAX_RESTARTS = 3
"""A worker that dies (its process killed, out of memory) is started again this many times; the
tasks it was running are recorded as crashed."""


class BatchWorker:
    """A Ray actor's body: one agent, built once, its servers opened once, running several tasks at
    once (an async actor: its methods share one event loop)."""

    def __init__(self, factory: Callable[[], MultiStepAgent]) -> None:
        self.agent = factory()

    async def open(self) -> dict[str, Any] | None:
        """Start the agent's servers; what went wrong, as data (some errors do not pickle)."""
        try:
            await self.agent.aopen()
        except Exception as error:
            return {
                "type": type(error).__name__,
                "message": str(error),
                "server": getattr(error, "server", None),
            }
        return None

    async def run(self, task: BatchTask) -> Record:

        return await run_task(self.agent, task)

    async def close(self) -> None:
        await self.agent.aclose()


async def run_on_ray(
    factory: Callable[[], MultiStepAgent],
    todo: list[BatchTask],
    concurrency: int,
    finished: Callable[[Record], None],
    *,
    address: str | None,
    workers: int | None,
) -> None:
    ray = import_ray()
    started_here = connect(ray, address)
    actors: list[Any] = []
    try:
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        count = workers or max(1, min(concurrency, int(cpus)))
        per_actor = math.ceil(concurrency / count)
        # One CPU each (so a cluster spreads them), less when more workers than CPUs are asked for.
        worker_class = ray.remote(BatchWorker).options(
            num_cpus=min(1.0, cpus / count),
            max_concurrency=per_actor + 1,
            max_restarts=MAX_RESTARTS,
        )
        actors = [worker_class.remote(factory) for _ in range(count)]
        await _open(ray, actors)
        await _stream(ray, actors, todo, concurrency, finished)
        with anyio.move_on_after(CLOSE_SECONDS, shield=True):
            await _all(ray, [actor.close.remote() for actor in actors])
    finally:
        for actor in actors:  # (after `close`, or at once when the batch was interrupted)
            ray.kill(actor)
        if started_here:
            ray.shutdown()


def import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise ConfigError(
            "the ray engine needs Ray: pip install 'mcpagents[ray]' (or use --engine local)"
        ) from error
    return ray


def connect(ray: Any, address: str | None) -> bool:
    """Join the cluster at `address`, or the Ray already running in this process, or start a local
    one; whether it was started here (and is to be shut down here)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # it would report to the internet
    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {
        "logging_level": logging.ERROR,
        "log_to_driver": False,
        "configure_logging": True,
    }
    if address is not None:
        _check_reachable(address)
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise ConfigError(f"cannot join the Ray cluster at {address}: {error}") from error
        return True
    ray.init(include_dashboard=False, **quiet)
    return True


def _check_reachable(address: str) -> None:
    """A `HOST:PORT` that nothing answers at fails now (Ray itself would retry for minutes)."""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit() or "://" in address:
        return  # "auto", "ray://...": Ray's own
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        raise ConfigError(
            f"cannot join the Ray cluster at {address}: {error.strerror or error} (is `ray start --head`"
            " running there?)"
        ) from error


async def _open(ray: Any, actors: list[Any]) -> None:
    """Every worker builds its agent and starts its servers before any task is sent."""
    try:
        problems = await _all(ray, [actor.open.remote() for actor in actors])
    except ray.exceptions.RayError as error:  # the factory raised: the actor could not start
        raise AgentError(f"a Ray worker could not build the agent: {error}") from error
    for problem in problems:
        if problem is None:
            continue
        message = f"a Ray worker could not start the agent's servers: {problem['message']}"
        if problem["type"] == "MCPServerError":
            raise MCPServerError(message, server=str(problem["server"]))
        if problem["type"] == "ConfigError":
            raise ConfigError(message)
        raise AgentError(f"{message} ({problem['type']})")


async def _stream(
    ray: Any,
    actors: list[Any],
    todo: list[BatchTask],
    concurrency: int,
    finished: Callable[[Record], None],
) -> None:
    """At most `concurrency` tasks in flight, each sent to the least busy worker; each line written
    as its result arrives (`ray.wait`)."""
    pending: dict[Any, tuple[int, BatchTask]] = {}
    load = [0] * len(actors)
    queue = iter(todo)

    def submit() -> None:
        while len(pending) < concurrency and (task := next(queue, None)) is not None:
            index = min(range(len(actors)), key=load.__getitem__)
            pending[actors[index].run.remote(task)] = (index, task)
            load[index] += 1

    submit()
    while pending:
        for ref in await _in_thread(partial(_ready, ray, list(pending))):
            index, task = pending.pop(ref)
            load[index] -= 1
            finished(_record(ray, ref, task))
        submit()


async def _all(ray: Any, refs: list[Any]) -> list[Any]:
    """The results of `refs`, waited for WAIT_SECONDS at a time (so that Ctrl-C is not held up)."""
    remaining = refs
    while remaining:
        _, remaining = await _in_thread(
            partial(ray.wait, remaining, num_returns=len(remaining), timeout=WAIT_SECONDS)
        )
    return list(ray.get(refs))


def _ready(ray: Any, refs: list[Any]) -> list[Any]:
    """The results that are ready: waits for one (up to WAIT_SECONDS), then takes all the others
    that are ready too."""
    ready, rest = ray.wait(refs, num_returns=1, timeout=WAIT_SECONDS)
    if ready and rest:
        more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
        ready += more
    return list(ready)


def _record(ray: Any, ref: Any, task: BatchTask) -> Record:
    try:
        record: Record = ray.get(ref)
    except ray.exceptions.RayError as error:  # the worker died under the task (or Ray failed it)
        return task_record(task, crashed_result(error, [], time.time()), failure_of("error", error))
    return record


async def _in_thread(function: Callable[[], Any]) -> Any:
    """Ray's blocking waits, off the event loop (each returns within WAIT_SECONDS)."""
    return await anyio.to_thread.run_sync(function)
