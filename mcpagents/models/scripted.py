"""Deterministic models: a script of responses, and recordings of real runs that replay them."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio

from mcpagents.errors import ConfigError, ModelError
from mcpagents.models.base import Model
from mcpagents.models.file_hints import similar_files
from mcpagents.models.messages import (
    ChatMessage,
    ModelRequest,
    ModelResponse,
    StreamEvent,
    TokenUsage,
    ToolCall,
    ToolDefinition,
)
from mcpagents.tools.media import MediaKind

ScriptStep = str | Mapping[str, Any] | ModelResponse
"""A text (e.g. a fenced code block), `{"tool_calls": [{"name": ..., "arguments": {...}}]}`
(optionally with `"content"`), `{"content": ...}`, or a complete `ModelResponse`."""

ScriptFunction = Callable[[list[ChatMessage], list[ToolDefinition] | None], ScriptStep]

CHARACTERS_PER_TOKEN = 4
"""Scripted responses count tokens as characters / 4: not a tokenizer, but deterministic."""


class ScriptedModel(Model):
    """Answers from a script: each call takes the next response, or asks `function(messages, tools)`.

    With `per_conversation=True` the script is that of one conversation, replayed by every one: a
    call takes the response numbered by the assistant turns already in its messages, so concurrent
    runs (a served agent's callers) each get the whole script. `delay` seconds pass before each
    answer, as a real model's would. Running out of responses raises `ModelError` saying how many
    there were. Token usage is counted as characters / 4, so token accounting can be tested.
    `media` are the kinds it `accepts` ("image", "audio"), as a model that sees them would.
    """

    def __init__(
        self,
        script: Sequence[ScriptStep] | ScriptFunction,
        *,
        model_id: str = "scripted",
        per_conversation: bool = False,
        delay: float = 0.0,
        media: Sequence[MediaKind] = (),
    ) -> None:
        self.model_id = model_id
        self.media = frozenset(media)
        self._function = script if callable(script) else None
        self._steps = [] if callable(script) else list(script)
        self.per_conversation = per_conversation
        self.delay = delay
        self.calls = 0

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ScriptedModel:
        """A JSON or YAML list of responses, or `{"responses": [...], "per_conversation": bool,
        "delay": seconds}`, or a JSONL recording."""
        source = Path(path).expanduser()
        steps, options = read_script(source)
        return cls(steps, model_id=f"scripted:{source}", **options)

    def accepts(self, kind: MediaKind) -> bool:
        return kind in self.media

    @property
    def remaining(self) -> int:
        if self._function is not None or self.per_conversation:
            return -1
        return len(self._steps) - self.calls

    async def complete(self, request: ModelRequest) -> ModelResponse:
        history = list(request.messages)
        if self.delay:
            await anyio.sleep(self.delay)
        number = sum(m.role == "assistant" for m in history) if self.per_conversation else self.calls
        if self._function is not None:
            step = self._function(history, list(request.tools) if request.tools is not None else None)
        elif number < len(self._steps):
            step = self._steps[number]
        else:
            last = next((m.text for m in reversed(history) if m.role in ("user", "tool")), "")
            raise ModelError(
                f"ScriptedModel {self.model_id!r} has no response left: its script has {len(self._steps)} and"
                f" call {number + 1} asked for another (last user/tool message: {last[:200]!r})",
                model=self.model_id,
            )
        self.calls += 1
        return scripted_response(step, history, self.model_id)


class RecordingModel(Model):
    """Wraps a model and appends each request and response to a JSONL file.

    `ScriptedModel.from_file(path)` (or the model string `"scripted:PATH"`) replays the run.
    """

    def __init__(self, model: Model, path: str | os.PathLike[str]) -> None:
        self.model = model
        self.model_id = model.model_id
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def accepts(self, kind: MediaKind) -> bool:
        return self.model.accepts(kind)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response = await self.model.complete(request)
        self._record(request, response)
        return response

    async def complete_streaming(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        async for event in self.model.complete_streaming(request):
            if isinstance(event, ModelResponse):
                self._record(request, event)
            yield event

    def _record(self, request: ModelRequest, response: ModelResponse) -> None:
        entry = {"request": request.to_dict(), "response": response.to_dict()}
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(entry) + "\n")


def scripted_response(step: ScriptStep, history: Sequence[ChatMessage], model_id: str) -> ModelResponse:
    if isinstance(step, ModelResponse):
        return step
    if isinstance(step, str):
        message = ChatMessage("assistant", step)
    else:
        calls = [
            ToolCall(
                str(call.get("id") or f"call_{index}"), str(call["name"]), dict(call.get("arguments") or {})
            )
            for index, call in enumerate(step.get("tool_calls") or [])
        ]
        message = ChatMessage("assistant", str(step.get("content") or ""), calls)
    written = message.text + "".join(json.dumps(call.arguments) + call.name for call in message.tool_calls)
    read = sum(len(m.text) for m in history)
    usage = TokenUsage(read // CHARACTERS_PER_TOKEN + 1, len(written) // CHARACTERS_PER_TOKEN + 1)
    return ModelResponse(message, usage, model_id)


def read_script(path: Path) -> tuple[list[ScriptStep], dict[str, Any]]:
    """The responses of a script file, and the `ScriptedModel` options it sets."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        hint = similar_files(path) if isinstance(error, FileNotFoundError) else ""
        raise ConfigError(f"{path}: cannot read the model script ({error.strerror}){hint}") from error
    if path.suffix == ".jsonl":
        steps = [
            _recorded_step(path, number, line)
            for number, line in enumerate(text.splitlines(), 1)
            if line.strip()
        ]
        return steps, {}
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from error
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from error
    options: dict[str, Any] = {}
    if isinstance(data, Mapping):
        options = _script_options(path, data)
        data = data.get("responses")
    if not isinstance(data, list) or not all(isinstance(step, str | Mapping) for step in data):
        raise ConfigError(
            f"{path}: expected a list of responses (texts, or objects with `content` and/or `tool_calls`),"
            " or an object with such a list under `responses`"
        )
    steps = [
        step if isinstance(step, str) else _checked_step(path, index, step) for index, step in enumerate(data)
    ]
    return steps, options


def _script_options(path: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    if unknown := sorted(set(data) - {"responses", "per_conversation", "delay"}):
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}: expected responses, per_conversation, delay")
    options: dict[str, Any] = {}
    if "per_conversation" in data:
        if not isinstance(data["per_conversation"], bool):
            raise ConfigError(f"{path}: per_conversation: expected true or false")
        options["per_conversation"] = data["per_conversation"]
    if "delay" in data:
        delay = data["delay"]
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise ConfigError(f"{path}: delay: expected a number of seconds (>= 0), got {delay!r}")
        options["delay"] = float(delay)
    return options


def _recorded_step(path: Path, number: int, line: str) -> ScriptStep:
    try:
        entry = json.loads(line)
        return ModelResponse.from_dict(entry["response"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ConfigError(
            f"{path}:{number}: not a recorded model turn ({type(error).__name__}: {error})"
        ) from error


def _checked_step(path: Path, index: int, step: Mapping[str, Any]) -> Mapping[str, Any]:
    calls = step.get("tool_calls") or []
    if not isinstance(calls, list) or not all(
        isinstance(c, Mapping) and isinstance(c.get("name"), str) for c in calls
    ):
        raise ConfigError(
            f"{path}: responses[{index}].tool_calls: expected a list of {{name, arguments}} objects"
        )
    if "content" not in step and not calls:
        raise ConfigError(f"{path}: responses[{index}]: expected `content` and/or `tool_calls`")
    return step
