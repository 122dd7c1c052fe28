"""Run logs: one JSON-lines file per run, kept on this machine, read by `mcpagents runs` and the hub page.

A file is `<run dir>/<YYYYmmdd-HHMMSS>-<run id>.jsonl`: a `run` header (agent, model, task, trace
id, the chain of agents that called it), then the run's events as `event_record` writes them (each
with its `time`; not the model's streamed deltas, nor each tool call's start and result: the step's
record holds them whole, and the call's span its timing), its spans as they end, and the `result`
last. The file is made when the run ends, or once it has run a second; a run still going has no
`result` yet.

The folder is the user's own (0700, files 0600): events hold tasks, code, arguments and results.
Each file stops taking events at `MAX_RUN_BYTES` (the spans and result still go in), and the oldest
files go once the folder holds more than `MAX_DIR_BYTES`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pydantic_core

from mcpagents.logs import state_dir
from mcpagents.tracing.file_maker import file_maker

RUN_DIR_VARIABLE = "MCPAGENTS_RUN_DIR"
MAX_RUN_BYTES = 10_000_000
MAX_DIR_BYTES = 200_000_000
BUFFER_SECONDS = 1.0
"""How long a run's lines may wait in memory before its file is made."""
_PRUNE_AFTER = 10_000_000
"""Bytes a process writes between two looks at the folder's size (which reads every file's size: a
served agent answering many short calls must not pay that per run)."""


def default_run_dir() -> Path:
    """`$MCPAGENTS_RUN_DIR`, else `$XDG_STATE_HOME/mcpagents/runs`, else `~/.local/state/mcpagents/runs`."""
    return state_dir(RUN_DIR_VARIABLE, "runs")


class RunLogWriter:
    """Writes one run's file. Best effort: a log that cannot be written never fails the run.

    A run's lines wait in memory until it ends, or until it has run `BUFFER_SECONDS` (then the file
    is made, and each step's lines reach it as the step ends, for whoever follows the run). A run
    that ended first has its file made in one go, off the event loop (`file_maker`): a served
    agent answering many short calls does not make files between requests."""

    _unpruned: int | None = None  # bytes this process wrote since it last pruned (None: never did)

    def __init__(self, directory: Path, header: Mapping[str, Any]) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(header["started"]))
        self.directory = directory
        self.path = directory / f"{stamp}-{header['run_id']}.jsonl"
        self._stream: IO[bytes] | None = None
        self._waiting: list[bytes] | None = []
        """The lines not yet in the file (None once they go straight there, or nowhere)."""
        self._started = time.monotonic()
        self._size = 0
        self._full = False
        self.write(header)

    def write(self, record: Mapping[str, Any]) -> None:
        line = _json_line(record)
        if self._waiting is not None:
            self._waiting.append(line)
        elif self._stream is not None:
            try:
                self._stream.write(line)
            except OSError:
                self.close()
                return
        else:
            return
        self._size += len(line)

    def event(self, record: Mapping[str, Any]) -> None:
        """An event of the run, unless the file has taken its share."""
        if self._full:
            return
        self.write(record)
        if self._size > MAX_RUN_BYTES:
            self._full = True
            self.write({"type": "truncated", "time": time.time(), "after_bytes": self._size})

    def flush(self) -> None:
        if self._waiting is not None and time.monotonic() - self._started >= BUFFER_SECONDS:
            self._open()
        if self._stream is not None:
            with suppress(OSError):
                self._stream.flush()

    def close(self) -> None:
        if self._waiting is not None:
            waiting, self._waiting = self._waiting, None
            file_maker.put(lambda: self._make(waiting))
            return
        stream, self._stream = self._stream, None
        RunLogWriter._unpruned = (RunLogWriter._unpruned or 0) + self._size
        self._size = 0
        if stream is not None:
            with suppress(OSError):
                stream.close()

    def _make(self, lines: list[bytes]) -> None:
        """Make the whole file at once (on the file maker's thread)."""
        self._waiting = lines
        with suppress(OSError):  # a file that cannot be made is not kept: the run is not failed
            self._open()
            self.close()

    def _open(self) -> None:
        """Make the file and write the lines waiting for it (none are kept if it cannot be made)."""
        waiting, self._waiting = self._waiting or [], None
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            if RunLogWriter._unpruned is None or RunLogWriter._unpruned > _PRUNE_AFTER:
                prune(self.directory)
                RunLogWriter._unpruned = 0
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError:
            return
        self._stream = os.fdopen(descriptor, "wb")
        try:
            self._stream.write(b"".join(waiting))
        except OSError:
            self.close()


