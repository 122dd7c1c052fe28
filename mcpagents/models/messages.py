"""What goes into a model and what comes out: chat messages, tool definitions, tool calls, usage."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from mcpagents.tools.image import Image
from mcpagents.tools.media import Audio

if TYPE_CHECKING:
    from mcpagents.tools.tool import Tool

Role = Literal["system", "user", "assistant", "tool"]
ContentPart = str | Image | Audio


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model asked for. `raw_arguments` keeps the model's text when it was not a JSON
    object (then `arguments` is empty): the agent tells the model instead of guessing."""

    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str | None = None


@dataclass
class ChatMessage:
    """One chat turn. `content` is text, or a list of text, images and audio; a `tool` message
    answers the assistant's tool call `tool_call_id`."""

    role: Role
    content: str | Sequence[ContentPart] = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part for part in self.content if isinstance(part, str))

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI chat-completions form (what litellm and llama.cpp take)."""
        message: dict[str, Any] = {"role": self.role}
        if isinstance(self.content, str):
            message["content"] = self.content
        else:
            message["content"] = [_openai_part(part) for part in self.content]
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in self.tool_calls
            ]
        if self.tool_call_id is not None:
            message["tool_call_id"] = self.tool_call_id
        if self.name is not None and self.role == "tool":
            message["name"] = self.name
        return message

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (images as base64), read back by `from_dict`."""
        data: dict[str, Any] = {"role": self.role}
        if isinstance(self.content, str):
            data["content"] = self.content
        else:
            data["content"] = [_part_to_dict(part) for part in self.content]
        if self.tool_calls:
            data["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ]
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            data["name"] = self.name
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChatMessage:
        content = data.get("content") or ""
        if not isinstance(content, str):
            content = [_part_from_dict(part) for part in content]
        calls = [
            ToolCall(c.get("id", f"call_{i}"), c["name"], dict(c.get("arguments") or {}))
            for i, c in enumerate(data.get("tool_calls") or [])
        ]
        return cls(data["role"], content, calls, data.get("tool_call_id"), data.get("name"))


def _openai_part(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    if isinstance(part, Image):
        return {"type": "image_url", "image_url": {"url": part.to_url()}}
    audio_format = "mp3" if part.mime_type in ("audio/mpeg", "audio/mp3") else part.mime_type.split("/")[-1]
    data = base64.b64encode(part.data).decode()
    return {"type": "input_audio", "input_audio": {"data": data, "format": audio_format.removeprefix("x-")}}


def _part_to_dict(part: ContentPart) -> str | dict[str, Any]:
    if isinstance(part, str):
        return part
    if isinstance(part, Audio):
        return {"audio": base64.b64encode(part.data).decode(), "mime_type": part.mime_type}
    return {"image": base64.b64encode(part.data).decode(), "mime_type": part.mime_type, "url": part.url}


def _part_from_dict(part: str | Mapping[str, Any]) -> ContentPart:
    if isinstance(part, str):
        return part
    if "audio" in part:
        return Audio(base64.b64decode(part["audio"]), part.get("mime_type", "audio/wav"))
    return Image(base64.b64decode(part.get("image", "")), part.get("mime_type", "image/png"), part.get("url"))


MessageLike = ChatMessage | Mapping[str, Any]


def as_messages(messages: Sequence[MessageLike]) -> list[ChatMessage]:
    """Messages given as `ChatMessage`s or as dicts (`{"role": "user", "content": "..."}`)."""
    return [m if isinstance(m, ChatMessage) else ChatMessage.from_dict(m) for m in messages]


@dataclass(frozen=True)
class ToolDefinition:
    """A tool as a model sees it: name, description and the JSON Schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]

    @classmethod
    def from_tool(cls, tool: Tool) -> ToolDefinition:
        return cls(tool.name, tool.description, tool.input_schema)

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(frozen=True)
class JsonSchemaFormat:
    """Ask for a JSON value matching `schema`."""

    schema: dict[str, Any]
    name: str = "response"


@dataclass(frozen=True)
class CodeFormat:
    """Ask for one fenced code block (what a CodeAgent's model writes)."""

    language: str = "python"


ResponseFormat = JsonSchemaFormat | CodeFormat
ToolChoice = Literal["auto", "required", "none"]


class RequestOptions(TypedDict, total=False):
    """The options of one model call, as keywords (`model.agenerate(messages, stop=[...])`): the fields
    of `ModelRequest` but its messages."""

    tools: Sequence[ToolDefinition] | None
    tool_choice: ToolChoice
    response_format: ResponseFormat | None
    stop: Sequence[str] | None
    temperature: float | None
    max_tokens: int | None


@dataclass(frozen=True)
class ModelRequest:
    """One call to a model: what every provider's `Model.complete` takes.

    `messages` so far; optional `tools` the model may call, as `tool_choice` allows; an optional
    `response_format`; `stop` sequences; and `temperature` and `max_tokens`, which override the
    model's own settings when given.
    """

    messages: Sequence[ChatMessage]
    tools: Sequence[ToolDefinition] | None = None
    tool_choice: ToolChoice = "auto"
    response_format: ResponseFormat | None = None
    stop: Sequence[str] | None = None
    temperature: float | None = None
    max_tokens: int | None = None

    @property
    def offered_tools(self) -> list[ToolDefinition]:
        """The tools the model may call now: none when `tool_choice` is `"none"`."""
        return list(self.tools or ()) if self.tool_choice != "none" else []

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (what `RecordingModel` writes); fields that are None are left out."""
        data: dict[str, Any] = {"messages": [message.to_dict() for message in self.messages]}
        if self.tools is not None:
            data["tools"] = [
                {"name": t.name, "description": t.description, "parameters": t.parameters} for t in self.tools
            ]
        data["tool_choice"] = self.tool_choice
        if isinstance(self.response_format, JsonSchemaFormat):
            data["response_format"] = {"json_schema": self.response_format.schema}
        elif isinstance(self.response_format, CodeFormat):
            data["response_format"] = {"code": self.response_format.language}
        optional = (
            ("stop", list(self.stop) if self.stop is not None else None),
            ("temperature", self.temperature),
            ("max_tokens", self.max_tokens),
        )
        data |= {key: value for key, value in optional if value is not None}
        return data


@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)


@dataclass(frozen=True)
class ModelResponse:
    """The assistant's turn, what it cost in tokens (and money, where the provider's price is known)."""

    message: ChatMessage
    usage: TokenUsage = TokenUsage()
    model: str = ""
    cost: float | None = None

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.message.tool_calls

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message.to_dict(),
            "usage": {"input_tokens": self.usage.input_tokens, "output_tokens": self.usage.output_tokens},
            "model": self.model,
            "cost": self.cost,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelResponse:
        usage = data.get("usage") or {}
        return cls(
            ChatMessage.from_dict(data["message"]),
            TokenUsage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))),
            str(data.get("model", "")),
            data.get("cost"),
        )


@dataclass(frozen=True)
class TextDelta:
    """A piece of the assistant's text, as it streams in."""

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of the `index`-th tool call: its id and name when they first appear, then argument text."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


StreamEvent = TextDelta | ToolCallDelta | ModelResponse
"""What `Model.astream` yields: deltas as they come, then the complete `ModelResponse` last."""
