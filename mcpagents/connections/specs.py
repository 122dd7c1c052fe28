"""Descriptions of MCP servers: how to reach one, and under which name.

A spec is anything with the members of `ServerSpec`; its `open(link)` hands the connection what an
SDK `Client` connects through (a transport, or a server object running in this process), so a new
transport needs a new spec and no change elsewhere. `TransportServer` wraps any SDK transport.
Transports are imported when a spec is opened: describing servers stays cheap to import.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, runtime_checkable
from urllib.parse import urlsplit

from mcpagents.errors import ConfigError, MCPServerError

if TYPE_CHECKING:
    import anyio
    import httpx2
    from mcp.client import Transport
    from mcp.server import MCPServer, Server

    from mcpagents.logs import ServerLog
    from mcpagents.sign_in.options import OAuth

DEFAULT_TIMEOUT = 60.0
"""Seconds a tool call may stay silent (progress restarts the count), unless a server says otherwise."""
DEFAULT_CONNECT_TIMEOUT = 30.0
"""Seconds a server has to finish the MCP handshake."""

ProtocolMode = Literal["auto", "legacy"]
"""`auto` tries the 2026-07-28 protocol first and falls back to the initialize handshake;
`legacy` goes straight to the handshake (2025-11-25 and earlier)."""

HttpTransport = Literal["streamable-http", "sse"]

ClientTarget: TypeAlias = "Transport | MCPServer | Server[Any]"
"""What an SDK `Client` connects through: a transport, or a server running in this process."""

DEFAULT_MAX_MESSAGE_BYTES = 32 * 2**20
"""The longest line a stdio server may write: far beyond a legitimate message (a tool result with a few
large images), low enough that a runaway server is stopped before it fills the memory."""

_LAUNCHERS = frozenset(
    {"python", "python3", "node", "npx", "uv", "uvx", "pipx", "bun", "bunx", "deno", "docker", "sh", "bash"}
)


class ServerProcess(Protocol):
    """A server process a transport runs, as far as errors need to tell about it."""

    @property
    def running(self) -> bool:
        """Alive with its output open, as far as the event loop has seen."""
        ...

    @property
    def exited(self) -> anyio.Event:
        """Set once its output ended (it died, or closed its stdout)."""
        ...

    @property
    def exit_code(self) -> int | None: ...

    def describe_exit(self) -> str:
        """'exited with code 3', 'was killed by SIGKILL', or 'closed its stdout'."""
        ...


@dataclass
class ServerLink:
    """What a connection gives `ServerSpec.open` for one attempt to connect, and learns back.

    `log` is the server's log file. A transport calls `on_exit` when the server ends the connection
    by itself, and `on_violation` (first) with what the server did when it gives the server up for
    breaking the protocol. An HTTP transport passes `on_http_response` to its httpx client as a
    response hook, so that a refused request is told by its status. A spec that runs the server as
    a process sets `process`: errors then say how it exited and quote its stderr from `log`.
    """

    log: ServerLog
    on_exit: Callable[[], None]
    on_violation: Callable[[str], None]
    on_http_response: Callable[[httpx2.Response], Awaitable[None]]
    process: ServerProcess | None = None


@runtime_checkable
class ServerSpec(Protocol):
    """How to reach one MCP server: what `ToolCollection` takes, whatever the transport.

    `display_name` is the server's name in a collection (tool names are prefixed with it on a
    collision); `describe()` says how it is reached, for errors and status; `mode` is the protocol
    era to speak; `timeout` overrides the collection's for this server's tool calls. `open(link)`
    is called for each connection (a lost one is opened again) and returns what the SDK `Client`
    connects through; it does not connect yet.
    """

    @property
    def display_name(self) -> str: ...

    @property
    def mode(self) -> ProtocolMode: ...

    @property
    def timeout(self) -> float | None: ...

    def describe(self) -> str: ...

    def open(self, link: ServerLink) -> ClientTarget: ...


@dataclass(frozen=True)
class StdioServer:
    """A server started as a subprocess and spoken to over its stdin/stdout.

    The child gets only the SDK's minimal environment (HOME, PATH, ...) plus `env`:
    API keys of the host process are not passed on unless listed here.
    """

    command: str
    args: Sequence[str] = ()
    env: Mapping[str, str] | None = None
    cwd: str | Path | None = None
    name: str | None = None
    """The server's name in a collection; derived from the command when omitted."""
    _: KW_ONLY
    mode: ProtocolMode = "auto"
    timeout: float | None = None
    """Seconds a tool call on this server may stay silent (overrides the collection's timeout)."""
    roots: Sequence[str] | None = None
    """Folders (paths or URIs) the server may work in, offered as its MCP roots."""
    sampling: bool = False
    """Whether the server may ask the client's model for completions (MCP sampling)."""
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    """The longest message (one line on stdout) the server may send; a longer one ends the connection."""

    def __post_init__(self) -> None:
        limit = self.max_message_bytes
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise ConfigError(
                f"StdioServer max_message_bytes must be a positive number of bytes, not {limit!r}"
            )
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "env", _frozen(self.env))
        object.__setattr__(self, "roots", _roots(self.roots))

    @property
    def display_name(self) -> str:
        return self.name or _name_from_command(self.command, self.args)

    def describe(self) -> str:
        return " ".join([self.command, *self.args])

    def open(self, link: ServerLink) -> Transport:
        from mcpagents.connections.stdio import StdioTransport

        transport = StdioTransport(self, link.log, on_exit=link.on_exit, on_violation=link.on_violation)
        link.process = transport
        return transport


