"""Tool calls run as MCP tasks (the 2025-11-25 in-core Tasks, SEP-1686).

A server that offers tasks for tool calls (capability `tasks.requests.tools.call`) answers a
`tools/call` that carries `task` at once with a task; the client then watches it (`tasks/get`, every
`pollInterval`), collects its result (`tasks/result`) and may cancel it (`tasks/cancel`). A tool says
in `execution.taskSupport` whether it may (`optional`) or must (`required`) run this way.

A task that needs answers (`input_required`) sends its questions (elicitation, sampling) on the
response stream of `tasks/result`, as the TypeScript SDK's servers do on every transport: that
request is therefore sent at once and stays open while the task is watched, and the questions it
brings are answered like those of any call, by the call's interaction.

`call_as_task` is one whole call: cancelling its caller cancels the task. A `TaskHandle` is a task
whose holder decides when to wait for it and whether to cancel it. The Tasks extension of 2026-07-28
servers (SEP-2663) is in `tasks_extension`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import anyio
import mcp_types
from mcp import Client, MCPError
from mcp.shared.dispatcher import CallOptions
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcpagents.connections.interaction import Interaction
from mcpagents.connections.protocol import describe_error
from mcpagents.connections.task_polling import CANCEL_WAIT, poll_delay
from mcpagents.connections.tasks_extension import CreatedTask, cancel_task, follow_task, get_task
from mcpagents.errors import ToolError
from mcpagents.portal import Portal

if TYPE_CHECKING:
    from mcpagents.connections.connection import Connection

T = TypeVar("T")
StatusHandler = Callable[[mcp_types.Task], Awaitable[None]]
"""Told each state a running task is seen in: the first one, then every change."""
ResultHandler = Callable[[mcp_types.CallToolResult], Awaitable[Any]]

ENDED: Final = frozenset({"completed", "failed", "cancelled"})
_ENDINGS = {"failed": "failed", "cancelled": "was cancelled"}


def offers_tasks(client: Client) -> bool:
    """Whether the server runs tool calls as tasks (`tasks.requests.tools.call`)."""
    tasks = client.server_capabilities.tasks
    requests = tasks.requests if tasks else None
    return requests is not None and requests.tools is not None and requests.tools.call is not None


def status_line(task: mcp_types.Task) -> str:
    """How a progress report reads a task: its message while it works, else its status first."""
    if task.status == "working":
        return task.status_message or "working"
    return f"{task.status}: {task.status_message}" if task.status_message else task.status


async def call_as_task(
    connection: Connection,
    tool: str,
    arguments: dict[str, Any],
    *,
    timeout: float,
    on_status: StatusHandler | None = None,
    meta: Mapping[str, Any] | None = None,
    interaction: Interaction | None = None,
) -> mcp_types.CallToolResult:
    """Call `tool` as a task and return its result, with `Connection.call_tool`'s contract: `timeout`
    is the longest the task may go without news, `interaction` answers the server's questions. When
    the caller is cancelled (or the silence runs out) the task is cancelled on the server too."""

    async def run(client: Client, heard: Callable[[], None]) -> mcp_types.CallToolResult:
        started = await _create(client, connection.name, tool, arguments, meta)
        if isinstance(started, mcp_types.CallToolResult):
            return started
        news = _news(heard, on_status)
        await news(started)
        try:
            outcome = await _collect(client, connection.name, tool, started, news, timeout)
        except BaseException:  # cancelled, silent too long or failed midway: the task has no one to serve
            with anyio.move_on_after(CANCEL_WAIT, shield=True):
                await _cancel_quietly(client, connection, tool, started.task_id)
            raise
        return _result_of(outcome, connection.name, tool)

    return await connection.follow_task(tool, run, timeout=timeout, interaction=interaction)


async def start_task(
    connection: Connection,
    tool: str,
    arguments: dict[str, Any],
    *,
    timeout: float,
) -> mcp_types.Task:
    """Start `tool` as a task and return the task as the server created it."""

    async def start(client: Client, heard: Callable[[], None]) -> mcp_types.Task:
        started = await _create(client, connection.name, tool, arguments, None)
        if isinstance(started, mcp_types.CallToolResult):
            raise ToolError(
                f"tool {tool!r} on server {connection.name!r} answered at once instead of starting a"
                " task (its server decided so); call it with `acall` instead",
                tool=tool,
                server=connection.name,
            )
        return started

    return await connection.follow_task(tool, start, timeout=timeout, on_silence="the call was cancelled")


class TaskHandle:
    """A tool call running as a task on its server (from `tool.astart(...)`), which runs on whether
    anyone waits for it or not.

    `await handle.astatus()` asks the server how the task is (an `mcp_types.Task`: `status`,
    `status_message`, ...); `await handle.aresult()` waits for it to end and returns what
    `tool.acall` would have (cancelling that wait leaves the task running); `await handle.acancel()`
    cancels it. Each has a sync twin without the `a`. While `aresult` waits, the task's states are
    reported as progress and the server's questions answered, as during `tool.acall`.
    """

    def __init__(
        self,
        task_id: str,
        *,
        tool: str,
        connection: Connection,
        portal: Portal,
        finish: ResultHandler,
        timeout: float,
        on_status: StatusHandler | None = None,
        interaction: Interaction | None = None,
        task: mcp_types.Task | None = None,
    ) -> None:
        self.task_id = task_id
        self.tool = tool
        self.server = connection.name
        self._connection = connection
        self._portal = portal
        self._finish = finish
        self._timeout = timeout
        self._on_status = on_status
        self._interaction = interaction
        self._last = task

    def __repr__(self) -> str:
        return f"<TaskHandle {self.task_id} of tool {self.tool!r} on {self.server!r}>"

    async def astatus(self) -> mcp_types.Task:
        """The task as the server reports it now (`tasks/get`)."""
        return await self._portal.acall(self._status)

    def status(self) -> mcp_types.Task:
        """`await handle.astatus()` from sync code."""
        return self._portal.call(self._status)

    async def aresult(self) -> Any:
        """Wait for the task to end and return the tool's value; `ToolError` if it failed or was
        cancelled, `ToolTimeoutError` after the tool's timeout without news (the task goes on)."""
        return await self._portal.acall(self._result)

    def result(self) -> Any:
        """`await handle.aresult()` from sync code."""
        return self._portal.call(self._result)

    async def acancel(self) -> mcp_types.Task:
        """Cancel the task (`tasks/cancel`) and return it as the server then reports it; a task that
        already ended stays as it was."""
        return await self._portal.acall(self._cancel)

    def cancel(self) -> mcp_types.Task:
        """`await handle.acancel()` from sync code."""
        return self._portal.call(self._cancel)

    async def _status(self) -> mcp_types.Task:
        async def ask(client: Client) -> mcp_types.Task:
            return await _get(client, self.server, self.tool, self.task_id)

        self._last = await self._connection.request(f"the status of task {self.task_id}", ask)
        return self._last

    async def _result(self) -> Any:
        async def wait(client: Client, heard: Callable[[], None]) -> mcp_types.CallToolResult:
            news = _news(heard, self._on_status)
            if _extension(client):
                asked = get_task(client.session, self.task_id)
                state = await _known(self.server, self.tool, self.task_id, asked)
                result = await follow_task(client.session, state, on_status=news, timeout=self._timeout)
                if not result.is_error:
                    await client.session.validate_tool_result(self.tool, result)
                return result
            last = self._last or await _get(client, self.server, self.tool, self.task_id)
            outcome = await _collect(client, self.server, self.tool, last, news, self._timeout)
            return _result_of(outcome, self.server, self.tool)

        result = await self._connection.follow_task(
            self.tool,
            wait,
            timeout=self._timeout,
            interaction=self._interaction,
            on_silence=f"the task goes on (`cancel()` stops it; its id is {self.task_id})",
        )
        return await self._finish(result)

    async def _cancel(self) -> mcp_types.Task:
        async def cancel(client: Client) -> mcp_types.Task:
            return await _cancel(client, self.server, self.tool, self.task_id)

        self._last = await self._connection.request(f"the cancellation of task {self.task_id}", cancel)
        return self._last


