"""The model interface every agent talks to."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from mcpagents.models.messages import (
    MessageLike,
    ModelResponse,
    ResponseFormat,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolChoice,
    ToolDefinition,
)
from mcpagents.runtime import shared_home


class Model(ABC):
    """A chat model. Implement `agenerate`; override `astream` where the provider streams.

    Every method takes the same request: `messages` (`ChatMessage`s or dicts), optional `tools`
    with a `tool_choice`, an optional `response_format` (`JsonSchemaFormat` or `CodeFormat`),
    `stop` sequences, `temperature` and `max_tokens`.
    """

    model_id: str

    @abstractmethod
    async def agenerate(
        self,
        messages: Sequence[MessageLike],
        *,
        tools: Sequence[ToolDefinition] | None = None,
        tool_choice: ToolChoice = "auto",
        response_format: ResponseFormat | None = None,
        stop: Sequence[str] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ModelResponse:
        """The assistant's next turn."""

    async def astream(self, messages: Sequence[MessageLike], **request: Any) -> AsyncIterator[StreamEvent]:
        """The next turn as it is produced: `TextDelta`s and `ToolCallDelta`s, then the `ModelResponse`.

        This default produces the whole response first, for models that cannot stream.
        """
        response = await self.agenerate(messages, **request)
        if response.text:
            yield TextDelta(response.text)
        for index, call in enumerate(response.tool_calls):
            yield ToolCallDelta(index, call.id, call.name, json.dumps(call.arguments))
        yield response

    def generate(self, messages: Sequence[MessageLike], **request: Any) -> ModelResponse:
        """Sync twin of `agenerate`."""
        return shared_home().run_blocking(self.agenerate, messages, **request)

    def stream(self, messages: Sequence[MessageLike], **request: Any) -> Iterator[StreamEvent]:
        """Sync twin of `astream`."""
        return shared_home().iterate_blocking(self.astream, messages, **request)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r})"
