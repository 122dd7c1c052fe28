"""The settings of a served agent: every option of `mcpagents serve`, declared once with its default.

Light to import (the command line reads its defaults for its help): nothing of the MCP SDK, uvicorn or
the agents is loaded here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypedDict
from urllib.parse import SplitResult, urlsplit

from mcpagents.agents.chain import DEFAULT_ANSWER_WAIT, DEFAULT_MAX_DEPTH, DEFAULT_TASK_AFTER
from mcpagents.agents.conversation_store import DEFAULT_IDLE_EXPIRY, DEFAULT_MAX_CONVERSATIONS
from mcpagents.errors import ConfigError
from mcpagents.http_server.guard import LOOPBACK_HOSTS
from mcpagents.http_server.limits import HttpLimits
from mcpagents.logs import LogLevel

if TYPE_CHECKING:
    from mcp.server.transport_security import TransportSecuritySettings

    from mcpagents.agents.caller import HeldRuns
    from mcpagents.agents.conversation_store import ConversationStore
    from mcpagents.agents.run_relay import RunRelay
    from mcpagents.agents.served_tasks import TaskBoard


CLIENT_SECRET_VARIABLE = "MCPAGENTS_OAUTH_CLIENT_SECRET"
"""The environment variable `mcpagents serve` takes `oauth_client_secret` from."""


@dataclass(frozen=True)
class ServerSettings:
    """Where a served agent listens, how it limits its runs, and how its HTTP app guards itself."""

    host: str = "127.0.0.1"
    """HTTP: the address to listen on."""
    port: int = 8000
    """HTTP: the port (0: any free one)."""
    token: str | None = None
    """Required as `Authorization: Bearer <token>` on every path but `/health`."""
    oauth_issuer: str | None = None
    """Instead of a token: accept the access tokens (signed JWTs) of this OAuth authorization
    server, named by its issuer URL exactly as its metadata gives it. Each caller is then known by
    the token's issuer and subject, and what a caller starts (conversations, tasks) is theirs."""
    resource_url: str | None = None
    """With `oauth_issuer`: the URL callers' tokens must name as their audience, one protected
    resource for the whole server (behind a proxy, the public URL). None: each endpoint is a
    resource of its own, named by its URL on `host` and `port` (`http://127.0.0.1:8000/mcp`)."""
    required_scopes: Sequence[str] = ()
    """With `oauth_issuer`: the scopes every access token must grant (403 otherwise)."""
    oauth_introspection: bool = False
    """With `oauth_issuer`: check every access token, opaque or JWT, by asking the authorization
    server (RFC 7662), as its client `oauth_client_id`: revoked tokens are refused at once, at the
    cost of one request to it per request here."""
    oauth_client_id: str | None = None
    """With `oauth_introspection`: this server's client id at the authorization server."""
    oauth_client_secret: str | None = field(default=None, repr=False)
    """With `oauth_introspection`: that client's secret (from `$MCPAGENTS_OAUTH_CLIENT_SECRET` on the
    command line, where an option would show it to `ps`)."""
    allowed_hosts: Sequence[str] = ()
    """Host headers accepted besides the loopback names (`name:*` allows any port)."""
    allowed_origins: Sequence[str] = ()
    """Origin headers accepted besides loopback origins; requests without one (not from a browser) pass."""
    max_body_bytes: int = 4 * 1024 * 1024
    """The largest request body."""
    idle_expiry: float = DEFAULT_IDLE_EXPIRY
    """Seconds a conversation is kept after its last call."""
    max_conversations: int = DEFAULT_MAX_CONVERSATIONS
    """Conversations kept at once (the one idle longest is dropped for a new one)."""
    max_depth: int = DEFAULT_MAX_DEPTH
    """The longest chain of agents a call may come down."""
    run_timeout: float | None = None
    """Seconds a run may take (None: as long as its call chain's deadline allows)."""
    conversation_store: str | None = None
    """A SQLite file holding the conversations, which the workers of a server share (else each
    process keeps its own in memory)."""
    stateless: bool = True
    """Streamable HTTP without sessions: any worker process can answer any request. False keeps a
    session per client that starts one the 2025 way (`Mcp-Session-Id`), in this process only."""
    http_limits: HttpLimits = field(default_factory=HttpLimits)
    """What a client's connection may take: time to send a request, idle time, connections at once."""
    allow_no_token: bool = False
    """Serve a `host` other than loopback without a token (something in front checks the callers)."""
    grace: float = 10.0
    """On SIGINT or SIGTERM, seconds the runs in flight get to finish before they are cancelled."""
    sampling: Literal["caller", "model"] = "caller"
    """Who answers the sampling requests of the agents' tool servers: the caller (relayed to it), or
    the agent's own model."""
    step_log_level: LogLevel | None = "info"
    """Each step also goes to the caller as a log message of this level (None: not sent)."""
    answer_wait: float = DEFAULT_ANSWER_WAIT
    """Seconds a run waits for its caller to answer a question (2026-07-28 callers: to come back
    with the answer) before it goes on without."""
    task_after: float = DEFAULT_TASK_AFTER
    """Seconds a 2026-07-28 call waits for its run before it becomes a task, when its caller declares
    the Tasks extension (0: at once)."""

    def __post_init__(self) -> None:
        positive = (
            "max_body_bytes",
            "idle_expiry",
            "max_conversations",
            "max_depth",
            "run_timeout",
            "grace",
            "answer_wait",
        )
        for name in positive:
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise ConfigError(f"{name} must be positive, not {value!r}")
        if isinstance(self.task_after, bool) or not self.task_after >= 0:
            raise ConfigError(f"task_after must be 0 or more, not {self.task_after!r}")
        self._check_oauth()

    def _check_oauth(self) -> None:
        about_tokens = self.resource_url is not None or self.required_scopes or self.oauth_introspection
        if self.oauth_issuer is None and about_tokens:
            raise ConfigError(
                "resource_url (--resource-url), required_scopes (--required-scope) and"
                " oauth_introspection (--oauth-introspection) are about the access tokens of an"
                " authorization server: give its oauth_issuer (--oauth-issuer)"
            )
        self._check_introspection()
        if self.oauth_issuer is None:
            return
        if self.token is not None:
            raise ConfigError(
                "a static token (--token) and an authorization server (--oauth-issuer) are exclusive:"
                " callers present one kind of bearer token; choose one"
            )
        if isinstance(self.required_scopes, str):
            raise ConfigError(f"required_scopes must be a sequence of scopes, not {self.required_scopes!r}")
        issuer = _http_url("oauth_issuer (--oauth-issuer)", self.oauth_issuer, query=False)
        if issuer.scheme != "https" and issuer.hostname not in LOOPBACK_HOSTS:
            raise ConfigError(
                f"oauth_issuer (--oauth-issuer) {self.oauth_issuer!r} must be an https URL (plain http only"
                " on loopback): the authorization server's keys decide who may call"
            )
        if self.resource_url is not None:
            _http_url("resource_url (--resource-url)", self.resource_url, query=True)

    def _check_introspection(self) -> None:
        if not self.oauth_introspection:
            if self.oauth_client_id is not None or self.oauth_client_secret is not None:
                raise ConfigError(
                    "oauth_client_id (--oauth-client-id) and oauth_client_secret are what this server"
                    " introspects tokens with: add oauth_introspection (--oauth-introspection), or leave"
                    " them out"
                )
            return
        if not self.oauth_client_id or not self.oauth_client_secret:
            raise ConfigError(
                "oauth_introspection (--oauth-introspection) asks the authorization server about each"
                " token as a client of its own: give its oauth_client_id (--oauth-client-id) and"
                f" oauth_client_secret (${CLIENT_SECRET_VARIABLE})"
            )

    def resource_of(self, path: str) -> str:
        """The protected resource the endpoint at `path` is: `resource_url`, or the endpoint's URL."""
        if self.resource_url is not None:
            return self.resource_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def transport_security(self) -> TransportSecuritySettings:
        from mcpagents.http_server.guard import transport_security

        return transport_security(self.allowed_hosts, self.allowed_origins)

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
        from mcpagents.agents.conversation_store import Conversations

        return Conversations(self.idle_expiry, self.max_conversations)

    def served_agent_options(self, agent: str) -> ServedAgentOptions:
        """The options `agent_server` takes from these settings, for the agent named `agent`."""
        from mcpagents.agents.caller import HeldRuns

        return {
            "max_depth": self.max_depth,
            "run_timeout": self.run_timeout,
            "sampling": self.sampling,
            "step_log_level": self.step_log_level,
            "held_runs": HeldRuns(self.answer_wait, relay=self.run_relay(agent)),
            "task_board": self.task_board(agent),
            "task_after": self.task_after,
        }

    def run_relay(self, agent: str) -> RunRelay | None:
        """Where `agent`'s workers meet about the runs they hold for 2026-07-28 callers."""
        if self.conversation_store is None:
            return None
        from mcpagents.serving.shared_held_runs import SharedRunRelay

        return SharedRunRelay(self.conversation_store, agent)

    def task_board(self, agent: str) -> TaskBoard:
        """Where `agent`'s task records are kept: with its conversations when they are shared."""
        if self.conversation_store is not None:
            from mcpagents.serving.shared_tasks import SharedTaskBoard

            return SharedTaskBoard(self.conversation_store, agent)
        from mcpagents.agents.served_tasks import MemoryTaskBoard

        return MemoryTaskBoard()


def _http_url(option: str, value: str, *, query: bool) -> SplitResult:
    """`value` split, or a `ConfigError` unless it is an absolute http(s) URL without a fragment
    (nor a query, unless `query`), as RFC 8414 and RFC 8707 want issuers and resources."""
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.fragment
        or (parts.query and not query)
    ):
        allowed = "" if query else " or query"
        raise ConfigError(
            f"{option} must be an absolute http(s) URL without a fragment{allowed}, not {value!r}"
        )
    return parts


class ServedAgentOptions(TypedDict):
    max_depth: int
    run_timeout: float | None
    sampling: Literal["caller", "model"]
    step_log_level: LogLevel | None
    held_runs: HeldRuns
    task_board: TaskBoard
    task_after: float


DEFAULTS = ServerSettings()