# -- the requests ----------------------------------------------------------------------------------


async def _create(
    client: Client, server: str, tool: str, arguments: dict[str, Any], meta: Mapping[str, Any] | None
) -> mcp_types.Task | mcp_types.CallToolResult:
    """Send `tools/call` with `task`: the task it started, or the result of a server that ran the
    call at once (as one that offers no task for this call may). A 2026-07-28 server decides by
    itself whether a call becomes a task (the Tasks extension)."""
    if _extension(client):
        return await _create_by_extension(client, server, tool, arguments, meta)
    if not offers_tasks(client):
        raise ToolError(
            f"tool {tool!r} on server {server!r} cannot run as a task: the server does not offer tasks"
            f" for tool calls (its capabilities lack tasks.requests.tools.call; protocol"
            f" {client.protocol_version})",
            tool=tool,
            server=server,
        )
    request = mcp_types.CallToolRequest(
        params=mcp_types.CallToolRequestParams(
            name=tool,
            arguments=arguments,
            task=mcp_types.TaskMetadata(),  # no ttl asked: the server keeps tasks as long as it sees fit
            _meta=cast(mcp_types.RequestParamsMeta, dict(meta)) if meta else None,
        )
    )
    # SDK 2.3 checks every `tools/call` answer of a 2025-era session against `CallToolResult`, which a
    # `CreateTaskResult` is not, and its hook for other shapes (result claims) acts on 2026-07-28
    # sessions only. So this one request is sent as `ClientSession.send_request` sends it, less that check.
    session = client.session
    data = request.model_dump(by_alias=True, mode="json", exclude_none=True)
    options: CallOptions = {}
    session._stamp(data, options)
    raw = await session._dispatcher.send_raw_request(data["method"], data.get("params"), options)
    if "task" in raw:
        return mcp_types.CreateTaskResult.model_validate(raw, by_name=False).task
    return mcp_types.CallToolResult.model_validate(raw, by_name=False)


