"""Past runs for the hub page, from the run logs of this machine (`mcpagents.tracing.run_log`):
those of `mcpagents run`, of the hub's own chats, and of agents that hosts started and serve, since
they all write to the same folder.

A run is shown with its spans (the run, its steps, model calls, tool calls), from which the page
draws a timeline, and its events. Runs of one trace share its id: a child agent's run, called over
MCP, belongs to the trace of the run that called it, and the trace shows them together.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from mcpagents.tracing.run_log import RunRecord, RunSummary, list_runs, read_run


def runs(directory: Path | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The latest runs, newest first, as JSON data."""
    return [_summary(summary) for summary in list_runs(directory, limit)]


def run(run_id: str, directory: Path | None = None) -> dict[str, Any]:
    """One run: its header, events, spans and result, and the summaries of the other runs of its
    trace (`KeyError` for an unknown run id)."""
    record = read_run(run_id, directory)
    trace_id = record.header.get("trace_id")
    others = [
        _summary(summary)
        for summary in list_runs(directory)
        if trace_id and summary.trace_id == trace_id and summary.run_id != record.header.get("run_id")
    ]
    return {**_record(record), "trace": others}


def trace(trace_id: str, directory: Path | None = None) -> list[dict[str, Any]]:
    """Every run of a trace, the first started first (`KeyError` if none is logged)."""
    found = sorted(
        (summary for summary in list_runs(directory) if summary.trace_id == trace_id), key=lambda s: s.started
    )
    if not found:
        raise KeyError(f"no run of trace {trace_id!r}")
    return [_record(read_run(summary.run_id, directory)) for summary in found]


def _summary(summary: RunSummary) -> dict[str, Any]:
    data = asdict(summary)
    del data["path"]  # where the file is: nothing the page needs, and not its business
    return data


def _record(record: RunRecord) -> dict[str, Any]:
    return {"header": record.header, "events": record.events, "spans": record.spans, "result": record.result}
