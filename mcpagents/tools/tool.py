"""One MCP tool as a Python callable: `tool(a=1)` from sync code, `await tool.acall(a=1)` from async code."""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

import mcp_types

from mcpagents.connections.interaction import Interaction
from mcpagents.connections.tasks import StatusHandler, TaskHandle, call_as_task, start_task, status_line
from mcpagents.errors import ToolArgumentError, ToolDefinitionChangedError, ToolError, UsageError
from mcpagents.tools.arguments import ArgumentChecker
from mcpagents.tools.content import error_message, tool_output

if TYPE_CHECKING:
    from mcpagents.connections.connection import Connection
    from mcpagents.tools.collection import ToolCollection


@dataclass(frozen=True)
class Progress:
    """A progress report of a running tool call. A call that runs as an MCP task reports each state
    its task is seen in while it runs (`message`: the status message, after the status when it is not
    `working`, as in `input_required: ...`), with the task's id in `task_id`."""

    tool: str
    server: str
    progress: float
    total: float | None
    message: str | None
    task_id: str | None = None


ProgressCallback = Callable[[Progress], Awaitable[None] | None]


class CallOptions(TypedDict, total=False):
    """The options of one tool call (`Tool.call_with`, `Tool.acall_with`)."""

    on_progress: ProgressCallback | None
    timeout: float | None
    meta: Mapping[str, Any] | None
    interaction: Interaction | None
    as_task: bool | None


