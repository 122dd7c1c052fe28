"""What a server asks of its client while it works — elicitation, sampling, roots, log messages —
answered on behalf of the calls in flight.

A request pushed by a 2025-era server names no call: it goes to the interaction that all calls in
flight share (or the collection's own handlers). A 2026-07-28 server's questions come back inside
the call's own answer, so the call being driven in this task is known. While someone answers, the
calls in flight are waiting for a person or a model, not silent: their timeouts are paused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from math import inf

import anyio
import mcp_types
from mcp import MCPError
from mcp.client.session import ClientRequestContext
from mcp.shared.exceptions import UrlElicitationRequiredError
from pydantic import ValidationError

from mcpagents.connections.interaction import (
    ElicitationRequest,
    Interaction,
    InteractionRefused,
    SamplingRequest,
    declined,
    deliver_log,
    log_message,
)
from mcpagents.connections.protocol import describe_error
from mcpagents.errors import ToolError
from mcpagents.logs import LOG_LEVELS, LogLevel, ServerLog


@dataclass(frozen=True)
class ClientOffer:
    """What the client offers one server besides calling it.

    `interaction`: handlers of the collection's own, which answer before any call's; `sampling`:
    whether the server may ask for completions at all (it is told so at connect); `roots`: the
    folders it may work in (`None`: roots not offered); `log_level`: the least severe log messages
    it should send (`None`: the server's default).
    """

    interaction: Interaction | None = None
    sampling: bool = False
    roots: tuple[mcp_types.Root, ...] | None = None
    log_level: LogLevel | None = None


class CallInFlight:
    """A tool call in flight: whose interaction it carries, the deadline of its silence, and who is
    told the states of the task it may become (which restarts that deadline)."""

    def __init__(
        self,
        interaction: Interaction | None,
        silence: anyio.CancelScope,
        timeout: float,
        on_status: Callable[[mcp_types.Task], Awaitable[None]] | None = None,
    ) -> None:
        self.interaction = interaction
        self.silence = silence
        self.timeout = timeout
        self.on_status = on_status


_calling: ContextVar[CallInFlight | None] = ContextVar("mcpagents_calling", default=None)
"""The call whose request the SDK is driving in this task (2026-07-28 input rounds run here)."""


def current_call() -> CallInFlight | None:
    """The call being made in this task, if any (a 2026-07-28 task is followed inside its call)."""
    return _calling.get()


class ServerRequests:
    """Answers what the server named `server` asks, for the calls in flight on its connection."""

    def __init__(self, server: str, server_log: ServerLog, offer: ClientOffer) -> None:
        self.server = server
        self.server_log = server_log
        self.offer = offer
        self._answering = 0
        self._calls: set[CallInFlight] = set()

    @property
    def answering(self) -> bool:
        """Someone is answering the server now (a call's silence does not count meanwhile)."""
        return self._answering > 0

    @contextmanager
    def in_flight(self, call: CallInFlight) -> Iterator[None]:
        if self._answering:
            call.silence.deadline = inf
        self._calls.add(call)
        token = _calling.set(call)
        try:
            yield
        finally:
            _calling.reset(token)
            self._calls.discard(call)

    def _interaction(self) -> tuple[Interaction | None, str | None]:
        """Whose handlers answer a request the server makes now, or why nobody's can.

        The call being driven in this task (2026-07-28 input rounds) is known; a request pushed by a
        2025-era server names no call, so it goes to the interaction all calls in flight share.
        """
        if (call := _calling.get()) is not None and call in self._calls:
            return call.interaction, None
        interactions = {id(call.interaction): call.interaction for call in self._calls}
        if len(interactions) == 1:
            return next(iter(interactions.values())), None
        if not interactions:
            return None, "no call of this client is in flight to ask on behalf of"
        return None, f"{len(interactions)} callers have calls in flight and the request names none of them"

    @contextmanager
    def _answering_requests(self) -> Iterator[None]:
        """While someone answers the server, the calls in flight are waiting, not silent."""
        self._answering += 1
        for call in self._calls:
            call.silence.deadline = inf
        try:
            yield
        finally:
            self._answering -= 1
            if not self._answering:
                now = anyio.current_time()
                for call in self._calls:
                    call.silence.deadline = now + call.timeout

    async def elicit(
        self, context: ClientRequestContext | None, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult | mcp_types.ErrorData:
        own = self.offer.interaction
        interaction, unknown = (own, None) if own and own.elicitation else self._interaction()
        if interaction is None or interaction.elicitation is None:
            reason = unknown or (interaction.decline_reason if interaction else Interaction.decline_reason)
            self.server_log.note(f"elicitation declined: {reason}")
            return declined(reason)
        with self._answering_requests():
            try:
                return await interaction.elicitation(ElicitationRequest(self.server, params))
            except InteractionRefused as refusal:
                return mcp_types.ErrorData(code=mcp_types.INVALID_REQUEST, message=str(refusal))

    async def open_required_pages(self, tool: str, error: MCPError) -> None:
        """A `-32042` answer: the server needs pages opened (a sign-in, a payment) before the call.
        Each goes to the call's elicitation handler, as a URL elicitation; `ToolError` unless all
        are accepted."""
        try:
            pages = UrlElicitationRequiredError.from_error(error.error).elicitations
        except ValidationError:
            raise ToolError(
                f"tool {tool!r} on server {self.server!r} asked for pages to be opened, in a malformed error:"
                f" {describe_error(error.error)}",
                tool=tool,
                server=self.server,
            ) from None
        for page in pages:
            answer = await self.elicit(None, page)
            if isinstance(answer, mcp_types.ErrorData) or answer.action != "accept":
                outcome = answer.message if isinstance(answer, mcp_types.ErrorData) else _DONE[answer.action]
                raise ToolError(
                    f"tool {tool!r} on server {self.server!r} needs this page opened first: {page.url}"
                    f" ({page.message}); it was {outcome}",
                    tool=tool,
                    server=self.server,
                )

    async def sample(
        self, context: ClientRequestContext, params: mcp_types.CreateMessageRequestParams
    ) -> mcp_types.CreateMessageResult | mcp_types.ErrorData:
        own = self.offer.interaction
        interaction, unknown = (own, None) if own and own.sampling else self._interaction()
        if interaction is None or interaction.sampling is None:
            reason = unknown or "no model or handler answers sampling requests here"
            self.server_log.note(f"sampling refused: {reason}")
            return mcp_types.ErrorData(code=mcp_types.INVALID_REQUEST, message=f"sampling refused: {reason}")
        with self._answering_requests():
            try:
                return await interaction.sampling(SamplingRequest(self.server, params))
            except InteractionRefused as refusal:
                message = f"sampling refused: {refusal}"
                return mcp_types.ErrorData(code=mcp_types.INVALID_REQUEST, message=message)

    async def list_roots(self, context: ClientRequestContext) -> mcp_types.ListRootsResult:
        return mcp_types.ListRootsResult(roots=list(self.offer.roots or ()))

    async def log(self, params: mcp_types.LoggingMessageNotificationParams) -> None:
        least = self.offer.log_level
        if least is not None and LOG_LEVELS.index(params.level) < LOG_LEVELS.index(least):
            return  # a server that did not declare logging was never told the level
        message = log_message(self.server, params)
        self.server_log.note(str(message))
        handlers = [self.offer.interaction] + [call.interaction for call in self._calls]
        seen: set[int] = set()
        for interaction in handlers:
            if interaction is not None and interaction.on_log and id(interaction.on_log) not in seen:
                seen.add(id(interaction.on_log))
                await deliver_log(interaction.on_log, message)


_DONE = {"accept": "accepted", "decline": "declined", "cancel": "cancelled"}
