"""One MCP tool as a Python callable: `tool(a=1)` from sync code, `await tool.acall(a=1)` from async code."""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import mcp_types

from mcpagents.connections.interaction import Interaction
from mcpagents.errors import ToolDefinitionChangedError, ToolError
from mcpagents.tools.arguments import ArgumentChecker
from mcpagents.tools.content import error_message, tool_output

if TYPE_CHECKING:
    from mcpagents.connections.connection import Connection
    from mcpagents.tools.collection import ToolCollection


@dataclass(frozen=True)
class Progress:
    """A progress report of a running tool call."""

    tool: str
    server: str
    progress: float
    total: float | None
    message: str | None


ProgressCallback = Callable[[Progress], Awaitable[None] | None]


class CallOptions(TypedDict, total=False):
    """The options of one tool call (`Tool.call_with`, `Tool.acall_with`)."""

    on_progress: ProgressCallback | None
    timeout: float | None
    meta: Mapping[str, Any] | None
    interaction: Interaction | None


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
    def timeout(self) -> float:
        """The silence a call allows unless it says otherwise: its server's timeout, else the collection's."""
        return self._connection.spec.timeout or self._collection.timeout

    @property
    def signature(self) -> str:
        return self._checker.signature()

    def __repr__(self) -> str:
        return f"<Tool {self.name}{self.signature} on {self.server!r}>"

    def __call__(self, **arguments: Any) -> Any:
        """Call the tool from sync code and return its value (see `acall`)."""
        return self._collection.portal.call(self.acall_with, arguments)

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
    ) -> Any:
        """`await tool.acall(**arguments)` with per-call options: a progress callback (sync or async),
        `timeout`, the longest silence allowed (each progress report restarts it), `meta`, sent
        as the request's `_meta`, and `interaction`, who answers what the server asks meanwhile
        (unless the collection has handlers of its own)."""
        return await self._collection.portal.acall(
            self._call, arguments, on_progress, timeout, meta, interaction
        )

    async def _call(
        self,
        arguments: Mapping[str, Any],
        on_progress: ProgressCallback | None,
        timeout: float | None,
        meta: Mapping[str, Any] | None,
        interaction: Interaction | None,
    ) -> Any:
        if self._collection.is_blocked(self.name):
            raise ToolDefinitionChangedError(
                f"tool {self.name!r} on server {self.server!r} changed its definition since it was pinned;"
                " it stays blocked until `accept_changes()` is called",
                tool=self.name,
                server=self.server,
            )
        data = self._checker.check(arguments)
        callback = on_progress or self._collection.on_progress
        result = await self._connection.call_tool(
            self.remote_name,
            data,
            timeout=timeout or self.timeout,
            on_progress=None if callback is None else self._progress_relay(callback),
            meta=meta,
            interaction=interaction,
        )
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
            outcome = callback(Progress(self.name, self.server, done, total, message))
            if inspect.isawaitable(outcome):
                await outcome

        return relay
