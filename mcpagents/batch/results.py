"""The results of a batch: one JSON line per finished task, appended whole as each task ends; and the
summary of a batch."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import anyio

from mcpagents.batch.tasks import BatchTask, id_key, jsonable
from mcpagents.connections.interaction import Interaction
from mcpagents.errors import ConfigError

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent
    from mcpagents.agents.memory import Step
    from mcpagents.agents.results import RunResult
    from mcpagents.batch.grading import Grader

Record = dict[str, Any]
"""One line of the results: `id`, `task`, the run (`output`, `state`, `error`, `steps`,
`token_usage`, `timing`: `RunResult.from_dict(record)` reads it back), `failure`, and `expected`
and `correct` when the task has an expected answer."""


def failure_of(state: str, crash: BaseException | None = None) -> str | None:
    """Why a task failed, as the summary counts it: None for a success, the state of a run that ran
    out of steps or budget (`max_steps_reached`, `max_time_reached`, ...), `run_error` (the run ended
    in state error: the model could not answer), or `crash:TYPE` (the run raised: a server that could
    not be reached, a bug)."""
    if crash is not None:
        return f"crash:{type(crash).__name__}"
    return {"success": None, "error": "run_error"}.get(state, state)


def task_record(task: BatchTask, result: RunResult, failure: str | None) -> Record:
    """The results line of a finished task (plain JSON data, so that it travels between processes)."""
    run = result.to_dict()
    del run["messages"]  # the steps say it all; the messages would repeat the system prompt per task
    run["output"] = jsonable(result.output)
    record: Record = {"id": task.id, "task": task.task, **run, "failure": failure}
    if task.has_expected:
        record["expected"] = task.expected  # and `correct`, added by the batch's grader (`graded`)
    return record


def graded(record: Record, grader: Grader) -> Record:
    """The record with `correct` when it has an `expected` answer: a run that failed is not."""
    if "expected" in record:
        record["correct"] = record["state"] != "error" and grader(record["output"], record["expected"])
    return record


def crashed_result(error: BaseException, steps: Sequence[Step], started: float) -> RunResult:
    """A `RunResult` for a run that raised: state error, the exception as its error, the steps it
    had recorded."""
    from mcpagents.agents.memory import ActionStep, PlanningStep
    from mcpagents.agents.results import RunResult, Timing
    from mcpagents.models.messages import TokenUsage

    timed = [step for step in steps if isinstance(step, ActionStep | PlanningStep)]
    return RunResult(
        output=None,
        state="error",
        steps=list(steps),
        token_usage=sum((step.usage for step in timed), TokenUsage()),
        timing=Timing(started, time.time(), tuple(step.duration for step in timed)),
        error=f"{type(error).__name__}: {error}",
    )


class Outcome(NamedTuple):
    """What the summary needs of one results line."""

    succeeded: bool
    failure: str | None
    input_tokens: int
    output_tokens: int
    correct: bool | None

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Outcome:
        usage = record.get("token_usage") or {}
        correct = record.get("correct")
        return cls(
            record.get("state") == "success",
            record.get("failure"),
            int(usage.get("input_tokens") or 0),
            int(usage.get("output_tokens") or 0),
            correct if isinstance(correct, bool) else None,
        )


class ResultsFile:
    """The results JSONL file. Each record goes in as one whole line, written by a single `write` to
    a file opened for appending, as its task ends: an interrupted batch leaves only whole lines
    (short of a crash of the machine, which may tear the last one: `resume` drops a torn last line).

    Without `resume` the file must be new or empty; with it, the lines already there are read
    (`previous`, by id) so that their tasks are skipped.
    """

    def __init__(self, path: str | os.PathLike[str], *, resume: bool) -> None:
        self.path = Path(path)
        self.previous: dict[str, Outcome] = {}
        self.dropped_bytes = 0
        """The size of a torn last line that `resume` removed."""
        if resume:
            self._read_previous()
        elif self.path.exists() and self.path.stat().st_size > 0:
            raise ConfigError(
                f"{self.path} already holds results: pass --resume (resume=True) to run only the tasks"
                " it has no line for, or choose another output file"
            )
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            raise ConfigError(f"{self.path}: cannot write the results: {error.strerror}") from error

    def _read_previous(self) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as error:
            raise ConfigError(f"{self.path}: cannot read the results: {error.strerror}") from error
        whole = data.rfind(b"\n") + 1
        if whole < len(data):  # the last line has no newline: a write that was cut short
            os.truncate(self.path, whole)
            self.dropped_bytes = len(data) - whole
        for number, line in enumerate(data[:whole].split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise ConfigError(f"{self.path}:{number}: not a results line (not valid JSON)") from error
            if not isinstance(record, dict) or "id" not in record:
                raise ConfigError(f"{self.path}:{number}: not a results line of a batch (no id)")
            self.previous.setdefault(id_key(record["id"]), Outcome.of(record))

    def append(self, record: Record) -> None:
        data = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode()
        while data:  # one write unless the disk is full
            written = os.write(self._fd, data)
            data = data[written:]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did. The counts cover every task of the input that has a line in `out` (those
    of earlier, resumed runs included); `ran` and `elapsed` are this run's."""

    out: Path
    total: int
    """Tasks in the input."""
    skipped: int
    """Tasks that already had a line in `out` (resume)."""
    ran: int
    """Tasks run (and written) now."""
    succeeded: int
    failures: Mapping[str, int]
    """Failed tasks by reason (`failure_of`)."""
    graded: int
    """Tasks with an expected answer."""
    correct: int
    input_tokens: int
    output_tokens: int
    elapsed: float
    """Seconds this run took, starting the agent (or the Ray workers) included."""

    @classmethod
    def of(
        cls, out: Path, total: int, skipped: int, outcomes: Sequence[Outcome], elapsed: float
    ) -> BatchSummary:
        graded = [o.correct for o in outcomes if o.correct is not None]
        return cls(
            out=out,
            total=total,
            skipped=skipped,
            ran=len(outcomes) - skipped,
            succeeded=sum(o.succeeded for o in outcomes),
            failures=dict(Counter(o.failure for o in outcomes if o.failure).most_common()),
            graded=len(graded),
            correct=sum(graded),
            input_tokens=sum(o.input_tokens for o in outcomes),
            output_tokens=sum(o.output_tokens for o in outcomes),
            elapsed=elapsed,
        )

    @property
    def finished(self) -> int:
        """Tasks of the input with a line in `out`."""
        return self.skipped + self.ran

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.finished if self.finished else 0.0

    @property
    def accuracy(self) -> float | None:
        """Correct answers among the tasks with an expected answer (None without any)."""
        return self.correct / self.graded if self.graded else None

    @property
    def rate(self) -> float:
        """Tasks per second in this run."""
        return self.ran / self.elapsed if self.elapsed > 0 else 0.0

    def lines(self) -> list[str]:
        """The summary as text, for a terminal or a log."""
        failed = self.finished - self.succeeded
        lines = [
            f"{self.finished} of {self.total} tasks done: {self.succeeded} succeeded"
            f" ({self.success_rate:.1%}), {failed} failed"
        ]
        if self.failures:
            reasons = ", ".join(f"{reason} {count}" for reason, count in self.failures.items())
            lines.append(f"failures: {reasons}")
        if self.accuracy is not None:
            lines.append(
                f"accuracy: {self.correct} of {self.graded} correct ({self.accuracy:.1%})"
                " among the tasks with an expected answer"
            )
        lines.append(f"tokens: {self.input_tokens:,} input, {self.output_tokens:,} output")
        skipped = f"; {self.skipped} skipped, already in {self.out}" if self.skipped else ""
        lines.append(
            f"time: {self.elapsed:.1f} s for {self.ran} tasks run now ({self.rate:.1f} tasks/s){skipped}"
        )
        lines.append(f"results: {self.out}")
        return lines


_NOBODY_TO_ASK = Interaction(decline_reason="a batch run has nobody to ask")


async def run_task(agent: MultiStepAgent, task: BatchTask) -> Record:
    """Run one task in a new conversation of `agent`; its results line, also when the run raised."""
    from mcpagents.agents.conversation import Conversation

    conversation = Conversation()
    started = time.time()
    try:
        result = await agent.arun(
            task.task, conversation=conversation, return_full_result=True, interaction=_NOBODY_TO_ASK
        )
        failure = failure_of(result.state)
    except Exception as error:
        cause = _leaf(error)
        result = crashed_result(cause, conversation.memory.steps, started)
        failure = failure_of(result.state, cause)
    finally:
        with anyio.CancelScope(shield=True):
            await conversation.aclose()  # a CodeAgent's worker, kept for a run that would continue it
    return task_record(task, result, failure)


def _leaf(error: BaseException) -> BaseException:
    """The one exception inside nested single-exception groups (task groups wrap what they raise)."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error