def fingerprint(definition: mcp_types.Tool) -> str:
    """A hash of what a model is shown of a tool: name, description and both schemas."""
    shown = {
        "name": definition.name,
        "description": definition.description,
        "input_schema": definition.input_schema,
        "output_schema": definition.output_schema,
    }
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Tool:
    """A tool offered by an MCP server, as it appears in a `ToolCollection`.

    `name` is the name in the collection (prefixed `server__tool` on a collision), `remote_name` the
    name on the server. Arguments are checked against `input_schema` before anything is sent. Calls
    run in the loop of `collection`, which says whether the tool is blocked and what the defaults are.
    """

    def __init__(
        self,
        definition: mcp_types.Tool,
        *,
        name: str,
        connection: Connection,
        collection: ToolCollection,
    ) -> None:
        self.definition = definition
        self.name = name
        self.remote_name = definition.name
        self.server = connection.name
        self.fingerprint = fingerprint(definition)
        self._connection = connection
        self._collection = collection
        self._checker = ArgumentChecker(name, definition.input_schema, server=connection.name)

    @property
    def collection(self) -> ToolCollection:
        """The collection the tool belongs to (an agent given the tool opens it)."""
        return self._collection

    @property
    def description(self) -> str:
        return self.definition.description or ""

    @property
    def title(self) -> str | None:
        return self.definition.title or (self.annotations.title if self.annotations else None)

    @property
    def input_schema(self) -> dict[str, Any]:
        return self.definition.input_schema

    @property
    def output_schema(self) -> dict[str, Any] | None:
        return self.definition.output_schema

    @property
    def annotations(self) -> mcp_types.ToolAnnotations | None:
        return self.definition.annotations

    @property
    def read_only(self) -> bool:
        """The server says the tool changes nothing (`readOnlyHint`; default False)."""
        return bool(self.annotations and self.annotations.read_only_hint)

    @property
    def idempotent(self) -> bool:
        """Calling again with the same arguments has no further effect (`idempotentHint`; default False)."""
        return bool(self.annotations and self.annotations.idempotent_hint)

    @property
    def task_support(self) -> Literal["forbidden", "optional", "required"]:
        """Whether the tool may (`optional`) or must (`required`) run as an MCP task
        (`execution.taskSupport`; default forbidden)."""
        execution = self.definition.execution
        return (execution.task_support if execution else None) or "forbidden"

    @property
    def timeout(self) -> float:
        """The silence a call allows unless it says otherwise: its server's timeout, else the collection's."""
        return self._connection.spec.timeout or self._collection.timeout

    @property
    def signature(self) -> str:
        return self._checker.signature()

    def __repr__(self) -> str:
        return f"<Tool {self.name}{self.signature} on {self.server!r}>"

    def __call__(self, *args: Any, **arguments: Any) -> Any:
        """Call the tool from sync code and return its value (see `acall`). Positional arguments
        fill the input schema's properties in order, the required ones first (as in a CodeAgent's code)."""
        return self._collection.portal.call(self.acall_with, self._named(args, arguments))

    def _named(self, args: tuple[Any, ...], arguments: dict[str, Any]) -> dict[str, Any]:
        if not args:
            return arguments
        properties = list(self.input_schema.get("properties") or {})
        required = set(self.input_schema.get("required") or ())
        order = [name for name in properties if name in required] + [
            n for n in properties if n not in required
        ]
        if len(args) > len(order):
            raise ToolArgumentError(
                f"{self.name}() takes {len(order)} arguments ({', '.join(order) or 'none'}) but"
                f" {len(args)} were given positionally",
                tool=self.name,
                server=self.server,
            )
        named = dict(zip(order, args, strict=False))
        if twice := sorted(named.keys() & arguments.keys()):
            raise ToolArgumentError(
                f"{self.name}() got {twice[0]!r} both by position and by name",
                tool=self.name,
                server=self.server,
            )
        return named | arguments

    async def acall(self, **arguments: Any) -> Any:
        """Call the tool and return its value: structured data, text, or content objects.

        Raises `ToolArgumentError` for arguments that do not fit the schema, `ToolError` when the
        server reports an error, `ToolTimeoutError` after `timeout` seconds of silence and
        `MCPServerError` when the server cannot be reached or dies.
        """
        return await self.acall_with(arguments)

    def call_with(self, arguments: Mapping[str, Any], **options: Unpack[CallOptions]) -> Any:
        """`tool(**arguments)` with per-call options (see `acall_with`)."""
        return self._collection.portal.call(self.acall_with, arguments, **options)

    async def acall_with(
        self,
        arguments: Mapping[str, Any],
        *,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
        meta: Mapping[str, Any] | None = None,
        interaction: Interaction | None = None,
        as_task: bool | None = None,
    ) -> Any:
        """`await tool.acall(**arguments)` with per-call options: a progress callback (sync or async),
        `timeout`, the longest silence allowed (each progress report restarts it), `meta`, sent
        as the request's `_meta`, `interaction`, who answers what the server asks meanwhile
        (unless the collection has handlers of its own), and `as_task`: whether the call runs as an
        MCP task (default: when the tool requires it; True for a tool whose task support is optional).
        A call that runs as a task is waited for here; cancelling it cancels the task."""
        return await self._collection.portal.acall(
            self._call, arguments, on_progress, timeout, meta, interaction, as_task
        )

    def start(self, **arguments: Any) -> TaskHandle:
        """Start the tool as an MCP task from sync code and return its handle (see `astart`)."""
        return self._collection.portal.call(self._start, arguments)

    async def astart(self, **arguments: Any) -> TaskHandle:
        """Start the tool as an MCP task and return its handle at once, without waiting for the
        result: ask for its status, wait for its result or cancel it (see `TaskHandle`). Raises
        `UsageError` for a tool that cannot run as a task (`task_support` "forbidden"). A 2026-07-28
        server decides by itself whether a call becomes a task (the Tasks extension): the handle
        comes when it has decided, and `ToolError` when it answered the call at once instead."""
        return await self._collection.portal.acall(self._start, arguments)

    def task(self, task_id: str) -> TaskHandle:
        """The handle of a task of this tool already running on its server, known by its id (from
        `Progress.task_id`, say). A server keeps a task only on the connection that started it."""
        return self._handle(task_id)

    async def _call(
        self,
        arguments: Mapping[str, Any],
        on_progress: ProgressCallback | None,
        timeout: float | None,
        meta: Mapping[str, Any] | None,
        interaction: Interaction | None,
        as_task: bool | None,
    ) -> Any:
        self._check_unblocked()
        data = self._checker.check(arguments)
        callback = on_progress or self._collection.on_progress
        if self._runs_as_task(as_task) and not self._connection.server_decides_tasks:
            result = await call_as_task(
                self._connection,
                self.remote_name,
                data,
                timeout=timeout or self.timeout,
                on_status=None if callback is None else self._status_relay(callback),
                meta=meta,
                interaction=interaction,
            )
        else:
            result = await self._connection.call_tool(
                self.remote_name,
                data,
                timeout=timeout or self.timeout,
                on_progress=None if callback is None else self._progress_relay(callback),
                on_status=None if callback is None else self._status_relay(callback),
                meta=meta,
                interaction=interaction,
            )
        return await self._output(result)

    async def _start(self, arguments: Mapping[str, Any]) -> TaskHandle:
        self._check_unblocked()
        if self.task_support == "forbidden" and not self._connection.server_decides_tasks:
            raise UsageError(
                f"tool {self.name!r} on server {self.server!r} cannot run as an MCP task (its task support"
                " is forbidden or not declared); call it with `acall` instead"
            )
        data = self._checker.check(arguments)
        task = await start_task(self._connection, self.remote_name, data, timeout=self.timeout)
        return self._handle(task.task_id, task)

    def _handle(self, task_id: str, task: mcp_types.Task | None = None) -> TaskHandle:
        callback = self._collection.on_progress
        return TaskHandle(
            task_id,
            tool=self.remote_name,
            connection=self._connection,
            portal=self._collection.portal,
            finish=self._output,
            timeout=self.timeout,
            on_status=None if callback is None else self._status_relay(callback),
            task=task,
        )

    def _check_unblocked(self) -> None:
        if self._collection.is_blocked(self.name):
            raise ToolDefinitionChangedError(
                f"tool {self.name!r} on server {self.server!r} changed its definition since it was pinned;"
                " it stays blocked until `accept_changes()` is called",
                tool=self.name,
                server=self.server,
            )

    def _runs_as_task(self, as_task: bool | None) -> bool:
        support = self.task_support
        if as_task is None:
            return support == "required"
        if as_task and support == "forbidden":
            raise UsageError(
                f"tool {self.name!r} on server {self.server!r} cannot run as an MCP task (its task support"
                " is forbidden or not declared); call it without `as_task=True`"
            )
        if not as_task and support == "required":
            raise UsageError(
                f"tool {self.name!r} on server {self.server!r} runs only as an MCP task (its task support"
                " is required); call it without `as_task=False`"
            )
        return as_task

    async def _output(self, result: mcp_types.CallToolResult) -> Any:
        """The value of a call's result, once the changes it announced are seen; `ToolError` for an error."""
        await self._connection.settled()
        if result.is_error:
            message = error_message(result, self.remote_name)
            raise ToolError(
                f"tool {self.name!r} on server {self.server!r} failed: {message}",
                tool=self.name,
                server=self.server,
            )
        return tool_output(result, self.output_schema)

    def _progress_relay(
        self, callback: ProgressCallback
    ) -> Callable[[float, float | None, str | None], Awaitable[None]]:
        async def relay(done: float, total: float | None, message: str | None) -> None:
            await _report(callback, Progress(self.name, self.server, done, total, message))

        return relay

    def _status_relay(self, callback: ProgressCallback) -> StatusHandler:
        """A task's states as progress reports, counted from 1 (a report's progress must grow)."""
        reports = itertools.count(1)

        async def relay(task: mcp_types.Task) -> None:
            progress = Progress(self.name, self.server, next(reports), None, status_line(task), task.task_id)
            await _report(callback, progress)

        return relay


async def _report(callback: ProgressCallback, progress: Progress) -> None:
    outcome = callback(progress)
    if inspect.isawaitable(outcome):
        await outcome
