"""The model interface every agent talks to: one `ModelRequest` in, one `ModelResponse` out.

A provider implements `complete(request)`, and `complete_streaming(request)` where it streams.
`generate`, `agenerate`, `stream` and `astream` are the conveniences callers use: they take the
request's fields as typed keywords and build the `ModelRequest`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Unpack

from mcpagents.models.messages import (
    MessageLike,
    ModelRequest,
    ModelResponse,
    RequestOptions,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    as_messages,
)
from mcpagents.portal import shared_portal
from mcpagents.tools.media import MediaKind


class Model(ABC):
    """A chat model. Subclasses implement `complete`, and override `complete_streaming` where the
    provider streams.

    The calls take `messages` (`ChatMessage`s or dicts), optional `tools` with a `tool_choice`, an
    optional `response_format` (`JsonSchemaFormat` or `CodeFormat`), `stop` sequences, `temperature`
    and `max_tokens` (see `ModelRequest`).
    """

    model_id: str

    def accepts(self, kind: MediaKind) -> bool:
        """Whether the model takes `kind` ("image" or "audio") as a part of a message. To a model that
        does not, agents show an image or audio a tool returned as a placeholder naming the file it
        was saved to. Text only, unless a provider says more."""
        return False

    def check(self) -> None:
        """Raise `ConfigError` when the model cannot answer at all (a key not set, weights missing),
        without calling it. Agents built from spec files call it, so that such a mistake shows before
        any server starts rather than at the first step. Nothing to check, unless a provider says more."""
        return None

    @abstractmethod
    async def complete(self, request: ModelRequest) -> ModelResponse:
        """The assistant's next turn."""

    async def complete_streaming(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """The next turn as it is produced: `TextDelta`s and `ToolCallDelta`s, then the `ModelResponse`.

        This default produces the whole response first, for models that cannot stream.
        """
        response = await self.complete(request)
        if response.text:
            yield TextDelta(response.text)
        for index, call in enumerate(response.tool_calls):
            yield ToolCallDelta(index, call.id, call.name, json.dumps(call.arguments))
        yield response

    async def agenerate(
        self,
        messages: Sequence[MessageLike],
        **options: Unpack[RequestOptions],
    ) -> ModelResponse:
        """The assistant's next turn."""
        request = ModelRequest(as_messages(messages), **options)
        return await self.complete(request)

    def generate(
        self,
        messages: Sequence[MessageLike],
        **options: Unpack[RequestOptions],
    ) -> ModelResponse:
        """Sync twin of `agenerate`."""
        request = ModelRequest(as_messages(messages), **options)
        return shared_portal().call(self.complete, request)

    def astream(
        self,
        messages: Sequence[MessageLike],
        **options: Unpack[RequestOptions],
    ) -> AsyncIterator[StreamEvent]:
        """The next turn as it is produced: `TextDelta`s and `ToolCallDelta`s, then the `ModelResponse`."""
        request = ModelRequest(as_messages(messages), **options)
        return self.complete_streaming(request)

    def stream(
        self,
        messages: Sequence[MessageLike],
        **options: Unpack[RequestOptions],
    ) -> Iterator[StreamEvent]:
        """Sync twin of `astream`."""
        request = ModelRequest(as_messages(messages), **options)
        return shared_portal().iterate(self.complete_streaming, request)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r})"
