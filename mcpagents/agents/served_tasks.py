"""Long runs of a served agent as MCP Tasks (2025-11-25): a caller that asks for task augmentation
gets a task at once, then polls it (`tasks/get`), waits for its result (`tasks/result`), cancels it
or lists them.

The run itself lives in the worker that started it (a `HeldRun`); what a caller polls is its record
on a `TaskBoard`. With a board shared by the workers of a server (the SQLite file of
`--conversation-store`), any worker answers `tasks/get`, `tasks/list` and the result of a finished
task, and a finished result survives a worker's restart. A task that needs input reports
`input_required`; its questions are asked on the caller's `tasks/result` request, in the worker
that runs it.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import mcp_types

DEFAULT_TASK_TTL_MS = 60 * 60 * 1000
POLL_INTERVAL_MS = 500
RELATED_TASK_META = "io.modelcontextprotocol/related-task"
TERMINAL: frozenset[mcp_types.TaskStatus] = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class TaskRecord:
    """What a caller sees of a task, and its result once it has one."""

    task_id: str
    status: mcp_types.TaskStatus
    created: float
    updated: float
    ttl_ms: int | None
    status_message: str | None = None
    result: dict[str, Any] | None = None
    """The run's `CallToolResult`, as JSON."""

    @classmethod
    def new(cls, ttl_ms: int | None) -> TaskRecord:
        now = time.time()
        return cls(secrets.token_urlsafe(16), "working", now, now, ttl_ms)

    def updated_to(
        self,
        status: mcp_types.TaskStatus,
        message: str | None,
        result: mcp_types.CallToolResult | None = None,
    ) -> TaskRecord:
        dumped = (
            result.model_dump(by_alias=True, mode="json", exclude_none=True) if result is not None else None
        )
        return replace(
            self, status=status, status_message=message, updated=time.time(), result=dumped or self.result
        )

    @property
    def expired(self) -> bool:
        return self.ttl_ms is not None and time.time() > self.created + self.ttl_ms / 1000

    def task(self) -> mcp_types.Task:
        return mcp_types.Task(
            task_id=self.task_id,
            status=self.status,
            status_message=self.status_message,
            created_at=_iso(self.created),
            last_updated_at=_iso(self.updated),
            ttl=self.ttl_ms,
            poll_interval=POLL_INTERVAL_MS,
        )

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> TaskRecord:
        return cls(**json.loads(text))


class TaskBoard(Protocol):
    """Where the records of an agent's tasks are kept."""

    def save(self, record: TaskRecord) -> None: ...

    def load(self, task_id: str) -> TaskRecord | None:
        """The record, or None when there is none or it expired."""
        ...

    def records(self) -> list[TaskRecord]:
        """The records not expired, newest first."""
        ...


class MemoryTaskBoard:
    """Task records in this process's memory (what one worker serving alone needs)."""

    def __init__(self) -> None:
        self._records: dict[str, TaskRecord] = {}

    def save(self, record: TaskRecord) -> None:
        self._drop_expired()
        self._records[record.task_id] = record

    def load(self, task_id: str) -> TaskRecord | None:
        self._drop_expired()
        return self._records.get(task_id)

    def records(self) -> list[TaskRecord]:
        self._drop_expired()
        return sorted(self._records.values(), key=lambda record: record.created, reverse=True)

    def _drop_expired(self) -> None:
        for task_id in [task_id for task_id, record in self._records.items() if record.expired]:
            del self._records[task_id]


def tasks_capability() -> mcp_types.ServerTasksCapability:
    return mcp_types.ServerTasksCapability(
        list=mcp_types.TasksListCapability(),
        cancel=mcp_types.TasksCancelCapability(),
        requests=mcp_types.ServerTasksRequestsCapability(
            tools=mcp_types.TasksToolsCapability(call=mcp_types.TasksCallCapability())
        ),
    )


def related(task_id: str) -> dict[str, Any]:
    """The `_meta` that ties a message to a task."""
    return {RELATED_TASK_META: {"taskId": task_id}}


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