async def _create_by_extension(
    client: Client, server: str, tool: str, arguments: dict[str, Any], meta: Mapping[str, Any] | None
) -> mcp_types.Task | mcp_types.CallToolResult:
    answer = await client.session.call_tool(
        tool,
        arguments,
        meta=cast(mcp_types.RequestParamsMeta, dict(meta)) if meta else None,
        allow_input_required=True,
        allow_claimed=True,
    )
    if isinstance(answer, CreatedTask):
        return answer.as_task()
    if isinstance(answer, mcp_types.CallToolResult):
        return answer
    raise ToolError(
        f"tool {tool!r} on server {server!r} asks questions before it starts a task; call it with"
        " `acall`, whose interaction answers them",
        tool=tool,
        server=server,
    )


def _extension(client: Client) -> bool:
    """Whether tasks are the 2026-07-28 extension's on this connection (else the 2025-11-25 ones)."""
    return client.protocol_version in MODERN_PROTOCOL_VERSIONS


async def _get(client: Client, server: str, tool: str, task_id: str) -> mcp_types.Task:
    """The task now (`tasks/get`)."""
    if _extension(client):
        return (await _known(server, tool, task_id, get_task(client.session, task_id))).as_task()
    request = mcp_types.GetTaskRequest(params=mcp_types.GetTaskRequestParams(task_id=task_id))
    return await _known(server, tool, task_id, client.session.send_request(request, mcp_types.GetTaskResult))


async def _known(server: str, tool: str, task_id: str, asked: Awaitable[T]) -> T:
    """What `asked` brings; the server's "invalid params" is its word for a task it does not know."""
    try:
        return await asked
    except MCPError as error:
        if error.code != mcp_types.INVALID_PARAMS:
            raise
        raise ToolError(
            f"server {server!r} does not know task {task_id} of tool {tool!r}: {describe_error(error.error)}"
            " (a task is kept for its ttl only, on the connection that started it)",
            tool=tool,
            server=server,
        ) from error


