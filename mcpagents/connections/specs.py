"""Descriptions of MCP servers: how to start or reach one, and under which name."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from mcp.server import MCPServer, Server

ProtocolMode = Literal["auto", "legacy"]
"""`auto` tries the 2026-07-28 protocol first and falls back to the initialize handshake;
`legacy` goes straight to the handshake (2025-11-25 and earlier)."""

HttpTransport = Literal["streamable-http", "sse"]

DEFAULT_MAX_MESSAGE_BYTES = 32 * 2**20
"""The longest line a stdio server may write: far beyond a legitimate message (a tool result with a few
large images), low enough that a runaway server is stopped before it fills the memory."""

_LAUNCHERS = frozenset(
    {"python", "python3", "node", "npx", "uv", "uvx", "pipx", "bun", "bunx", "deno", "docker", "sh", "bash"}
)


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
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    """The longest message (one line on stdout) the server may send; a longer one ends the connection."""

    def __post_init__(self) -> None:
        limit = self.max_message_bytes
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise ValueError(
                f"StdioServer max_message_bytes must be a positive number of bytes, not {limit!r}"
            )
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "env", _frozen(self.env))

    @property
    def display_name(self) -> str:
        return self.name or _name_from_command(self.command, self.args)

    def describe(self) -> str:
        return " ".join([self.command, *self.args])


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

    def __post_init__(self) -> None:
        if self.transport not in ("streamable-http", "sse"):
            raise ValueError(
                f"HttpServer transport must be 'streamable-http' or 'sse', not {self.transport!r}"
            )
        object.__setattr__(self, "headers", _frozen(self.headers))

    @property
    def display_name(self) -> str:
        return self.name or _name_from_url(self.url)

    def describe(self) -> str:
        return f"{self.url} ({self.transport})"


@dataclass(frozen=True)
class InProcessServer:
    """An SDK server (`MCPServer` or low-level `Server`) running inside this process: what `@tool`
    functions and managed agents are served by."""

    server: MCPServer | Server[Any] = field(compare=False)
    name: str | None = None
    _: KW_ONLY
    mode: ProtocolMode = "auto"
    timeout: float | None = None

    @property
    def display_name(self) -> str:
        return self.name or safe_name(self.server.name)

    def describe(self) -> str:
        return f"in-process server {self.server.name!r}"


ServerSpec = StdioServer | HttpServer | InProcessServer


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


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str] | None:
    return None if mapping is None else MappingProxyType(dict(mapping))
