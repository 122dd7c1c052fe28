"""ToolCollection: the tools of several MCP servers in one namespace, callable from sync and async code."""

from __future__ import annotations

import fnmatch
import inspect
import logging
import math
import os
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypedDict, TypeVar, Unpack

import anyio
import mcp_types
from mcp import Client, StdioServerParameters
from mcp.client import Transport
from mcp.server import MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.shared.uri_template import InvalidUriTemplate, UriTemplate
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import FileUrl

from mcpagents.connections.connection import Connection, ListKind
from mcpagents.connections.host_config import load_server_config
from mcpagents.connections.interaction import (
    ElicitationHandler,
    Interaction,
    LogHandler,
    SamplingHandler,
)
from mcpagents.connections.server_requests import ClientOffer
from mcpagents.connections.specs import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
    HttpServer,
    InProcessServer,
    ServerSpec,
    StdioServer,
    TransportServer,
)
from mcpagents.errors import ConfigError, MCPServerError, ToolNotFoundError, UsageError
from mcpagents.logs import LogLevel, default_log_dir
from mcpagents.portal import Portal, portal_here, shared_portal, spawn_detached
from mcpagents.tools.content import Resource, convert_content, resource_contents
from mcpagents.tools.local import FunctionTool, local_server
from mcpagents.tools.tool import ProgressCallback, Tool, fingerprint

logger = logging.getLogger("mcpagents")

ServerLike = ServerSpec | MCPServer | StdioServerParameters | FunctionTool[..., Any] | Transport | str
"""What `ToolCollection` makes a server of: a spec, an SDK `MCPServer`, `StdioServerParameters` or
transport, an `@tool` function, or an http(s) URL."""
ChangePolicy = Literal["warn", "block", "accept"]
ToolsChangedCallback = Callable[["ToolCollection"], Awaitable[None] | None]
ResourceUpdatedCallback = Callable[["ResourceUpdate"], Awaitable[None] | None]

_ONE_SERVER = (FunctionTool, MCPServer, StdioServerParameters, str, ServerSpec, AbstractAsyncContextManager)

DEFAULT_PATIENCE = 3.0
"""Seconds connecting waits for one more server to be ready before it goes on without the rest."""


class CollectionOptions(TypedDict, total=False):
    """The keyword options of `ToolCollection(...)`, as `from_mcp` and `from_config` pass them on."""

    timeout: float
    connect_timeout: float
    patience: float | None
    fail_fast: bool
    on_progress: ProgressCallback | None
    on_tools_changed: ToolsChangedCallback | None
    on_tool_change: ChangePolicy
    pinned: Mapping[str, str] | None
    log_dir: str | os.PathLike[str] | None
    elicitation: ElicitationHandler | None
    sampling: SamplingHandler | None
    on_log: LogHandler | None
    log_level: LogLevel | None
    roots: Sequence[str | os.PathLike[str]] | None


@dataclass(frozen=True)
class ToolChange:
    """A tool whose definition (description or schemas) differs from the one seen or pinned before."""

    server: str
    tool: str
    old_fingerprint: str
    new_fingerprint: str