async def _payload(client: Client, tool: str, task_id: str) -> mcp_types.CallToolResult:
    """The result of an ended task (`tasks/result`); the server holds the answer until the task ends."""
    request = mcp_types.GetTaskPayloadRequest(params=mcp_types.GetTaskPayloadRequestParams(task_id=task_id))
    result = await client.session.send_request(request, mcp_types.CallToolResult)
    if not result.is_error:
        await client.session.validate_tool_result(tool, result)  # as the SDK's `call_tool` does
    return result


async def _cancel(client: Client, server: str, tool: str, task_id: str) -> mcp_types.Task:
    """Cancel a task; one that already ended (the server refuses to cancel it) is returned as it is."""
    if _extension(client):
        await cancel_task(client.session, task_id)  # acknowledged at once; the task ends when it can
        return await _get(client, server, tool, task_id)
    request = mcp_types.CancelTaskRequest(params=mcp_types.CancelTaskRequestParams(task_id=task_id))
    try:
        return await client.session.send_request(request, mcp_types.CancelTaskResult)
    except MCPError as error:
        if error.code != mcp_types.INVALID_PARAMS:
            raise
        task = await _get(client, server, tool, task_id)
        if task.status not in ENDED:
            raise
        return task


async def _cancel_quietly(client: Client, connection: Connection, tool: str, task_id: str) -> None:
    try:
        await _cancel(client, connection.name, tool, task_id)
    except Exception as error:  # the caller has gone: nobody is left to tell
        connection.log.note(f"task {task_id} of tool {tool!r} could not be cancelled: {error}")


# -- waiting ---------------------------------------------------------------------------------------


async def _collect(
    client: Client, server: str, tool: str, task: mcp_types.Task, news: StatusHandler, timeout: float
) -> mcp_types.CallToolResult | mcp_types.Task:
    """Watch `task` until it ends: its result, or the task when it failed or was cancelled.
    `tasks/result` is asked at once (see the module docstring) and asked again when the task is seen
    completed: a server may answer the first only at its next poll of the task."""
    task_id = task.task_id
    answer: mcp_types.CallToolResult | None = None
    refusal: MCPError | None = None

    async def fetch(group: anyio.CancelScope) -> None:
        nonlocal answer, refusal
        try:
            answer = await _payload(client, tool, task_id)
        except MCPError as error:
            refusal = error
        group.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(fetch, group.cancel_scope)
        task = await _watch(client, server, tool, task, news, timeout)
        group.cancel_scope.cancel()
    if answer is not None:
        return answer
    if task.status not in ENDED:  # the server refused `tasks/result` early: the status says why
        task = await _get(client, server, tool, task_id)
    if task.status == "completed":
        return await _payload(client, tool, task_id)
    if task.status in ENDED:
        return task
    assert refusal is not None
    raise refusal


def _result_of(
    outcome: mcp_types.CallToolResult | mcp_types.Task, server: str, tool: str
) -> mcp_types.CallToolResult:
    if isinstance(outcome, mcp_types.CallToolResult):
        return outcome
    ended = f"its task {outcome.task_id} {_ENDINGS[outcome.status]}"
    said = f": {outcome.status_message}" if outcome.status_message else ""
    raise ToolError(f"tool {tool!r} on server {server!r} failed: {ended}{said}", tool=tool, server=server)


async def _watch(
    client: Client, server: str, tool: str, task: mcp_types.Task, news: StatusHandler, timeout: float
) -> mcp_types.Task:
    """Poll `task` until it ends, telling `news` of each change while it runs (its end is told by its
    result); the ended task. A state shorter than the poll interval may pass unseen."""
    while task.status not in ENDED:
        await anyio.sleep(poll_delay(task, timeout))
        latest = await _get(client, server, tool, task.task_id)
        if latest.status not in ENDED and _seen(latest) != _seen(task):
            await news(latest)
        task = latest
    return task


def _seen(task: mcp_types.Task) -> tuple[str, str | None, str]:
    return task.status, task.status_message, task.last_updated_at


def _news(heard: Callable[[], None], on_status: StatusHandler | None) -> StatusHandler:
    """News of a task: the call is not silent, and whoever follows it is told."""

    async def news(task: mcp_types.Task) -> None:
        heard()
        if on_status is not None:
            await on_status(task)

    return news
