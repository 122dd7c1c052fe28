"""What a server may ask of its client while it works, and who answers.

A server may ask a person for input (elicitation), ask the client's model for a completion
(sampling), ask which folders it may work in (roots), and send log messages. Answers come from an
`Interaction`: the handlers of whoever is on the other end of a call — a person at a terminal, the
caller of a served agent, a batch run that must decline. A collection may set handlers of its own;
otherwise each call carries the interaction of the run that made it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import mcp_types

from mcpagents.logs import LogLevel

DECLINE_REASON_META = "io.mcpagents/reason"
"""Where a declined elicitation says why (in the result's `_meta`), for the server to see."""


@dataclass(frozen=True)
class ElicitationRequest:
    """A server asks for input: a form (`schema`, flat fields) or a URL to open (`url`)."""

    server: str
    params: mcp_types.ElicitRequestParams

    @property
    def message(self) -> str:
        return self.params.message

    @property
    def mode(self) -> Literal["form", "url"]:
        return "url" if isinstance(self.params, mcp_types.ElicitRequestURLParams) else "form"

    @property
    def schema(self) -> dict[str, Any]:
        """The form's JSON Schema (an object of primitive fields); empty in URL mode."""
        params = self.params
        return dict(params.requested_schema) if isinstance(params, mcp_types.ElicitRequestFormParams) else {}

    @property
    def url(self) -> str | None:
        params = self.params
        return params.url if isinstance(params, mcp_types.ElicitRequestURLParams) else None


@dataclass(frozen=True)
class SamplingRequest:
    """A server asks for a completion of `params.messages` by the client's model."""

    server: str
    params: mcp_types.CreateMessageRequestParams


@dataclass(frozen=True)
class LogMessage:
    """A log message a server sent (`notifications/message`)."""

    server: str
    level: LogLevel
    logger: str | None
    data: Any

    def __str__(self) -> str:
        origin = f"{self.server}/{self.logger}" if self.logger else self.server
        return f"[{origin}] {self.level}: {self.data}"


ElicitationHandler = Callable[[ElicitationRequest], Awaitable[mcp_types.ElicitResult]]
SamplingHandler = Callable[[SamplingRequest], Awaitable[mcp_types.CreateMessageResult]]
LogHandler = Callable[[LogMessage], Awaitable[None] | None]


@dataclass(frozen=True)
class Interaction:
    """Who answers a server's requests made during some calls (a run, a served request).

    A handler left out means nobody can answer that kind of request: elicitations are declined
    (with `decline_reason`, which the server sees), sampling requests are refused.
    """

    elicitation: ElicitationHandler | None = None
    sampling: SamplingHandler | None = None
    on_log: LogHandler | None = None
    decline_reason: str = "nobody is there to answer (the client runs without a person or a handler)"


class InteractionRefused(Exception):
    """A handler's way to refuse a request; the server receives the message as the error."""


def declined(reason: str) -> mcp_types.ElicitResult:
    """An elicitation answer that declines, saying why in `_meta`."""
    return mcp_types.ElicitResult(action="decline", _meta={DECLINE_REASON_META: reason})


async def deliver_log(handler: LogHandler, message: LogMessage) -> None:
    outcome = handler(message)
    if inspect.isawaitable(outcome):
        await outcome


def log_message(server: str, params: mcp_types.LoggingMessageNotificationParams) -> LogMessage:
    return LogMessage(server, params.level, params.logger, params.data)


def accepted(content: Mapping[str, Any]) -> mcp_types.ElicitResult:
    """An elicitation answer that accepts, with the form's values."""
    return mcp_types.ElicitResult(action="accept", content=dict(content))
