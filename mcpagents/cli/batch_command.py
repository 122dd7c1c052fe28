"""`mcpagents batch`: run an agent on every task of a JSONL file, concurrently, and write the results."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from mcpagents.batch.engine import DEFAULT_CONCURRENCY
from mcpagents.batch.grading import DEFAULT_GRADE, GRADES
from mcpagents.cli.argument_types import positive_int
from mcpagents.cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_TOOL_ERROR

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from mcpagents.batch import Record


_EXAMPLES = """\
Each line of TASKS is a JSON string (the task) or {"task": ..., "id": ..., "expected": ...}; ids
default to the line number. Each finished task appends one JSON line to --out, in the order they
finish: id, task, output, state, error, failure, steps, token_usage, timing (and expected, correct).
--grade says when an output is the expected answer: normalized (default) compares text with case,
runs of whitespace and trailing punctuation aside, and a numeric expected answer with the output's
first number ("36 (3 x 12)" is 36); exact: the text equal (case and surrounding whitespace aside),
other values equal as JSON; contains: the expected text in the output, as whole words; regex: the
expected value is a regular expression searched for in the output. A task whose run fails or raises
is recorded, and the batch goes on.

Exit codes: 0 every task has its line (failed runs included: see the summary and the `failure` of
each line), 1 the Ray workers could not build the agent, 2 a bad spec, task file or usage (or --out
already holds results without --resume), 3 the agent's servers could not start, 130 interrupted
(the lines written stay: rerun with --resume).

Examples:
  mcpagents batch agent.yaml tasks.jsonl --out results.jsonl --concurrency 16
  mcpagents batch agent.yaml tasks.jsonl --out results.jsonl --resume
  mcpagents batch agent.yaml tasks.jsonl --out results.jsonl --engine ray --address 10.0.0.5:6379
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    batch = commands.add_parser(
        "batch",
        help="run an agent on every task of a JSONL file and write the results",
        description="Run the agent of SPEC on every task of TASKS, at most --concurrency at once, each in a "
        "conversation of its own, over MCP connections opened once; append one JSON line per finished "
        "task to --out.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("spec", metavar="SPEC", help="an agent spec file (.yaml or .yml)")
    batch.add_argument("tasks", metavar="TASKS", help="a JSONL file of tasks")
    batch.add_argument("--out", required=True, metavar="RESULTS", help="the JSONL file of results")
    batch.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: in this process (default); ray: on Ray workers (pip install 'mcpagents[ray]')",
    )
    batch.add_argument(
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"tasks at once (default {DEFAULT_CONCURRENCY})",
    )
    batch.add_argument("--resume", action="store_true", help="skip the tasks whose id is already in --out")
    batch.add_argument(
        "--address", help="ray: the cluster to join (default: start a local Ray, or 'auto' for a running one)"
    )
    batch.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="ray: the workers (actors), each with its own agent and servers (default: one per CPU,"
        " at most --concurrency)",
    )
    batch.add_argument("--model", help="use this model instead of the spec's (e.g. openai/gpt-5-mini)")
    batch.add_argument(
        "--grade",
        choices=GRADES,
        default=DEFAULT_GRADE,
        help=f"how an output is compared with the expected answer (default {DEFAULT_GRADE}; see below)",
    )
    batch.set_defaults(run=_run)


def _run(options: argparse.Namespace) -> int:
    from dataclasses import replace

    from rich.console import Console

    from mcpagents.batch import run_batch
    from mcpagents.errors import AgentError, ConfigError
    from mcpagents.spec import load_spec

    if options.engine != "ray":
        given = [name for name in ("address", "workers") if getattr(options, name) is not None]
        if given:
            raise ConfigError(f"--{given[0]} is an option of --engine ray")
    spec = load_spec(options.spec)
    if options.model:
        spec = replace(spec, model=options.model, model_options={})
    progress = _Progress(Console(stderr=True), options.out)
    try:
        summary = run_batch(
            spec,
            options.tasks,
            options.out,
            engine=options.engine,
            concurrency=options.concurrency,
            resume=options.resume,
            address=options.address,
            workers=options.workers,
            progress=progress,
            grade=options.grade,
        )
    except KeyboardInterrupt:
        progress.stop()
        left = progress.total - progress.done
        print(
            f"mcpagents: interrupted: {progress.done} of {progress.total} tasks have their line in"
            f" {options.out}; run the same command with --resume to run the other {left}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except AgentError as error:
        progress.stop()
        print(f"mcpagents: {error}", file=sys.stderr)
        return EXIT_TOOL_ERROR
    finally:
        progress.stop()
    print("\n".join(summary.lines()))
    return EXIT_OK if summary.finished == summary.total else EXIT_TOOL_ERROR


class _Progress:
    """A progress bar with rate and ETA on a terminal; otherwise one line per finished task."""

    def __init__(self, console: Console, out: str) -> None:
        self.console = console
        self.out = out
        self.total = self.done = self.failed = 0
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def started(self, total: int, done: int, dropped_bytes: int) -> None:
        self.total, self.done = total, done
        if dropped_bytes:
            self._say(
                f"mcpagents: dropped the torn last line of {self.out} ({dropped_bytes} bytes of an"
                " interrupted write); its task runs again"
            )
        already = f", {done} already in {self.out}" if done else ""
        if not self.console.is_terminal:
            self._say(f"mcpagents: {total} tasks{already}; running {total - done}")
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[failed]}"),
            console=self.console,
            transient=False,
        )
        self._task = self._bar.add_task("batch", total=total, completed=done, rate="", failed="")
        self._bar.start()

    def finished(self, record: Record) -> None:
        self.done += 1
        failure = record.get("failure")
        self.failed += failure is not None
        if self._bar is not None and self._task is not None:
            speed = self._bar.tasks[0].speed
            self._bar.update(
                self._task,
                advance=1,
                rate=f"{speed:.1f} tasks/s" if speed else "",
                failed=f"[red]{self.failed} failed" if self.failed else "",
            )
            return
        seconds = _duration(record)
        line = f"[{self.done}/{self.total}] id {record.get('id')}: {record.get('state')} {seconds:.2f} s"
        if failure is not None:
            error = str(record.get("error") or "").splitlines()
            line += f" ({failure}{': ' + error[0][:120] if error else ''})"
        self._say(line)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


def _duration(record: Record) -> float:
    timing: Any = record.get("timing") or {}
    try:
        return float(timing["end"]) - float(timing["start"])
    except (KeyError, TypeError, ValueError):
        return 0.0
