"""`mcpagents runs`: the runs this machine logged (its own, and those of agents hosts started), and
one run's steps and calls with their timings, read from the run logs."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcpagents.cli.exit_codes import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from mcpagents.tracing.run_log import RunRecord, RunSummary

_EXAMPLES = """\
Runs are logged under $MCPAGENTS_RUN_DIR, else $XDG_STATE_HOME/mcpagents/runs (~/.local/state/...);
MCPAGENTS_RUN_LOG=off stops logging.

Examples:
  mcpagents runs                   the latest runs, newest first
  mcpagents runs show 3f2a9c       one run (an id, or the start of one): steps, calls, timings
  mcpagents runs --trace 8e1d...   the runs of one trace: an agent and the agents it called
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    runs = commands.add_parser(
        "runs",
        help="list logged runs, or show one run's steps and timings",
        description="List the runs logged on this machine (newest first), or show one of them.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    runs.add_argument("show", nargs="?", choices=["show"], help=argparse.SUPPRESS)
    runs.add_argument("run_id", nargs="?", metavar="RUN", help="with `show`: the run's id (or its start)")
    runs.add_argument("--limit", type=int, default=20, help="list at most this many runs (default 20)")
    runs.add_argument("--trace", metavar="TRACE_ID", help="list only the runs of this trace")
    runs.add_argument("--json", action="store_true", help="print JSON (the run log's records, for `show`)")
    runs.add_argument("--dir", type=Path, help="the run log folder (default: see below)")
    runs.set_defaults(run=_runs)


def _runs(options: argparse.Namespace) -> int:
    from mcpagents.tracing.run_log import list_runs, read_run

    if options.show:
        if not options.run_id:
            print(
                "mcpagents: which run? mcpagents runs show RUN (ids are in `mcpagents runs`)", file=sys.stderr
            )
            return EXIT_USAGE
        try:
            record = read_run(options.run_id, options.dir)
        except KeyError as error:
            print(f"mcpagents: {error.args[0]}", file=sys.stderr)
            return EXIT_USAGE
        if options.json:
            print(
                json.dumps(
                    {
                        "header": record.header,
                        "events": record.events,
                        "spans": record.spans,
                        "result": record.result,
                    },
                    ensure_ascii=False,
                    default=str,
                )
            )
        else:
            print("\n".join(_run_lines(record, _called_runs(record, options.dir))))
        return EXIT_OK
    if options.run_id:
        print(
            f"mcpagents: to show run {options.run_id!r}: mcpagents runs show {options.run_id}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    limit = options.limit if options.trace is None else 10_000
    summaries = list_runs(options.dir, limit=limit)
    if options.trace:
        summaries = [summary for summary in summaries if summary.trace_id.startswith(options.trace)]
        summaries.sort(key=lambda summary: summary.started)
    if options.json:
        print(json.dumps([_summary_data(summary) for summary in summaries], ensure_ascii=False))
    else:
        print("\n".join(_table(summaries)))
    return EXIT_OK


def _summary_data(summary: RunSummary) -> dict[str, Any]:
    return {**summary.__dict__, "path": str(summary.path)}


def _table(summaries: list[RunSummary]) -> Iterator[str]:
    if not summaries:
        yield "no runs logged yet"
        return
    yield f"{'RUN':<16}  {'STARTED':<19}  {'AGENT':<16}  {'STATE':<17}  {'TOKENS':>8}  {'TIME':>8}  TASK"
    for run in summaries:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.started))
        agent = ("  " * run.depth + run.agent)[:16]
        duration = f"{run.duration:.2f} s" if run.duration is not None else "…"
        task = " ".join(run.task.split())
        task = task if len(task) <= 60 else task[:59] + "…"
        state = run.state or "running"
        tokens = f"{run.total_tokens:,}"
        yield f"{run.run_id:<16}  {started}  {agent:<16}  {state:<17}  {tokens:>8}  {duration:>8}  {task}"


def _called_runs(record: RunRecord, directory: Path | None) -> list[RunRecord]:
    """The logged runs of the agents this run called, and of those they called (same trace, later)."""
    from mcpagents.tracing.run_log import list_runs, read_run

    header = record.header
    return [
        read_run(summary.run_id, directory)
        for summary in list_runs(directory, limit=10_000)
        if summary.trace_id == header.get("trace_id")
        and summary.run_id != header["run_id"]
        and summary.depth > int(header.get("depth") or 0)
    ]


def _run_lines(record: RunRecord, called: list[RunRecord]) -> Iterator[str]:
    header, result = record.header, record.result or {}
    started = float(header["started"])
    yield f"run {header['run_id']} of {header.get('agent')} ({header.get('model')})"
    yield f"trace: {header.get('trace_id')}"
    if chain := header.get("chain"):
        yield f"chain: {' → '.join(chain)}"
    yield f"task: {header.get('task')}"
    yield f"started: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started))}"
    yield ""
    spans = [*record.spans, *(span for run in called for span in run.spans)]
    yield from _span_tree(spans, started, roots={header["run_id"]})
    yield ""
    if not result:
        yield "state: running (or ended without a result)"
        return
    usage = result.get("token_usage") or {}
    timing = result.get("timing") or {}
    duration = timing.get("end", started) - timing.get("start", started)
    yield (
        f"state: {result.get('state')} | tokens: {usage.get('input_tokens', 0):,} in,"
        f" {usage.get('output_tokens', 0):,} out | {duration:.2f} s"
    )
    if result.get("error"):
        yield f"error: {result['error']}"
    else:
        yield f"output: {_short(result.get('output'), 400)}"


def _span_tree(spans: list[dict[str, Any]], started: float, roots: set[str]) -> Iterator[str]:
    """Each span at its depth under its parent, with when it started, how long it took, its tokens:
    the tree of the `roots`' spans (the spans of runs they called hang under the calls)."""
    ids = {span["span_id"] for span in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans:
        if span.get("parent_id") in ids:
            children.setdefault(span["parent_id"], []).append(span)
        elif span["span_id"] in roots:
            children.setdefault(None, []).append(span)

    def lines(parent: str | None, depth: int) -> Iterator[str]:
        for span in sorted(children.get(parent, []), key=lambda span: span["start"]):
            yield _span_line(span, depth, started)
            yield from lines(span["span_id"], depth + 1)

    yield f"{'+START':>8}  {'TIME':>8}  SPAN"
    yield from lines(None, 0)


def _span_line(span: Mapping[str, Any], depth: int, started: float) -> str:
    attributes = span.get("attributes") or {}
    tokens = ""
    if "gen_ai.usage.input_tokens" in attributes:
        tokens = (
            f"  [{attributes['gen_ai.usage.input_tokens']:,} in,"
            f" {attributes.get('gen_ai.usage.output_tokens', 0):,} out]"
        )
    error = f"  ✗ {_short(span.get('error'), 100)}" if span.get("status") == "error" else ""
    end = span.get("end") or span["start"]
    name = "  " * depth + span["name"]
    return f"{span['start'] - started:>7.3f}s  {end - span['start']:>7.3f}s  {name}{tokens}{error}"


def _short(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