@dataclass(frozen=True)
class HttpServer:
    """A server reached over streamable HTTP (the default) or the older HTTP+SSE transport."""

    url: str
    headers: Mapping[str, str] | None = None
    transport: HttpTransport = "streamable-http"
    name: str | None = None
    _: KW_ONLY
    mode: ProtocolMode = "auto"
    timeout: float | None = None
    roots: Sequence[str] | None = None
    sampling: bool = False
    oauth: OAuth | None = None
    """How to sign in to it (OAuth 2.1); a server signed in to with `mcpagents login` needs none of
    this: its kept sign-in is used whenever there is one."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "roots", _roots(self.roots))
        if self.transport not in ("streamable-http", "sse"):
            raise ConfigError(
                f"HttpServer transport must be 'streamable-http' or 'sse', not {self.transport!r}"
            )
        object.__setattr__(self, "headers", _frozen(self.headers))

    @property
    def display_name(self) -> str:
        return self.name or _name_from_url(self.url)

    def describe(self) -> str:
        return f"{self.url} ({self.transport})"

    def open(self, link: ServerLink) -> Transport:
        from mcpagents.connections.http import http_transport

        return http_transport(self, link)


@dataclass(frozen=True)
class InProcessServer:
    """An SDK server (`MCPServer` or low-level `Server`) running inside this process: what `@tool`
    functions and managed agents are served by."""

    server: MCPServer | Server[Any] = field(compare=False)
    name: str | None = None
    _: KW_ONLY
    mode: ProtocolMode = "auto"
    timeout: float | None = None
    roots: Sequence[str] | None = None
    sampling: bool = False

    @property
    def display_name(self) -> str:
        return self.name or safe_name(self.server.name)

    def describe(self) -> str:
        return f"in-process server {self.server.name!r}"

    def open(self, link: ServerLink) -> MCPServer | Server[Any]:
        return self.server


class TransportServer:
    """A server reached through any MCP SDK transport: an object that `async with` opens into a read
    and a write stream (`mcp.client.Transport`), such as the SDK's `stdio_client(...)` and
    `streamable_http_client(...)`, or a transport class of your own.

    A transport object serves one connection. Give a function that makes one instead (a class, a
    lambda) to let the server be reconnected after its connection is lost.
    """

    def __init__(
        self,
        transport: Transport | Callable[[], Transport],
        name: str | None = None,
        *,
        mode: ProtocolMode = "auto",
        timeout: float | None = None,
    ) -> None:
        self.transport = transport
        self.name = name
        self.mode: ProtocolMode = mode
        self.timeout = timeout
        self._opened = False

    @property
    def display_name(self) -> str:
        return self.name or safe_name(_label(self.transport))

    def describe(self) -> str:
        return f"{_label(self.transport)} (MCP SDK transport)"

    def open(self, link: ServerLink) -> Transport:
        if not isinstance(self.transport, AbstractAsyncContextManager):
            return self.transport()
        if self._opened:
            raise MCPServerError(
                f"server {self.display_name!r} ({self.describe()}) cannot be connected again: a transport"
                " object serves one connection; give TransportServer a function that makes the transport"
                " to let it reconnect",
                server=self.display_name,
            )
        self._opened = True
        return self.transport

    def __repr__(self) -> str:
        return f"TransportServer({self.transport!r}, name={self.name!r})"


def safe_name(text: str) -> str:
    """A server name usable as a tool-name prefix: letters, digits, `.`, `-` and `_` only."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")
    return cleaned or "server"


def _name_from_command(command: str, args: Sequence[str]) -> str:
    program = Path(command).name
    if program.removesuffix(".exe") in _LAUNCHERS or re.fullmatch(r"python3(\.\d+)?", program):
        operands = [arg for arg in args if not arg.startswith("-")]
        if operands:
            program = operands[0].rstrip("/").rsplit("/", 1)[-1]
    return safe_name(Path(program).stem if program.endswith((".py", ".js", ".ts", ".mjs")) else program)


def _name_from_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "server"
    return safe_name(f"{host}-{parts.port}" if parts.port else host)


def _label(transport: object) -> str:
    """`stdio_client` for the SDK's transports, else the name of the transport's function or class."""
    # The SDK's transports are `@asynccontextmanager` functions: their context managers keep the generator.
    made_by = getattr(transport, "gen", transport)
    name = getattr(made_by, "__name__", None)
    return name if isinstance(name, str) else type(transport).__name__


def _roots(roots: Sequence[str] | None) -> tuple[str, ...] | None:
    if isinstance(roots, str):
        raise ConfigError(f"roots must be a list of paths or URIs, not the string {roots!r}")
    return None if roots is None else tuple(str(root) for root in roots)


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str] | None:
    return None if mapping is None else MappingProxyType(dict(mapping))
