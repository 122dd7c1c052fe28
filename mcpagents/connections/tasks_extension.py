"""The Tasks extension of MCP 2026-07-28 (SEP-2663, `io.modelcontextprotocol/tasks`): its wire
vocabulary, shared by the served agent that creates tasks and the client that follows them, and
the client's side.

A client that declares the extension on a request lets the server answer a `tools/call` with a task
(`resultType: "task"`) instead of its result. The client then polls the task (`tasks/get`, every
`pollIntervalMs`); a task that needs answers (`input_required`) lists its questions in
`inputRequests`, answered with `tasks/update`; the result, or the JSON-RPC error, comes inline once
the task ends. `tasks/cancel` asks the server to stop it. There is no `tasks/result` and no
`tasks/list`, and every `tasks/*` request names its task in the `Mcp-Name` header.

Here, `TasksExtension` is a client extension of the SDK: a call that comes back as a task is
followed to its end inside `Client.call_tool`, so the caller sees only the tool's result. Its
states go to the call's status handler (as progress, for a tool), its questions are answered by
the call's interaction, and cancelling the caller (or a silence longer than the call's timeout)
cancels the task.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import Any, Literal

import anyio
import mcp_types
from mcp import MCPError
from mcp.client import ClaimContext, ClientExtension, ClientSession, ResultClaim
from mcp.client.session import ClientRequestContext
from pydantic import TypeAdapter

from mcpagents.connections.server_requests import current_call
from mcpagents.connections.task_polling import CANCEL_WAIT, poll_delay

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
_INPUT_REQUEST: TypeAdapter[mcp_types.InputRequest] = TypeAdapter(mcp_types.InputRequest)


class TaskFields(mcp_types.Result):
    """What every state of a task says of it."""

    task_id: str
    status: mcp_types.TaskStatus
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None

    def as_task(self) -> mcp_types.Task:
        """The same task in the shape of the 2025-11-25 Tasks, which the rest of the client speaks."""
        return mcp_types.Task(
            task_id=self.task_id,
            status=self.status,
            status_message=self.status_message,
            created_at=self.created_at,
            last_updated_at=self.last_updated_at,
            ttl=self.ttl_ms,
            poll_interval=self.poll_interval_ms,
        )


class CreatedTask(TaskFields):
    """A `tools/call` answered with a task."""

    result_type: Literal["task"] = "task"


class TaskState(TaskFields):
    """A task as `tasks/get` reports it: with its questions, its result or its error inline."""

    result_type: str = "complete"
    input_requests: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class TaskParams(mcp_types.RequestParams):
    task_id: str


class UpdateTaskParams(TaskParams):
    input_responses: dict[str, Any]


class GetTaskRequest(mcp_types.Request[TaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    name_param = "taskId"


class UpdateTaskRequest(mcp_types.Request[UpdateTaskParams, Literal["tasks/update"]]):
    method: Literal["tasks/update"] = "tasks/update"
    name_param = "taskId"


class CancelTaskRequest(mcp_types.Request[TaskParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    name_param = "taskId"


def declares_tasks(capabilities: mcp_types.ClientCapabilities | mcp_types.ServerCapabilities | None) -> bool:
    return capabilities is not None and TASKS_EXTENSION in (capabilities.extensions or {})


def missing_tasks_capability() -> MCPError:
    """The error the extension prescribes for a caller that did not declare it."""
    return MCPError(
        mcp_types.MISSING_REQUIRED_CLIENT_CAPABILITY,
        "Missing required client capability: the tasks extension",
        data={"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
    )


class TasksExtension(ClientExtension):
    """Declares the Tasks extension and follows the tasks that calls come back as."""

    identifier = TASKS_EXTENSION

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return (ResultClaim(result_type="task", model=CreatedTask, resolve=_follow),)


async def _follow(created: CreatedTask, context: ClaimContext) -> mcp_types.CallToolResult:
    """Follow a call's task to its end and return the call's result."""
    call = current_call()
    on_status = call.on_status if call is not None else None
    timeout = call.timeout if call is not None else None
    try:
        return await follow_task(context.session, created, on_status=on_status, timeout=timeout)
    except BaseException:  # cancelled, silent too long or failed midway: the task has no one to serve
        with anyio.move_on_after(CANCEL_WAIT, shield=True):
            with suppress(MCPError):  # the caller has gone: nobody is left to tell
                await cancel_task(context.session, created.task_id)
        raise


async def follow_task(
    session: ClientSession,
    task: TaskFields,
    *,
    on_status: Callable[[mcp_types.Task], Awaitable[None]] | None,
    timeout: float | None,
) -> mcp_types.CallToolResult:
    """Poll `task` until it ends, telling `on_status` of each new state and answering the task's
    questions as the server's questions are answered in this task; the call's result. A failed task
    raises its JSON-RPC error; a cancelled one is an error result that says so. Polls are at least
    as frequent as half of `timeout`, the silence the caller allows."""
    answered: set[str] = set()
    seen: tuple[str, str | None] | None = None
    while True:
        if isinstance(task, TaskState):
            if task.status == "completed":
                if task.result is None:
                    return _error_result(f"its task {task.task_id} completed without a result")
                return mcp_types.CallToolResult.model_validate(task.result, by_name=False)
            if task.status == "failed":
                raise MCPError.from_error_data(
                    mcp_types.ErrorData.model_validate(task.error or {"code": -32603, "message": "failed"})
                )
            if task.status == "cancelled":
                said = f": {task.status_message}" if task.status_message else ""
                return _error_result(f"its task {task.task_id} was cancelled{said}")
            if task.status == "input_required":
                await _answer(session, task, answered)
        if on_status is not None and (task.status, task.status_message) != seen:
            seen = (task.status, task.status_message)
            await on_status(task.as_task())
        await anyio.sleep(poll_delay(task.as_task(), timeout))
        task = await get_task(session, task.task_id)


async def get_task(session: ClientSession, task_id: str) -> TaskState:
    return await session.send_request(GetTaskRequest(params=TaskParams(task_id=task_id)), TaskState)


async def cancel_task(session: ClientSession, task_id: str) -> None:
    await session.send_request(CancelTaskRequest(params=TaskParams(task_id=task_id)), mcp_types.EmptyResult)


async def _answer(session: ClientSession, task: TaskState, answered: set[str]) -> None:
    """Answer the questions of `task` not answered yet, as questions asked during the call are."""
    for key, raw in (task.input_requests or {}).items():
        if key in answered:
            continue
        request = _INPUT_REQUEST.validate_python(raw, by_name=False)
        meta = request.params.meta if request.params else None
        context = ClientRequestContext(session=session, request_id=key, meta=meta)
        response = await session.dispatch_input_request(context, request)
        if isinstance(response, mcp_types.ErrorData):
            raise MCPError.from_error_data(response)
        answered.add(key)
        responses = {key: response.model_dump(by_alias=True, mode="json", exclude_none=True)}
        update = UpdateTaskParams(task_id=task.task_id, input_responses=responses)
        await session.send_request(UpdateTaskRequest(params=update), mcp_types.EmptyResult)


def _error_result(text: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=text)], is_error=True)