def _json_line(record: Mapping[str, Any]) -> bytes:
    """`record` as a line of UTF-8 JSON; what JSON has no type for becomes its text. pydantic-core's
    encoder (already loaded by the MCP SDK) takes a fifth of the standard library's time."""
    try:
        return pydantic_core.to_json(record, fallback=str) + b"\n"
    except (pydantic_core.PydanticSerializationError, ValueError):  # bytes that are not UTF-8, say
        return json.dumps(record, separators=(",", ":"), default=str).encode() + b"\n"


def prune(directory: Path, max_bytes: int = MAX_DIR_BYTES) -> None:
    """Delete the oldest run files until the folder holds at most `max_bytes`."""
    with suppress(OSError):
        files = sorted(directory.glob("*.jsonl"))  # names start with the time: oldest first
        sizes = [(path, path.stat().st_size) for path in files]
        total = sum(size for _, size in sizes)
        for path, size in sizes:
            if total <= max_bytes:
                break
            with suppress(OSError):
                path.unlink()
                total -= size


@dataclass(frozen=True)
class RunSummary:
    """One line of `mcpagents runs`: a run's header and how it ended (None while it runs)."""

    run_id: str
    path: Path
    agent: str
    model: str
    task: str
    started: float
    duration: float | None
    state: str | None
    total_tokens: int
    trace_id: str
    depth: int


@dataclass(frozen=True)
class RunRecord:
    """All a run log holds: its header, events, spans and result (None: not over, or cut short)."""

    header: dict[str, Any]
    events: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    result: dict[str, Any] | None


def list_runs(directory: Path | None = None, limit: int = 200) -> list[RunSummary]:
    """The latest `limit` runs, newest first."""
    folder = directory or default_run_dir()
    file_maker.wait()  # the runs this process ended are on disk
    try:
        files = sorted(folder.glob("*.jsonl"), reverse=True)[:limit]
    except OSError:
        return []
    summaries = []
    for path in files:
        with suppress(OSError, ValueError, KeyError):
            summaries.append(_summary(path))
    return summaries


def read_run(run_id: str, directory: Path | None = None) -> RunRecord:
    """The run `run_id` (or the only one whose id starts with it); KeyError if there is none."""
    folder = directory or default_run_dir()
    file_maker.wait()
    matches = [path for path in folder.glob("*.jsonl") if path.stem.split("-", 2)[-1].startswith(run_id)]
    if len(matches) != 1 or not run_id:
        found = "no run" if not matches else f"{len(matches)} runs"
        raise KeyError(f"{found} with id {run_id!r} in {folder}")
    records = _records(matches[0])
    if not records or records[0].get("type") != "run":
        raise KeyError(f"{matches[0]} is not a run log")
    events = [record for record in records[1:] if record.get("type") not in ("span", "result")]
    spans = [record for record in records if record.get("type") == "span"]
    results = [record for record in records if record.get("type") == "result"]
    return RunRecord(records[0], events, spans, results[-1] if results else None)


def _records(path: Path) -> list[dict[str, Any]]:
    records = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            with suppress(ValueError):  # a line cut short by a crash
                record = json.loads(line)
                if isinstance(record, dict):
                    records.append(record)
    return records


def _summary(path: Path) -> RunSummary:
    with path.open(encoding="utf-8", errors="replace") as lines:
        header = json.loads(lines.readline())
    result = _last_result(path)
    usage = (result or {}).get("token_usage") or {}
    timing = (result or {}).get("timing") or {}
    return RunSummary(
        run_id=header["run_id"],
        path=path,
        agent=header.get("agent") or "",
        model=header.get("model") or "",
        task=header.get("task") or "",
        started=float(header["started"]),
        duration=timing["end"] - timing["start"] if result and "end" in timing else None,
        state=(result or {}).get("state"),
        total_tokens=int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0)),
        trace_id=header.get("trace_id") or "",
        depth=int(header.get("depth") or 0),
    )


def _last_result(path: Path) -> dict[str, Any] | None:
    """The `result` record, which is the last line of a finished run: read from the end."""
    with path.open("rb") as stream:
        end = stream.seek(0, os.SEEK_END)
        stream.seek(max(0, end - 65_536))
        tail = stream.read().decode(errors="replace").splitlines()
    for line in reversed(tail):
        with suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("type") == "result":
                return record
        break
    return None
