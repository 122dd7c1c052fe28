"""Long runs of a served agent as MCP Tasks, in both protocol eras.

* 2025-11-25 (in-core Tasks): a caller that asks for task augmentation gets a task at once, then
  polls it (`tasks/get`), waits for its result (`tasks/result`), cancels it or lists them.
* 2026-07-28 (the Tasks extension, SEP-2663): a caller that declares the extension may get a task
  instead of the result, once the run has gone on longer than the call waits for it; it polls the
  task (`tasks/get`, which brings the result, or the questions, inline), answers its questions
  (`tasks/update`) and may cancel it.

The run itself lives in the worker that started it (a `HeldRun`); what a caller polls is its record
on a `TaskBoard`. With a board shared by the workers of a server (the SQLite file of
`--conversation-store`), any worker answers `tasks/get`, `tasks/list` and the result of a finished
task, and a finished result survives a worker's restart. A task that needs input reports
`input_required`; its questions are asked on the caller's `tasks/result` request, in the worker
that runs it (2025-11-25), or through the board, where any worker leaves the answers (2026-07-28).

A task belongs to the caller who started it (`Caller.key`): for any other caller its id names no
task, with the very error an unknown id gets, and `tasks/list` lists a caller's own tasks only.
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

from mcpagents.agents.caller import HeldRun, HeldRuns, is_modern
from mcpagents.agents.caller_identity import current_caller, owned_name
from mcpagents.agents.run_relay import dumped
from mcpagents.connections.tasks_extension import (
    UpdateTaskParams,
    declares_tasks,
    missing_tasks_capability,
)

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
    questions: dict[str, Any] | None = None
    """The run's open questions (input requests, as JSON), by key."""
    run: str | None = None
    """The token of the held run behind the task, where the workers leave its answers."""
    owner: str = ""
    """The key of the caller whose task it is (`Caller.key`; "": the anonymous caller)."""

    @classmethod
    def new(cls, ttl_ms: int | None, owner: str = "") -> TaskRecord:
        now = time.time()
        return cls(secrets.token_urlsafe(16), "working", now, now, ttl_ms, owner=owner)

    def updated_to(
        self,
        status: mcp_types.TaskStatus,
        message: str | None,
        result: mcp_types.CallToolResult | None = None,
        questions: dict[str, Any] | None = None,
    ) -> TaskRecord:
        return replace(
            self,
            status=status,
            status_message=message,
            updated=time.time(),
            result=dumped(result) if result is not None else self.result,
            questions=questions,
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

    def wire(self) -> dict[str, Any]:
        """The task as the Tasks extension shows it (2026-07-28): its result or its questions inline.
        A run that ended with an error result is `completed` there (`failed` is for JSON-RPC errors)."""
        shown: dict[str, Any] = {
            "taskId": self.task_id,
            "status": self.status,
            "createdAt": _iso(self.created),
            "lastUpdatedAt": _iso(self.updated),
            "ttlMs": self.ttl_ms,
            "pollIntervalMs": POLL_INTERVAL_MS,
        }
        if self.status_message is not None:
            shown["statusMessage"] = self.status_message
        if self.result is not None and self.status != "cancelled":
            shown.update(status="completed", result=self.result)
        elif self.status == "input_required":
            shown["inputRequests"] = self.questions or {}
        return shown

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
        self,
        metadata: mcp_types.TaskMetadata,
        run: Callable[[HeldRun], Awaitable[mcp_types.CallToolResult]],
        *,
        owner: str = "",
    ) -> mcp_types.CreateTaskResult:
        """A task-augmented call (2025-11-25): `run` starts as a task of the caller keyed `owner`."""
        held = self.held_runs.start(run, owner=owner)
        record = self.adopt(held, metadata.ttl if metadata.ttl is not None else DEFAULT_TASK_TTL_MS)
        return mcp_types.CreateTaskResult(task=record.task())

    def adopt(self, held: HeldRun, ttl_ms: int | None = DEFAULT_TASK_TTL_MS) -> TaskRecord:
        """Make a task of a held run, from now on, for the run's owner (the 2026-07-28 extension's
        tasks are runs that went on longer than their call waited)."""
        record = replace(TaskRecord.new(ttl_ms, owner=held.owner), run=held.token)

        def follow(held: HeldRun) -> None:
            nonlocal record
            kept = self.board.load(record.task_id)
            if kept is not None and kept.status == "cancelled" and not held.cancelled:
                held.cancel()  # another worker was asked to cancel it
            questions = {key: dumped(question.request) for key, question in held.open_questions().items()}
            record = record.updated_to(held.status, held.last_message, held.result, questions)
            self.board.save(record)
            if held.result is not None:
                self._running.pop(record.task_id, None)  # its result is on the board from now on
                self.held_runs.collected(held)
            else:
                self._running[record.task_id] = held

        follow(held)
        held.follow(follow)
        return record

    def created(self, record: TaskRecord) -> dict[str, Any]:
        """The answer to a call that became a task (2026-07-28)."""
        seed = {key: value for key, value in record.wire().items() if key not in ("result", "inputRequests")}
        return {**seed, "resultType": "task"}

    def serve_on(
        self, server: Server[Any], reporter: Callable[[ServerRequestContext[Any]], Reporter]
    ) -> None:
        """Answer the `tasks/*` requests of `server`; `reporter` forwards a run's progress to a call."""

        async def get(
            ctx: ServerRequestContext[Any], params: mcp_types.GetTaskRequestParams
        ) -> mcp_types.GetTaskResult | dict[str, Any]:
            owner = current_caller().key
            if is_modern(ctx):
                _check_declared(ctx)
                return self._known(params.task_id, owner).wire()
            return mcp_types.GetTaskResult(**self._known(params.task_id, owner).task().model_dump())

        async def update(ctx: ServerRequestContext[Any], params: UpdateTaskParams) -> mcp_types.EmptyResult:
            if not is_modern(ctx):
                raise MCPError(mcp_types.METHOD_NOT_FOUND, "tasks/update is a method of protocol 2026-07-28")
            _check_declared(ctx)
            self._answer(params.task_id, current_caller().key, params.input_responses)
            return mcp_types.EmptyResult()

        async def listing(
            ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams
        ) -> mcp_types.ListTasksResult:
            owner = current_caller().key
            return mcp_types.ListTasksResult(
                tasks=[record.task() for record in self.board.records() if record.owner == owner]
            )

        async def cancel(
            ctx: ServerRequestContext[Any], params: mcp_types.CancelTaskRequestParams
        ) -> mcp_types.CancelTaskResult | mcp_types.EmptyResult:
            owner = current_caller().key
            if not is_modern(ctx):
                return self._cancel(params.task_id, owner)
            _check_declared(ctx)
            if self._known(params.task_id, owner).status not in TERMINAL:  # the extension acks either way
                self._cancel(params.task_id, owner)
            return mcp_types.EmptyResult()

        async def result(
            ctx: ServerRequestContext[Any], params: mcp_types.GetTaskPayloadRequestParams
        ) -> mcp_types.CallToolResult:
            return await self._result(ctx, params.task_id, current_caller().key, reporter(ctx))

        server.add_request_handler("tasks/get", mcp_types.GetTaskRequestParams, get)
        server.add_request_handler("tasks/result", mcp_types.GetTaskPayloadRequestParams, result)
        server.add_request_handler("tasks/cancel", mcp_types.CancelTaskRequestParams, cancel)
        server.add_request_handler("tasks/list", mcp_types.PaginatedRequestParams, listing)
        server.add_request_handler("tasks/update", UpdateTaskParams, update)

    def _answer(self, task_id: str, owner: str, responses: dict[str, Any]) -> None:
        """The caller's answers to a task's questions: to its run if this worker holds it, else left
        for the worker that does. Answers to keys not open are ignored, as the extension asks."""
        record = self._known(task_id, owner)
        if record.status in TERMINAL:
            return
        held = self._running.get(task_id)
        if held is not None:
            held.answer(responses)
        elif record.run is not None and self.held_runs.relay is not None:
            self.held_runs.relay.answer(owned_name(record.owner, record.run), responses)
        else:
            raise MCPError(
                mcp_types.INTERNAL_ERROR,
                f"task {task_id!r} runs in another worker of this server, and they share no"
                " --conversation-store to pass answers on",
            )

    def _cancel(self, task_id: str, owner: str) -> mcp_types.CancelTaskResult:
        record = self._known(task_id, owner)
        if record.status in TERMINAL:
            raise MCPError(mcp_types.INVALID_PARAMS, f"task {task_id!r} is already {record.status}")
        record = record.updated_to("cancelled", "cancelled by the caller")
        self.board.save(record)
        if (held := self._running.get(task_id)) is not None:
            held.cancel()
        return mcp_types.CancelTaskResult(**record.task().model_dump())

    async def _result(
        self, ctx: ServerRequestContext[Any], task_id: str, owner: str, report: Reporter
    ) -> mcp_types.CallToolResult:
        """The task's result once it ends; meanwhile, a task run here asks its questions on this call."""
        record = self._known(task_id, owner)
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
                record = self._known(task_id, owner)
            if record.result is None:
                text = f"task {task_id!r} was {record.status}: {record.status_message}"
                result = mcp_types.CallToolResult(
                    content=[mcp_types.TextContent(type="text", text=text)], is_error=True
                )
            else:
                result = mcp_types.CallToolResult.model_validate(record.result, by_name=False)
        return result.model_copy(update={"meta": {**(result.meta or {}), **related(task_id)}})

    def _known(self, task_id: str, owner: str) -> TaskRecord:
        """`owner`'s task `task_id`; another's is not known, with the same error."""
        record = self.board.load(task_id)
        if record is None or record.owner != owner:
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


def _check_declared(ctx: ServerRequestContext[Any]) -> None:
    if not declares_tasks(ctx.session.client_capabilities):
        raise missing_tasks_capability()


def related(task_id: str) -> dict[str, Any]:
    """The `_meta` that ties a message to a task."""
    return {RELATED_TASK_META: {"taskId": task_id}}


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