class _Connecting:
    """A connect under way, which other tasks may wait for."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.error: Exception | None = None


class _Joining:
    """The task that lists every server's tools when the collection connects; it outlives `aconnect`
    while servers are still starting, so it belongs to the collection (cancelled by `aclose`)."""

    def __init__(self, starting: Iterable[str]) -> None:
        self.starting = set(starting)
        self.scope = anyio.CancelScope()
        self.ended = anyio.Event()
        self.arrived = anyio.Event()
        """Set when a server is listed or fails, for an `aconnect` waiting for the next one."""

    async def stop(self) -> None:
        self.scope.cancel()
        await self.ended.wait()


@dataclass(frozen=True)
class ServerStatus:
    name: str
    description: str
    connected: bool
    protocol_version: str | None
    tools: int
    error: MCPServerError | None
    starting: bool = False
    """Still starting after the collection connected: its tools join when it is ready."""


@dataclass(frozen=True)
class _Offered:
    server: str


Offered = TypeVar("Offered", bound=_Offered)


@dataclass(frozen=True)
class ResourceInfo(_Offered):
    uri: str
    name: str
    description: str | None
    mime_type: str | None


@dataclass(frozen=True)
class ResourceTemplateInfo(_Offered):
    """Resources made on demand: `uri_template` is an RFC 6570 template (`file:///{path}`)."""

    uri_template: str
    name: str
    description: str | None
    mime_type: str | None

    def matches(self, uri: str) -> bool:
        """Whether `uri` is one of the template's (matched as the MCP SDK's servers match it)."""
        try:
            return UriTemplate.parse(self.uri_template).match(uri) is not None
        except InvalidUriTemplate:
            return False


@dataclass(frozen=True)
class ResourceUpdate(_Offered):
    """A subscribed resource changed (`notifications/resources/updated`): read it to see how."""

    uri: str


@dataclass(frozen=True)
class Completion(_Offered):
    """Values a server suggests for an argument (at most 100); `total` counts all it has, when it
    says, and `has_more` tells that there are more than these."""

    values: tuple[str, ...]
    total: int | None
    has_more: bool


@dataclass(frozen=True)
class PromptInfo(_Offered):
    name: str
    description: str | None
    arguments: tuple[mcp_types.PromptArgument, ...]


@dataclass(frozen=True)
class PromptMessage:
    role: str
    content: Any


class ToolCollection:
    """The tools of one or more MCP servers.

    Open it with `with` (sync code) or `async with` (async code); iterate it for its tools, index it
    by name. Servers start concurrently. A server that fails to start is reported in `failures` and
    the others keep working, unless `fail_fast=True` (or every server fails). Opening waits until
    every server is ready, or until `patience` seconds pass without one more becoming ready (and one
    is): the servers still `starting` then join later (their tools are added and `on_tools_changed`
    is called), so one slow server (an npx download, a docker pull) holds up no other. `patience=None`
    and `fail_fast=True` wait for every server. Tool names of different servers that collide are
    both prefixed with their server's name: `server__tool`.

    `timeout` is the longest a tool call may stay silent (progress restarts it); `include` and
    `exclude` are glob patterns matched against `tool` and `server__tool`. When a server announces
    that its tools changed, the collection re-lists them and calls `on_tools_changed`; a tool whose
    description or schemas changed (or differ from `pinned` fingerprints) is logged and recorded
    in `changes`, and with `on_tool_change="block"` it refuses calls until `accept_changes()`.

    What servers ask while they work (see `mcpagents.connections.interaction`) is answered by
    `elicitation` and `sampling` when given (sampling is then offered to every server; otherwise
    only to servers whose spec says `sampling=True`, answered by the calling run), else by the
    interaction each call carries. Log messages go to the server's log file and `on_log`, at
    `log_level` and above. `roots` are offered to every server that has none of its own.
    """

    def __init__(
        self,
        servers: Iterable[ServerLike],
        *,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        patience: float | None = DEFAULT_PATIENCE,
        fail_fast: bool = False,
        on_progress: ProgressCallback | None = None,
        on_tools_changed: ToolsChangedCallback | None = None,
        on_tool_change: ChangePolicy = "warn",
        pinned: Mapping[str, str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        elicitation: ElicitationHandler | None = None,
        sampling: SamplingHandler | None = None,
        on_log: LogHandler | None = None,
        log_level: LogLevel | None = None,
        roots: Sequence[str | os.PathLike[str]] | None = None,
    ) -> None:
        specs = _specs(servers)
        names = Counter(spec.display_name for spec in specs)
        if duplicates := [name for name, count in names.items() if count > 1]:
            raise ConfigError(f"several servers are named {duplicates}: give them distinct `name=`s")
        self.include = tuple(include or ())
        self.exclude = tuple(exclude or ())
        self.timeout = timeout
        self.patience = patience
        self.fail_fast = fail_fast
        self.on_progress = on_progress
        self.on_tools_changed = on_tools_changed
        self.on_tool_change = on_tool_change
        self.pinned = dict(pinned or {})
        self.failures: dict[str, MCPServerError] = {}
        self.changes: list[ToolChange] = []
        self.blocked: set[str] = set()
        self._specs = specs
        self._log_dir = Path(log_dir) if log_dir is not None else default_log_dir()
        self._connect_timeout = connect_timeout
        self._interaction = (
            Interaction(elicitation=elicitation, sampling=sampling, on_log=on_log)
            if elicitation or sampling or on_log
            else None
        )
        self._log_level = log_level
        self._roots = None if roots is None else tuple(os.fspath(root) for root in roots)
        self._connections = self._new_connections()
        self._definitions: dict[str, list[mcp_types.Tool]] = {}
        self._tools: dict[str, Tool] = {}
        self._portal: Portal | None = None
        self._connecting: _Connecting | None = None
        self._joining: _Joining | None = None
        self._subscriptions: dict[tuple[str, str], ResourceUpdatedCallback] = {}
        self._listed = False
        self._closed = False

    @classmethod
    def from_mcp(
        cls,
        server_or_list: ServerLike | Iterable[ServerLike],
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        **options: Unpack[CollectionOptions],
    ) -> ToolCollection:
        """Tools of one server or several: specs, SDK `MCPServer`s or transports, `@tool` functions
        or URLs. `options` are those of `ToolCollection(...)`."""
        if isinstance(server_or_list, _ONE_SERVER):
            return cls([server_or_list], include=include, exclude=exclude, **options)
        return cls(server_or_list, include=include, exclude=exclude, **options)

    @classmethod
    def from_config(
        cls,
        path_or_dict: str | os.PathLike[str] | Mapping[str, Any],
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        *,
        servers: Sequence[str] | None = None,
        inputs: Mapping[str, str] | None = None,
        **options: Unpack[CollectionOptions],
    ) -> ToolCollection:
        """Tools of the servers in a host config (Claude Desktop, Cursor, Claude Code, VS Code).

        `servers` picks entries by name (all by default; the others are not read, so their variables need
        no value); `inputs` answers VS Code `${input:...}`s.
        """
        entries = load_server_config(path_or_dict, inputs=inputs, servers=servers)
        return cls(entries.values(), include=include, exclude=exclude, **options)

    # -- opening and closing ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.aconnect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def aconnect(self) -> None:
        """Start or reach every server and list its tools, concurrently, until all are listed or
        `patience` runs out (see the class). When that fails (its error is raised), the servers that
        started are stopped, and the collection may connect again."""
        if self._closed:
            raise UsageError("this ToolCollection is closed: make a new one")
        if self._portal is not None:
            raise UsageError("this ToolCollection is already connected")
        self._portal = portal_here()
        attempt = self._connecting = _Connecting()
        try:
            await self._connect_servers()
            if self._closed:
                raise UsageError("this ToolCollection was closed while it connected")
            failed = [self.failures[name] for name in self._connections if name in self.failures]
            if failed and (self.fail_fast or len(failed) == len(self._connections)):
                raise failed[0] if len(failed) == 1 else _combined(failed)
            self._listed = True
        except BaseException as error:
            if self._joining is not None:
                with anyio.CancelScope(shield=True):
                    await self._joining.stop()
            started = self._start_over()
            if isinstance(error, Exception):
                attempt.error = error
                await _close(started)
            else:
                # Cancelled (and not the waiting runs' error): a server may still be in its handshake,
                # which nothing bounds any more; it is stopped once that ends, without holding this task.
                spawn_detached(_close(started))
            raise
        finally:
            self._connecting = None
            attempt.done.set()
        for failure in failed:
            logger.warning("continuing without server %r: %s", failure.server, failure)
        for name in self.starting:
            logger.warning(
                "server %r is still starting: its tools join the collection when it is ready", name
            )

    async def _connect_servers(self) -> None:
        """List every server's tools in a task of the collection's own; return once every server is
        listed or failed, or once `patience` seconds pass without one more and one is listed."""
        joining = self._joining = _Joining(self._connections)
        spawn_detached(self._join_all(joining))
        patience = None if self.fail_fast else self.patience
        quiet_until = math.inf if patience is None else anyio.current_time() + patience
        while joining.starting and not joining.ended.is_set():
            now = anyio.current_time()
            if now >= quiet_until and self._definitions:
                break
            joining.arrived = anyio.Event()
            with anyio.move_on_at(quiet_until if now < quiet_until else math.inf):
                await joining.arrived.wait()
            if joining.arrived.is_set() and patience is not None:
                quiet_until = anyio.current_time() + patience
        self._rebuild()

    async def _join_all(self, joining: _Joining) -> None:
        try:
            with joining.scope:
                async with anyio.create_task_group() as tasks:
                    for connection in list(self._connections.values()):
                        tasks.start_soon(self._join, joining, connection)
        finally:
            joining.ended.set()
            joining.arrived.set()

    async def _join(self, joining: _Joining, connection: Connection) -> None:
        await self._load_tools(connection)
        joining.starting.discard(connection.name)
        joining.arrived.set()
        if not self._listed:
            return  # `aconnect` still waits: it builds the tools and reports the failures
        if error := self.failures.get(connection.name):
            logger.warning("continuing without server %r: %s", connection.name, error)
            return
        logger.info("server %r is ready: its tools joined the collection", connection.name)
        self._rebuild()
        await self._tools_changed()

    async def ensure_connected(self) -> bool:
        """Connect unless connected; while another task connects, wait for it to finish (and raise its
        error if it failed). True if this call connected the collection (and so should close it)."""
        while not self.connected:
            attempt = self._connecting
            if attempt is None:
                await self.aconnect()
                return True
            await attempt.done.wait()
            if attempt.error is not None:
                raise attempt.error
        return False

    def connect(self) -> None:
        """Sync twin of `aconnect`: the connections live in mcpagents' shared loop."""
        shared_portal().call(self.aconnect)

    @property
    def connected(self) -> bool:
        """Open, its tools listed, and not yet closed."""
        return self._listed and not self._closed

    async def aclose(self) -> None:
        """Close every connection (stopping stdio servers). Safe from any task, in any order, twice."""
        if self._portal is None:
            return
        self._closed = True
        await self._portal.acall(self._close_all)

    def close(self) -> None:
        """Sync twin of `aclose`."""
        if self._portal is not None:
            self._closed = True
            self._portal.call(self._close_all)

    async def _close_all(self) -> None:
        if self._joining is not None:
            await self._joining.stop()
        await _close(self._connections.values())

    def _start_over(self) -> list[Connection]:
        """After a failed connect: fresh connections for another try; returns the old ones, to close."""
        started = list(self._connections.values())
        self._connections = self._new_connections()
        self._joining = None
        self._definitions = {}
        self._tools = {}
        self._portal = None
        return started

    def _new_connections(self) -> dict[str, Connection]:
        return {
            spec.display_name: Connection(
                spec,
                log_dir=self._log_dir,
                connect_timeout=self._connect_timeout,
                request_timeout=self.timeout,
                on_list_changed=self._list_changed,
                offer=self._offer(spec),
                on_resource_updated=self._resource_updated,
            )
            for spec in self._specs
        }

    def _offer(self, spec: ServerSpec) -> ClientOffer:
        # `roots` and `sampling` are optional attributes of a spec (the bundled spec classes have them).
        roots = getattr(spec, "roots", None)
        if roots is None:
            roots = self._roots
        interaction = self._interaction
        return ClientOffer(
            interaction,
            sampling=bool(getattr(spec, "sampling", False) or (interaction and interaction.sampling)),
            roots=None if roots is None else tuple(root_of(root) for root in roots),
            log_level=self._log_level,
        )

    async def aset_roots(self, roots: Sequence[str | os.PathLike[str]], *, server: str | None = None) -> None:
        """Offer other roots to one server or to all; connected servers are told they changed."""
        chosen = tuple(root_of(os.fspath(root)) for root in roots)
        targets = [self._connections[server]] if server is not None else list(self._connections.values())
        for connection in targets:
            await self.portal.acall(connection.set_roots, chosen)

    def set_roots(self, roots: Sequence[str | os.PathLike[str]], *, server: str | None = None) -> None:
        """Sync twin of `aset_roots`."""
        self.portal.call(self.aset_roots, roots, server=server)

    @property
    def portal(self) -> Portal:
        """The event loop the connections live in, reachable from any thread or loop: `await
        portal.acall(fn, ...)` or `portal.call(fn, ...)` runs `fn` there. `UsageError` when the
        collection is not connected."""
        if self._portal is None:
            raise UsageError(
                "this ToolCollection is not connected: use `with ToolCollection...(...) as tools:` "
                "(or `async with`), or call `connect()` / `await aconnect()` first"
            )
        return self._portal

    # -- tools ----------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __getitem__(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise self._not_found(name) from None

    @property
    def tools(self) -> list[Tool]:
        return list(self._tools.values())

    @property
    def servers(self) -> list[str]:
        return list(self._connections)

    @property
    def starting(self) -> list[str]:
        """The servers still starting: once the collection is open, they join when they are ready."""
        joining = self._joining
        return [name for name in self._connections if joining is not None and name in joining.starting]

    @property
    def instructions(self) -> dict[str, str]:
        """What the connected servers say about using them (their `instructions`), by server name."""
        return {
            name: text for name, c in self._connections.items() if (text := c.instructions) and text.strip()
        }

    def status(self) -> list[ServerStatus]:
        """Each server: connected or not, its protocol version, its tool count, its last error, and
        whether it is still starting."""
        starting = set(self.starting)
        return [
            ServerStatus(
                name,
                connection.spec.describe(),
                connection.connected,
                connection.protocol_version,
                sum(tool.server == name for tool in self._tools.values()),
                self.failures.get(name),
                name in starting,
            )
            for name, connection in self._connections.items()
        ]

    def fingerprints(self) -> dict[str, str]:
        """`{tool name: fingerprint}`, to pin later with `ToolCollection(..., pinned=...)`."""
        return {name: tool.fingerprint for name, tool in self._tools.items()}

    def is_blocked(self, name: str) -> bool:
        """Whether calls to tool `name` are refused until `accept_changes()` (`on_tool_change="block"`)."""
        return name in self.blocked

    def accept_changes(self, *names: str) -> None:
        """Unblock changed tools (all if no names are given) and pin their new definitions."""
        for name in names or tuple(self.blocked):
            self.blocked.discard(name)
            if name in self._tools:
                self.pinned[name] = self._tools[name].fingerprint

    async def arefresh(self) -> None:
        """List every server's tools again, and retry the servers that failed."""
        await self.portal.acall(self._connect_all, self._connections.values())

    def refresh(self) -> None:
        """Sync twin of `arefresh`."""
        self.portal.call(self._connect_all, self._connections.values())

    async def _connect_all(self, connections: Iterable[Connection]) -> None:
        async with anyio.create_task_group() as tasks:
            for connection in connections:
                tasks.start_soon(self._load_tools, connection)
        self._rebuild()

    async def _load_tools(self, connection: Connection) -> None:
        try:
            definitions = await connection.request(
                "tools/list", lambda client: _every_page(client.list_tools, "tools")
            )
        except MCPServerError as error:
            self.failures[connection.name] = error
            return
        self.failures.pop(connection.name, None)
        self._note_changes(connection.name, self._definitions.get(connection.name), definitions)
        self._definitions[connection.name] = definitions

    async def _list_changed(self, connection: Connection, kind: ListKind) -> None:
        if kind != "tools":
            return
        await self._load_tools(connection)
        self._rebuild()
        await self._tools_changed()

    async def _tools_changed(self) -> None:
        if self.on_tools_changed is None:
            return
        try:
            outcome = self.on_tools_changed(self)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:  # a callback's bug must not end the connection or the joining that called it
            logger.exception("on_tools_changed failed")

    def _rebuild(self) -> None:
        chosen = [
            (server, definition)
            for server, definitions in self._definitions.items()
            for definition in definitions
            if self._wanted(server, definition.name)
        ]
        counts = Counter(definition.name for _, definition in chosen)
        tools: dict[str, Tool] = {}
        for server, definition in chosen:
            name = definition.name if counts[definition.name] == 1 else f"{server}__{definition.name}"
            tools[name] = Tool(definition, name=name, connection=self._connections[server], collection=self)
        for name, tool in tools.items():
            pin = self.pinned.get(name)
            if pin is not None and pin != tool.fingerprint and name not in self.blocked:
                self._record_change(ToolChange(tool.server, name, pin, tool.fingerprint))
        self._tools = tools

    def _note_changes(
        self, server: str, before: list[mcp_types.Tool] | None, after: list[mcp_types.Tool]
    ) -> None:
        if before is None:
            return
        old = {definition.name: fingerprint(definition) for definition in before}
        for definition in after:
            new = fingerprint(definition)
            if definition.name in old and old[definition.name] != new:
                self._record_change(ToolChange(server, definition.name, old[definition.name], new))

    def _record_change(self, change: ToolChange) -> None:
        if self.on_tool_change == "accept":
            return
        self.changes.append(change)
        verb = "is blocked" if self.on_tool_change == "block" else "now uses the new definition"
        logger.warning(
            "tool %r on server %r changed its definition (%s -> %s); it %s",
            change.tool,
            change.server,
            change.old_fingerprint,
            change.new_fingerprint,
            verb,
        )
        if self.on_tool_change == "block":
            self.blocked.update({change.tool, f"{change.server}__{change.tool}"})

    def _wanted(self, server: str, tool: str) -> bool:
        names = (tool, f"{server}__{tool}")
        if self.include and not any(fnmatch.fnmatchcase(n, p) for n in names for p in self.include):
            return False
        return not any(fnmatch.fnmatchcase(n, p) for n in names for p in self.exclude)

    def _not_found(self, name: str) -> ToolNotFoundError:
        close = [known for known in self._tools if name in known or known in name]
        hint = f"; did you mean {close}?" if close else f"; it has: {', '.join(self._tools) or 'no tools'}"
        broken = f" (servers that failed: {', '.join(self.failures)})" if self.failures else ""
        if starting := self.starting:
            broken += (
                f" (servers still starting, whose tools join when they are ready: {', '.join(starting)})"
            )
        return ToolNotFoundError(f"no tool named {name!r} in this collection{hint}{broken}", tool=name)

    # -- resources and prompts -----------------------------------------------------------------

    async def alist_resources(self) -> list[ResourceInfo]:
        """The resources of every connected server."""
        return await self.portal.acall(self._list_resources)

    def list_resources(self) -> list[ResourceInfo]:
        """Sync twin of `alist_resources`."""
        return self.portal.call(self._list_resources)

    async def aread_resource(self, uri: str, *, server: str | None = None) -> list[Resource]:
        """Read a resource; pass `server` when several servers are connected and none lists `uri`."""
        return await self.portal.acall(self._read_resource, uri, server)

    def read_resource(self, uri: str, *, server: str | None = None) -> list[Resource]:
        """Sync twin of `aread_resource`."""
        return self.portal.call(self._read_resource, uri, server)

    async def alist_resource_templates(self) -> list[ResourceTemplateInfo]:
        """The resource templates of every connected server; `aread_resource` reads their URIs."""
        return await self.portal.acall(self._list_resource_templates)

    def list_resource_templates(self) -> list[ResourceTemplateInfo]:
        """Sync twin of `alist_resource_templates`."""
        return self.portal.call(self._list_resource_templates)

    async def asubscribe(
        self, uri: str, callback: ResourceUpdatedCallback, *, server: str | None = None
    ) -> None:
        """Call `callback` (sync or async) with a `ResourceUpdate` each time the server says that
        resource `uri` (or one under it) changed, until `aunsubscribe(uri)`. A subscription lasts as
        long as the connection: a server started again must be subscribed to again."""
        await self.portal.acall(self._subscribe, uri, callback, server)

    def subscribe(self, uri: str, callback: ResourceUpdatedCallback, *, server: str | None = None) -> None:
        """Sync twin of `asubscribe`."""
        self.portal.call(self._subscribe, uri, callback, server)

    async def aunsubscribe(self, uri: str, *, server: str | None = None) -> None:
        """End the subscription to resource `uri`."""
        await self.portal.acall(self._unsubscribe, uri, server)

    def unsubscribe(self, uri: str, *, server: str | None = None) -> None:
        """Sync twin of `aunsubscribe`."""
        self.portal.call(self._unsubscribe, uri, server)

    async def acomplete(
        self,
        ref: str | PromptInfo | ResourceTemplateInfo,
        argument: str,
        value: str = "",
        *,
        context: Mapping[str, str] | None = None,
        server: str | None = None,
    ) -> Completion:
        """Values the server suggests for `argument` of a prompt (`ref`: its name, or a `PromptInfo`)
        or of a resource template (a `ResourceTemplateInfo`), starting with `value`; `context` holds
        the arguments already chosen."""
        return await self.portal.acall(self._complete, ref, argument, value, context, server)

    def complete(
        self,
        ref: str | PromptInfo | ResourceTemplateInfo,
        argument: str,
        value: str = "",
        *,
        context: Mapping[str, str] | None = None,
        server: str | None = None,
    ) -> Completion:
        """Sync twin of `acomplete`."""
        return self.portal.call(self._complete, ref, argument, value, context, server)

    async def alist_prompts(self) -> list[PromptInfo]:
        """The prompts of every connected server."""
        return await self.portal.acall(self._list_prompts)

    def list_prompts(self) -> list[PromptInfo]:
        """Sync twin of `alist_prompts`."""
        return self.portal.call(self._list_prompts)

    async def aget_prompt(
        self, name: str, arguments: Mapping[str, str] | None = None, *, server: str | None = None
    ) -> list[PromptMessage]:
        """Render a prompt into messages (text as `str`, other content as content objects)."""
        return await self.portal.acall(self._get_prompt, name, arguments, server)

    def get_prompt(
        self, name: str, arguments: Mapping[str, str] | None = None, *, server: str | None = None
    ) -> list[PromptMessage]:
        """Sync twin of `aget_prompt`."""
        return self.portal.call(self._get_prompt, name, arguments, server)

    def _live_connections(self) -> list[Connection]:
        """The servers listed: not failed, nor still starting (asking those would wait for them)."""
        starting = set(self.starting)
        return [
            c for name, c in self._connections.items() if name not in self.failures and name not in starting
        ]

    async def _list_resources(self) -> list[ResourceInfo]:
        found: list[ResourceInfo] = []
        for connection in self._live_connections():
            if not await _offers(connection, "resources"):
                continue
            resources = await connection.request(
                "resources/list", lambda client: _every_page(client.list_resources, "resources")
            )
            found += [
                ResourceInfo(connection.name, str(r.uri), r.name, r.description, r.mime_type)
                for r in resources
            ]
        return found

    async def _list_resource_templates(self) -> list[ResourceTemplateInfo]:
        found: list[ResourceTemplateInfo] = []
        for connection in self._live_connections():
            if not await _offers(connection, "resources"):
                continue
            templates = await connection.request(
                "resources/templates/list",
                lambda client: _every_page(client.list_resource_templates, "resource_templates"),
            )
            found += [
                ResourceTemplateInfo(connection.name, t.uri_template, t.name, t.description, t.mime_type)
                for t in templates
            ]
        return found

    async def _read_resource(self, uri: str, server: str | None) -> list[Resource]:
        connection = await self._resource_owner(uri, server)
        result = await connection.request(f"resources/read {uri}", lambda client: client.read_resource(uri))
        return [resource_contents(contents) for contents in result.contents]

    async def _resource_owner(self, uri: str, server: str | None) -> Connection:
        """The server of resource `uri`: the one that lists it, else the one with a template for it."""

        async def owners() -> list[_Offered]:
            listed: list[_Offered] = [item for item in await self._list_resources() if item.uri == uri]
            return listed or [item for item in await self._list_resource_templates() if item.matches(uri)]

        return await self._owner_of(server, owners, lambda item: True, f"resource {uri!r}")

    async def _subscribe(self, uri: str, callback: ResourceUpdatedCallback, server: str | None) -> None:
        connection = await self._resource_owner(uri, server)
        client = await connection.connect()
        resources = client.server_capabilities.resources
        if not (resources and resources.subscribe):
            raise MCPServerError(
                f"server {connection.name!r} does not offer resource subscriptions (its capabilities have"
                f" no resources.subscribe): read {uri!r} again when you need it",
                server=connection.name,
            )
        if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
            raise MCPServerError(
                f"server {connection.name!r} speaks MCP {client.protocol_version}, whose resource updates"
                " come over subscriptions/listen, which mcpagents does not use for resources yet: read"
                f" {uri!r} again when you need it",
                server=connection.name,
            )
        self._subscriptions[(connection.name, uri)] = callback
        try:
            await connection.request(f"resources/subscribe {uri}", partial(_subscription, "subscribe", uri))
        except BaseException:
            self._subscriptions.pop((connection.name, uri), None)
            raise

    async def _unsubscribe(self, uri: str, server: str | None) -> None:
        keys = [key for key in self._subscriptions if key[1] == uri and server in (None, key[0])]
        if len(keys) != 1:
            subscribed = sorted(f"{uri} ({server})" for server, uri in self._subscriptions)
            problem = "several servers have subscriptions to" if keys else "there is no subscription to"
            raise UsageError(f"{problem} resource {uri!r} (pass `server=`); the subscriptions: {subscribed}")
        del self._subscriptions[keys[0]]
        connection = self._connections[keys[0][0]]
        if connection.connected:
            await connection.request(
                f"resources/unsubscribe {uri}", partial(_subscription, "unsubscribe", uri)
            )

    async def _resource_updated(self, connection: Connection, uri: str) -> None:
        for (server, subscribed), callback in list(self._subscriptions.items()):
            if server != connection.name or not (
                uri == subscribed or uri.startswith(subscribed.rstrip("/") + "/")
            ):
                continue
            try:
                outcome = callback(ResourceUpdate(server, uri))
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:  # a callback's bug must not end the connection that delivers updates
                logger.exception("the callback for updates of resource %r on server %r failed", uri, server)

    async def _complete(
        self,
        ref: str | PromptInfo | ResourceTemplateInfo,
        argument: str,
        value: str,
        context: Mapping[str, str] | None,
        server: str | None,
    ) -> Completion:
        reference: mcp_types.PromptReference | mcp_types.ResourceTemplateReference
        if isinstance(ref, ResourceTemplateInfo):
            reference = mcp_types.ResourceTemplateReference(type="ref/resource", uri=ref.uri_template)
            what = f"resource template {ref.uri_template!r}"
        else:
            name = ref if isinstance(ref, str) else ref.name
            reference = mcp_types.PromptReference(type="ref/prompt", name=name)
            what = f"prompt {name!r}"
        if isinstance(ref, str):
            connection = await self._owner_of(server, self._list_prompts, lambda item: item.name == ref, what)
        else:
            connection = self._connections[ref.server]
        client = await connection.connect()
        if client.server_capabilities.completions is None:
            raise MCPServerError(
                f"server {connection.name!r} does not complete arguments (its capabilities have no"
                f" completions): list the values of {what} another way",
                server=connection.name,
            )
        result = await connection.request(
            f"completion/complete of argument {argument!r} of {what}",
            lambda client: client.complete(
                reference, {"name": argument, "value": value}, dict(context) if context else None
            ),
        )
        found = result.completion
        return Completion(connection.name, tuple(found.values), found.total, bool(found.has_more))

    async def _list_prompts(self) -> list[PromptInfo]:
        found: list[PromptInfo] = []
        for connection in self._live_connections():
            if not await _offers(connection, "prompts"):
                continue
            prompts = await connection.request(
                "prompts/list", lambda client: _every_page(client.list_prompts, "prompts")
            )
            found += [
                PromptInfo(connection.name, p.name, p.description, tuple(p.arguments or ())) for p in prompts
            ]
        return found

    async def _get_prompt(
        self, name: str, arguments: Mapping[str, str] | None, server: str | None
    ) -> list[PromptMessage]:
        connection = await self._owner_of(
            server, self._list_prompts, lambda item: item.name == name, f"prompt {name!r}"
        )
        result = await connection.request(
            f"prompts/get {name}", lambda client: client.get_prompt(name, dict(arguments or {}))
        )
        return [PromptMessage(message.role, convert_content(message.content)) for message in result.messages]

    async def _owner_of(
        self,
        server: str | None,
        listing: Callable[[], Awaitable[list[Offered]]],
        matches: Callable[[Offered], bool],
        what: str,
    ) -> Connection:
        """The connection to ask for an item: the named server, the only one, or the one listing it."""
        if server is not None:
            if server not in self._connections:
                raise ConfigError(f"no server named {server!r}; the servers are {self.servers}")
            return self._connections[server]
        live = self._live_connections()
        if len(live) == 1:
            return live[0]
        owners = [item.server for item in await listing() if matches(item)]
        if len(owners) != 1:
            problem = "several servers offer" if owners else "no server lists"
            raise ConfigError(f"{problem} {what}: pass `server=` (one of {self.servers})")
        return self._connections[owners[0]]


