"""Who answers the tool servers of one run: the caller's handlers, the agent's, or the agent's model.

A run carries one `Interaction` on every tool call it makes. Its elicitation handler is the run's
(a terminal under `mcpagents run`, the caller of a served agent) or else the agent's; sampling is
answered by the agent's own handler, else the run's (a served agent relays to its caller), else the
agent's model, within `SamplingLimits` per run. Log messages of the servers become run events.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mcp_types

from mcpagents.agents.results import InputRequested, SamplingCall, ServerMessage
from mcpagents.connections.interaction import (
    ElicitationHandler,
    ElicitationRequest,
    Interaction,
    InteractionRefused,
    LogMessage,
    SamplingHandler,
    SamplingRequest,
    deliver_log,
)
from mcpagents.models.base import Model
from mcpagents.models.messages import ChatMessage, Role, TokenUsage
from mcpagents.tools.image import Image

if TYPE_CHECKING:
    from mcpagents.agents.run_context import RunContext


@dataclass(frozen=True)
class SamplingLimits:
    """How much of the agent's model the tool servers of one run may use through sampling."""

    max_requests: int = 10
    max_tokens: int = 20_000
    """Input and output tokens of all sampling requests of the run together."""
    max_tokens_per_request: int = 4_000
    """The most output tokens one request gets, whatever it asks for."""


def run_interaction(
    run: RunContext,
    given: Interaction | None,
    *,
    elicitation: ElicitationHandler | None,
    sampling: SamplingHandler | None,
    limits: SamplingLimits,
) -> Interaction:
    """The interaction of `run`: what the run was given (`given`) completed by the agent's own."""
    given = given or Interaction()
    asked = given.elicitation or elicitation

    async def elicit(request: ElicitationRequest) -> mcp_types.ElicitResult:
        assert asked is not None
        result = await asked(request)
        run.emit(InputRequested(run.step_number, request.server, request.message, result.action))
        return result

    async def on_log(message: LogMessage) -> None:
        run.emit(ServerMessage(run.step_number, message))
        if given.on_log is not None:
            await deliver_log(given.on_log, message)

    return Interaction(
        elicitation=elicit if asked is not None else None,
        sampling=sampling or given.sampling or ModelSampler(run.agent.model, limits, run),
        on_log=on_log,
        decline_reason=given.decline_reason,
    )


class ModelSampler:
    """Answers sampling requests with the agent's model, counting what they use against the run."""

    def __init__(self, model: Model, limits: SamplingLimits, run: RunContext) -> None:
        self.model = model
        self.limits = limits
        self.run = run
        self.requests = 0
        self.usage = TokenUsage()

    async def __call__(self, request: SamplingRequest) -> mcp_types.CreateMessageResult:
        params = request.params
        limits = self.limits
        if self.requests >= limits.max_requests:
            raise InteractionRefused(f"this run allows {limits.max_requests} sampling requests, all used")
        spent = self.usage.input_tokens + self.usage.output_tokens
        if spent >= limits.max_tokens:
            raise InteractionRefused(f"this run's {limits.max_tokens} sampling tokens are used up")
        if params.tools:
            raise InteractionRefused("sampling with tools is not offered by this client")
        self.requests += 1
        messages = [ChatMessage("system", params.system_prompt)] if params.system_prompt else []
        messages += [_chat_message(message) for message in params.messages]
        response = await self.model.agenerate(
            messages,
            max_tokens=min(params.max_tokens, limits.max_tokens_per_request, limits.max_tokens - spent),
            temperature=params.temperature,
            stop=params.stop_sequences,
        )
        self.usage = self.usage + response.usage
        self.run.count_usage(response.usage)
        self.run.emit(SamplingCall(self.run.step_number, request.server, response.usage, response.text))
        return mcp_types.CreateMessageResult(
            role="assistant",
            content=mcp_types.TextContent(type="text", text=response.text),
            model=response.model or self.model.model_id,
            stop_reason="endTurn",
        )


def _chat_message(message: mcp_types.SamplingMessage) -> ChatMessage:
    blocks = message.content if isinstance(message.content, list) else [message.content]
    parts: list[str | Image] = []
    for block in blocks:
        match block:
            case mcp_types.TextContent(text=text):
                parts.append(text)
            case mcp_types.ImageContent(data=data, mime_type=mime_type):
                parts.append(Image(base64.b64decode(data), mime_type))
            case _:
                raise InteractionRefused(f"sampling messages with {block.type} content are not supported")
    role: Role = "assistant" if message.role == "assistant" else "user"
    if all(isinstance(part, str) for part in parts):
        return ChatMessage(role, "".join(str(part) for part in parts))
    return ChatMessage(role, parts)
