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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import anyio
import mcp_types
from mcp import MCPError
from mcp.server import Server, ServerRequestContext
from mcp.shared.message import ServerMessageMetadata

from mcpagents.agents.caller import HeldRun, HeldRuns

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


Reporter = Callable[[str], Awaitable[None]]


class ServedTasks:
    """The tasks of one served agent: started by task-augmented calls, followed on `board`, and
    answered by `tasks/get`, `tasks/result`, `tasks/cancel` and `tasks/list`."""

    def __init__(self, board: TaskBoard, held_runs: HeldRuns) -> None:
        self.board = board
        self.held_runs = held_runs
        self._running: dict[str, HeldRun] = {}
        """The tasks this process runs and has not finished."""

    def start(
        self, metadata: mcp_types.TaskMetadata, run: Callable[[HeldRun], Awaitable[mcp_types.CallToolResult]]
    ) -> mcp_types.CreateTaskResult:
        record = TaskRecord.new(metadata.ttl if metadata.ttl is not None else DEFAULT_TASK_TTL_MS)
        self.board.save(record)

        def follow(held: HeldRun) -> None:
            nonlocal record
            kept = self.board.load(record.task_id)
            if kept is not None and kept.status == "cancelled" and not held.cancelled:
                held.cancel()  # another worker was asked to cancel it
            record = record.updated_to(held.status, held.last_message, held.result)
            self.board.save(record)
            if held.result is not None:
                self._running.pop(record.task_id, None)  # its result is on the board from now on

        self._running[record.task_id] = self.held_runs.start(run, on_change=follow)
        return mcp_types.CreateTaskResult(task=record.task())

    def serve_on(
        self, server: Server[Any], reporter: Callable[[ServerRequestContext[Any]], Reporter]
    ) -> None:
        """Answer the `tasks/*` requests of `server`; `reporter` forwards a run's progress to a call."""

        async def get(
            ctx: ServerRequestContext[Any], params: mcp_types.GetTaskRequestParams
        ) -> mcp_types.GetTaskResult:
            return mcp_types.GetTaskResult(**self._known(params.task_id).task().model_dump())

        async def listing(
            ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams
        ) -> mcp_types.ListTasksResult:
            return mcp_types.ListTasksResult(tasks=[record.task() for record in self.board.records()])

        async def cancel(
            ctx: ServerRequestContext[Any], params: mcp_types.CancelTaskRequestParams
        ) -> mcp_types.CancelTaskResult:
            return self._cancel(params.task_id)

        async def result(
            ctx: ServerRequestContext[Any], params: mcp_types.GetTaskPayloadRequestParams
        ) -> mcp_types.CallToolResult:
            return await self._result(ctx, params.task_id, reporter(ctx))

        server.add_request_handler("tasks/get", mcp_types.GetTaskRequestParams, get)
        server.add_request_handler("tasks/result", mcp_types.GetTaskPayloadRequestParams, result)
        server.add_request_handler("tasks/cancel", mcp_types.CancelTaskRequestParams, cancel)
        server.add_request_handler("tasks/list", mcp_types.PaginatedRequestParams, listing)

    def _cancel(self, task_id: str) -> mcp_types.CancelTaskResult:
        record = self._known(task_id)
        if record.status in TERMINAL:
            raise MCPError(mcp_types.INVALID_PARAMS, f"task {task_id!r} is already {record.status}")
        record = record.updated_to("cancelled", "cancelled by the caller")
        self.board.save(record)
        if (held := self._running.get(task_id)) is not None:
            held.cancel()
        return mcp_types.CancelTaskResult(**record.task().model_dump())

    async def _result(
        self, ctx: ServerRequestContext[Any], task_id: str, report: Reporter
    ) -> mcp_types.CallToolResult:
        """The task's result once it ends; meanwhile, a task run here asks its questions on this call."""
        record = self._known(task_id)
        held = self._running.get(task_id)
        if held is not None:
            metadata = ServerMessageMetadata(related_request_id=ctx.request_id)

            async def ask(request: mcp_types.InputRequest) -> mcp_types.Result:
                assert request.params is not None
                tied = request.model_copy(
                    update={"params": request.params.model_copy(update={"meta": related(task_id)})}
                )
                return await ctx.session.send_request(tied, _ANSWER_TYPES[type(request)], metadata=metadata)

            outcome = await held.drive(report, ask=ask)
            assert isinstance(outcome, mcp_types.CallToolResult)
            result = outcome
        else:
            while record.status not in TERMINAL:  # run by another worker: follow its record
                await anyio.sleep(POLL_INTERVAL_MS / 1000)
                record = self._known(task_id)
            if record.result is None:
                text = f"task {task_id!r} was {record.status}: {record.status_message}"
                result = mcp_types.CallToolResult(
                    content=[mcp_types.TextContent(type="text", text=text)], is_error=True
                )
            else:
                result = mcp_types.CallToolResult.model_validate(record.result, by_name=False)
        return result.model_copy(update={"meta": {**(result.meta or {}), **related(task_id)}})

    def _known(self, task_id: str) -> TaskRecord:
        record = self.board.load(task_id)
        if record is None:
            raise MCPError(mcp_types.INVALID_PARAMS, f"no task {task_id!r} here (it may have expired)")
        return record


_ANSWER_TYPES: dict[type[Any], type[mcp_types.Result]] = {
    mcp_types.ElicitRequest: mcp_types.ElicitResult,
    mcp_types.CreateMessageRequest: mcp_types.CreateMessageResult,
    mcp_types.ListRootsRequest: mcp_types.ListRootsResult,
}


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
