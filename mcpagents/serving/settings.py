"""The settings of a served agent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings

from mcpagents.errors import ConfigError
from mcpagents.serving.chain import DEFAULT_MAX_DEPTH
from mcpagents.serving.conversations import (
    DEFAULT_IDLE_EXPIRY,
    DEFAULT_MAX_CONVERSATIONS,
    Conversations,
    ConversationStore,
)

if TYPE_CHECKING:
    import uvicorn

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_KEEP_ALIVE_TIMEOUT = 5
DEFAULT_MAX_CONNECTIONS = 512
"""Per process: below the usual open-file limit (1024), with room for the calls' own connections."""


@dataclass(frozen=True)
class ServerSettings:
    """How a served agent limits its runs, and how its HTTP app guards itself (`mcpagents serve
    --help` has the same options)."""

    token: str | None = None
    """Required as `Authorization: Bearer <token>` on every path but `/health`."""
    allowed_hosts: Sequence[str] = ()
    """Host headers accepted besides the loopback names (`name:*` allows any port)."""
    allowed_origins: Sequence[str] = ()
    """Origin headers accepted besides loopback origins; requests without one (not from a browser) pass."""
    max_body_bytes: int = DEFAULT_MAX_REQUEST_BODY_SIZE
    idle_expiry: float = DEFAULT_IDLE_EXPIRY
    max_conversations: int = DEFAULT_MAX_CONVERSATIONS
    max_depth: int = DEFAULT_MAX_DEPTH
    run_timeout: float | None = None
    conversation_store: str | None = None
    """A SQLite file holding the conversations, which the workers of a server share (else each
    process keeps its own in memory)."""
    stateless: bool = True
    """Streamable HTTP without sessions: any worker process can answer any request. False keeps a
    session per client that starts one the 2025 way (`Mcp-Session-Id`), in this process only."""
    read_timeout: float = DEFAULT_READ_TIMEOUT
    """Seconds a client has to send a whole request (line, headers and body), from its first byte
    (from connecting, for a connection's first request); its connection is closed otherwise. The
    answer is not timed: a run's progress streams for as long as the run lasts."""
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT
    """Seconds a connection may stay silent between two requests."""
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    """Connections one process holds at once; one more is answered 503 and closed."""

    def __post_init__(self) -> None:
        limits = {
            "read_timeout": self.read_timeout,
            "keep_alive_timeout": self.keep_alive_timeout,
            "max_connections": self.max_connections,
        }
        for name, value in limits.items():
            if not value > 0:
                raise ConfigError(f"{name} must be positive, not {value!r}")

    def transport_security(self) -> TransportSecuritySettings:
        loopback_hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
        loopback_origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[*loopback_hosts, *self.allowed_hosts],
            allowed_origins=[*loopback_origins, *self.allowed_origins],
        )

    def http_config(self, app: Any, **options: Any) -> uvicorn.Config:
        """The uvicorn config serving `app` with these limits (`options`: uvicorn's own)."""
        from mcpagents.serving.http_limits import LimitedConfig

        return LimitedConfig(
            app,
            read_timeout=self.read_timeout,
            keep_alive_timeout=self.keep_alive_timeout,
            max_connections=self.max_connections,
            **options,
        )

    def check_workers(self, workers: int) -> None:
        """Raise `ConfigError` if `workers` processes cannot serve with these settings."""
        if workers > 1 and not self.stateless:
            raise ConfigError(
                f"sessions live in one process: serving with {workers} workers needs stateless HTTP"
                " (leave out --stateful)"
            )

    def conversations(self, agent: str) -> ConversationStore:
        """The store of `agent`'s conversations, with these limits."""
        if self.conversation_store is not None:
            from mcpagents.serving.shared_conversations import SharedConversations

            return SharedConversations(
                self.conversation_store, agent, self.idle_expiry, self.max_conversations
            )
        return Conversations(self.idle_expiry, self.max_conversations)
