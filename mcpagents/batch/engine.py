"""Running a batch: many tasks, each in its own conversation of one agent whose MCP connections are
opened once; at most `concurrency` at once, in this process (`local`) or on Ray workers (`ray`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias, TypedDict, Unpack

import anyio

from mcpagents.batch.grading import DEFAULT_GRADE, Grade, Grader, grader_of
from mcpagents.batch.results import (
    BatchSummary,
    Outcome,
    Record,
    ResultsFile,
    graded,
    run_task,
)
from mcpagents.batch.tasks import BatchTask, TasksArgument, id_key, read_tasks
from mcpagents.errors import ConfigError

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent
    from mcpagents.spec import AgentSpec

Engine = Literal["local", "ray"]
AgentFactory: TypeAlias = Callable[[], "MultiStepAgent"]
AgentSource: TypeAlias = "str | os.PathLike[str] | AgentSpec | MultiStepAgent | AgentFactory"
"""An agent spec file (or a loaded `AgentSpec`), a function that builds the agent, or (local engine
only) the agent itself."""

DEFAULT_CONCURRENCY = 8


class BatchProgress(Protocol):
    """Told how a batch goes (the CLI's progress bar)."""

    def started(self, total: int, done: int, dropped_bytes: int) -> None:
        """`total` tasks in the input, `done` of them already in the results (resume), which lost a
        torn last line of `dropped_bytes` (0: none)."""

    def finished(self, record: Record) -> None:
        """A task's line was written."""


@dataclass(frozen=True)
class SpecAgent:
    """Builds the agent of a spec, silent (a batch shows its progress, not each run's steps). A
    plain picklable callable, so that Ray workers get it."""

    spec: AgentSpec

    def __call__(self) -> MultiStepAgent:
        return self.spec.build(verbosity_level=0)


class BatchOptions(TypedDict, total=False):
    """How a batch runs (`run_batch`, `arun_batch`); see `arun_batch`."""

    engine: Engine
    concurrency: int
    resume: bool
    address: str | None
    workers: int | None
    progress: BatchProgress | None
    grade: Grade | Grader


async def arun_batch(
    agent: AgentSource,
    tasks: TasksArgument,
    out: str | os.PathLike[str],
    *,
    engine: Engine = "local",
    concurrency: int = DEFAULT_CONCURRENCY,
    resume: bool = False,
    address: str | None = None,
    workers: int | None = None,
    progress: BatchProgress | None = None,
    grade: Grade | Grader = DEFAULT_GRADE,
) -> BatchSummary:
    """Run every task of `tasks` (a JSONL file, see `read_tasks`) and append one JSON line per
    finished task to `out`, in the order they finish; return the summary.

    `agent` is a spec file, an `AgentSpec`, a function that builds the agent, or (local engine) an
    agent. Each task runs in a `Conversation` of its own; a task that raises is recorded with its
    error (`failure` `crash:TYPE`) and the batch goes on. `resume=True` skips the tasks whose id
    already has a line in `out` (dropping a torn last line); otherwise `out` must be new or empty.

    `engine="local"`: one agent in this process, its MCP connections shared by the tasks, at most
    `concurrency` running at once. `engine="ray"` (extra `mcpagents[ray]`): `workers` Ray actors
    (default: one per CPU of the cluster, at most `concurrency`), each holding one agent whose
    connections it opens once, share the `concurrency`; Ray is started here unless it already runs
    in this process or `address` names a cluster to join.

    `grade` says when an answer is the task's `expected` one (`correct` in its line): `"normalized"`
    (case, whitespace, trailing punctuation aside; numbers as numbers), `"exact"`, `"contains"`,
    `"regex"` (see `mcpagents.batch.grading`), or a function `(answer, expected) -> bool` given the
    answer as JSON data.

    Raises `ConfigError` for a bad task file, spec or option before any task runs, and
    `MCPServerError` when the agent's servers cannot start.
    """
    started = time.perf_counter()
    if concurrency < 1:
        raise ConfigError(f"concurrency: expected a positive integer, got {concurrency!r}")
    if engine not in ("local", "ray"):
        raise ConfigError(f"engine: expected local or ray, got {engine!r}")
    if engine == "local" and (address is not None or workers is not None):
        raise ConfigError("address and workers are options of the ray engine (engine='ray', --engine ray)")
    if workers is not None and workers < 1:
        raise ConfigError(f"workers: expected a positive integer, got {workers!r}")
    grader = grader_of(grade)
    items = read_tasks(tasks)
    source = _source(agent, engine)
    results = ResultsFile(out, resume=resume)
    try:
        wanted = {id_key(task.id) for task in items}
        outcomes = [outcome for key, outcome in results.previous.items() if key in wanted]
        skipped = len(outcomes)
        todo = [task for task in items if id_key(task.id) not in results.previous]
        if progress is not None:
            progress.started(len(items), skipped, results.dropped_bytes)

        def finished(record: Record) -> None:
            record = graded(record, grader)
            results.append(record)
            outcomes.append(Outcome.of(record))
            if progress is not None:
                progress.finished(record)

        if todo and engine == "local":
            await _run_local(source, todo, concurrency, finished)
        elif todo:
            from mcpagents.agents.base import MultiStepAgent
            from mcpagents.batch.ray_engine import run_on_ray

            assert not isinstance(source, MultiStepAgent), "_source refuses agent objects on ray"
            await run_on_ray(source, todo, concurrency, finished, address=address, workers=workers)
    finally:
        results.close()
    return BatchSummary.of(Path(out), len(items), skipped, outcomes, time.perf_counter() - started)


def run_batch(
    agent: AgentSource, tasks: TasksArgument, out: str | os.PathLike[str], **options: Unpack[BatchOptions]
) -> BatchSummary:
    """The sync twin of `arun_batch` (from plain scripts, and from inside a running loop). Ctrl-C
    stops the batch; the lines written so far stay, and `resume=True` runs the rest."""
    from mcpagents.portal import shared_portal

    return shared_portal().call(arun_batch, agent, tasks, out, **options)


def _source(agent: AgentSource, engine: Engine) -> MultiStepAgent | AgentFactory:
    """The agent, or a function that builds it; spec files are read (and checked) now."""
    from mcpagents.agents.base import MultiStepAgent
    from mcpagents.spec import AgentSpec, load_spec

    if isinstance(agent, str | os.PathLike):
        agent = load_spec(agent)
    if isinstance(agent, AgentSpec):
        return SpecAgent(agent)
    if isinstance(agent, MultiStepAgent):
        if engine == "ray":
            raise ConfigError(
                "the ray engine builds one agent in each worker: pass a spec file or a function that"
                " builds the agent, not an agent"
            )
        return agent
    if not callable(agent):
        raise ConfigError(f"agent: expected a spec file, an AgentSpec, an agent or a function, got {agent!r}")
    return agent


async def _run_local(
    source: MultiStepAgent | AgentFactory,
    todo: list[BatchTask],
    concurrency: int,
    finished: Callable[[Record], None],
) -> None:
    from mcpagents.agents.base import MultiStepAgent

    agent = source if isinstance(source, MultiStepAgent) else source()
    try:
        await agent.aopen()  # every server starts once, before the first task (or fails the batch)
        slots = anyio.Semaphore(concurrency)

        async def one(task: BatchTask) -> None:
            try:
                record = await run_task(agent, task)
            finally:
                slots.release()
            finished(record)

        async with anyio.create_task_group() as group:
            for task in todo:
                await slots.acquire()  # tasks start as slots free up: memory stays flat for any batch
                group.start_soon(one, task)
    finally:
        if agent is not source:
            with anyio.CancelScope(shield=True):
                await agent.aclose()