async def _close(connections: Iterable[Connection]) -> None:
    async with anyio.create_task_group() as tasks:
        for connection in connections:
            tasks.start_soon(connection.aclose)


async def _every_page(fetch: Callable[..., Awaitable[Any]], field: str) -> list[Any]:
    """Every item of a paginated listing (`tools`, `resources` or `prompts`)."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        page = await fetch(cursor=cursor)
        items += getattr(page, field)
        cursor = page.next_cursor
        if not cursor:
            return items


async def _subscription(verb: Literal["subscribe", "unsubscribe"], uri: str, client: Client) -> object:
    # 2026-07-28 deprecates resources/subscribe; 2025-era servers are the ones that take it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        send = client.subscribe_resource if verb == "subscribe" else client.unsubscribe_resource
        return await send(uri)


async def _offers(connection: Connection, feature: Literal["resources", "prompts"]) -> bool:
    client = await connection.connect()
    return getattr(client.server_capabilities, feature) is not None


def _specs(servers: Iterable[ServerLike]) -> list[ServerSpec]:
    specs: list[ServerSpec] = []
    functions: list[FunctionTool[..., Any]] = []
    for server in servers:
        match server:
            case FunctionTool():
                functions.append(server)
            case MCPServer():
                specs.append(InProcessServer(server))
            case StdioServerParameters():
                specs.append(StdioServer(server.command, server.args, server.env, server.cwd))
            case str() if server.startswith(("http://", "https://")):
                specs.append(HttpServer(server))
            case ServerSpec():
                specs.append(server)
            case AbstractAsyncContextManager():
                specs.append(TransportServer(server))
            case _:
                raise TypeError(
                    f"cannot make an MCP server of {server!r}: pass StdioServer(...), HttpServer(...), "
                    "an SDK MCPServer or transport, an http(s) URL, or functions decorated with @tool"
                )
    if functions:
        specs.append(local_server(functions))
    return specs


def root_of(path_or_uri: str) -> mcp_types.Root:
    """An MCP root: a `file://` URI as given, or a path made absolute as one."""
    if "://" in path_or_uri:
        if not path_or_uri.startswith("file://"):
            raise ConfigError(f"root {path_or_uri!r} is neither a path nor a file:// URI (roots are folders)")
        return mcp_types.Root(uri=FileUrl(path_or_uri))
    path = Path(path_or_uri).expanduser().resolve()
    return mcp_types.Root(uri=FileUrl(path.as_uri()), name=path.name or str(path))


def _combined(errors: list[MCPServerError]) -> MCPServerError:
    names = ", ".join(repr(error.server) for error in errors)
    details = "\n\n".join(str(error) for error in errors)
    return MCPServerError(f"no server could be started ({names}):\n\n{details}", server=errors[0].server)
