"""The exceptions mcpagents raises. Every message names what failed and what to do about it.

    MCPAgentsError
    ├── ConfigError (ValueError)         a mistake in a config file, a spec, an option or an argument
    │   └── ModelKeyMissing                  a model's API key is not in the environment
    ├── UsageError (RuntimeError)        an object used in a state that does not allow it
    ├── MCPServerError                   an MCP server could not be started or reached, or it died
    ├── ToolError                        a tool call failed (the server said so, or it could not be made)
    │   ├── ToolArgumentError (ValueError)   the arguments do not match the tool's input schema
    │   ├── ToolTimeoutError (TimeoutError)  no answer within the call's timeout
    │   ├── ToolNotFoundError (LookupError)  no tool of that name
    │   └── ToolDefinitionChangedError       a pinned tool changed
    ├── ModelError                       a model could not answer
    ├── AgentError                       a run could not go on
    │   └── ChainError                   a call refused for its chain of agents (cycle, depth, deadline)
    ├── SandboxUnavailableError          the code executor cannot confine code as its mode requires
    ├── WorkerFailed                     a worker process of `serve --workers` could not start
    ├── TokenRefused                     an access token a served agent does not accept (its 401)
    └── AuthorizationServerError         the authorization server's metadata or keys could not be had

Errors from Python itself (a `TypeError` for a wrong argument type, say) pass through as they are; an
error that has a cause keeps it (`raise ... from cause`).
"""

from __future__ import annotations

from pathlib import Path


class MCPAgentsError(Exception):
    """Base class of every error raised by mcpagents."""


class ConfigError(MCPAgentsError, ValueError):
    """A configuration file or entry is malformed, or an option has a value it cannot have; the message
    names the file, the entry and the fix."""


class ModelKeyMissing(ConfigError):
    """A model's provider needs an API key and none is set; `variable` is the one to set (a served
    agent gets it from its host's config: `mcpagents install ... --env VARIABLE`)."""

    def __init__(self, message: str, *, variable: str) -> None:
        self.variable = variable
        super().__init__(message)


class UsageError(MCPAgentsError, RuntimeError):
    """An object used in a state that does not allow it: closed, not open yet, or called from the
    event loop it is waiting for."""


class MCPServerError(MCPAgentsError):
    """An MCP server could not be started or reached, or it died.

    `server` is the server's name, `exit_code` the process exit status (stdio servers),
    `stderr_tail` its last stderr lines and `log_path` the file holding its whole stderr.
    """

    def __init__(
        self,
        message: str,
        *,
        server: str,
        exit_code: int | None = None,
        stderr_tail: str = "",
        log_path: Path | None = None,
    ) -> None:
        self.server = server
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail
        self.log_path = log_path
        details = [message]
        if stderr_tail:
            details.append("last stderr lines:\n" + _indent(stderr_tail))
        if log_path is not None:
            details.append(f"server log: {log_path}")
        super().__init__("\n".join(details))


class SignInRequired(MCPServerError):
    """A server needs an OAuth sign-in that is missing, has expired beyond renewal, or was refused;
    or signing in to it failed. The message says what to run (`mcpagents login ...`)."""


class WorkerFailed(MCPAgentsError):
    """A worker process of `mcpagents serve --workers` could not start serving."""


class ToolError(MCPAgentsError):
    """A tool call failed: the server reported an error (`isError`) or the call could not be made."""

    def __init__(self, message: str, *, tool: str, server: str | None = None) -> None:
        self.tool = tool
        self.server = server
        super().__init__(message)


class ToolArgumentError(ToolError, ValueError):
    """The arguments of a tool call do not match the tool's input schema (checked before sending)."""


class ToolTimeoutError(ToolError, TimeoutError):
    """A tool call got no answer (and no progress) within its timeout; the request was cancelled."""


class ToolNotFoundError(ToolError, LookupError):
    """No tool of that name is in the collection."""


class ToolDefinitionChangedError(ToolError):
    """A tool's definition changed since it was pinned, and the collection blocks changed tools."""


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


class ModelError(MCPAgentsError):
    """A model could not answer: provider unreachable, key missing, out of retries or out of script."""

    def __init__(self, message: str, *, model: str) -> None:
        self.model = model
        super().__init__(message)


class SandboxUnavailableError(MCPAgentsError):
    """The code executor cannot provide a confinement layer that its mode requires."""


class AgentError(MCPAgentsError):
    """An agent's run could not go on (the model could not be reached, for instance)."""
