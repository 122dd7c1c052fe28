"""Any provider litellm reaches: OpenAI, Anthropic, Gemini, Mistral, Ollama, OpenAI-compatible endpoints."""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import anyio

from mcpagents.errors import ModelError
from mcpagents.models.base import Model
from mcpagents.models.messages import (
    ChatMessage,
    JsonSchemaFormat,
    ModelRequest,
    ModelResponse,
    StreamEvent,
    TextDelta,
    TokenUsage,
    ToolCall,
    ToolCallDelta,
)
from mcpagents.models.tool_calls import parse_tool_call, tool_call_schema, tools_prompt
from mcpagents.tools.media import MediaKind

_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
_MAX_DELAY = 30.0


def load_litellm() -> Any:
    """Import litellm on first use (it takes seconds), never letting it fetch its price list online."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


class LiteLLMModel(Model):
    """A model reached through litellm: `LiteLLMModel("anthropic/claude-sonnet-4-5")`,
    `LiteLLMModel("ollama/llama3")`, or any OpenAI-compatible server with `api_base`.

    Rate limits and transient failures (HTTP 408/409/429/5xx, connection errors, timeouts) are
    retried `max_retries` times with exponential backoff (honouring `Retry-After`); each request may
    take `timeout` seconds. Tools go out as native tool calls where the provider supports them,
    otherwise as a JSON answer constrained by a schema (`native_tools=False` forces that).
    `temperature` and `max_tokens` apply to every request that does not set its own;
    `completion_options` (`{"top_p": 0.9}`, ...) go to `litellm.acompletion` as they are.
    `media` are the kinds of parts besides text the model takes (`("image",)`, `("image", "audio")`);
    by default litellm's model table says (`supports_vision`, `supports_audio_input`).
    """

    def __init__(
        self,
        model_id: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 4,
        retry_delay: float = 1.0,
        native_tools: bool | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        completion_options: Mapping[str, Any] | None = None,
        media: Sequence[MediaKind] | None = None,
    ) -> None:
        self.model_id = model_id
        self.media = None if media is None else frozenset(media)
        self.api_base = api_base
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.native_tools = native_tools
        defaults = (("temperature", temperature), ("max_tokens", max_tokens))
        self.completion_options: dict[str, Any] = {
            **(completion_options or {}),
            **{key: value for key, value in defaults if value is not None},
        }
        """What every request passes to `litellm.acompletion` (the request's own settings win)."""
        self.json_schema_style: str = "json_schema"
        """`json_schema` (OpenAI's structured outputs) until an endpoint refuses it; then `json_object`
        with a `schema`, which llama.cpp-style servers take."""

    def check(self) -> None:
        """A provider litellm knows, and its key set (unless the model has an `api_key` or `api_base`)."""
        from mcpagents.models.providers import check_provider

        check_provider(self.model_id, os.environ, has_key=bool(self.api_key or self.api_base))

    async def complete(self, request: ModelRequest) -> ModelResponse:
        arguments = self._arguments(request)
        response = await self._send(arguments)
        return self._response(response, arguments, request)

    async def complete_streaming(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        arguments = self._arguments(request)
        arguments["stream"] = True
        arguments["stream_options"] = {"include_usage": True}
        chunks = []
        emulated = _emulates_tools(request, arguments)
        async for chunk in await self._send(arguments):
            chunks.append(chunk)
            delta = chunk.choices[0].delta if chunk.choices else None
            if delta is None:
                continue
            if delta.content and not emulated:
                yield TextDelta(delta.content)
            for call in getattr(delta, "tool_calls", None) or []:
                function = call.function
                yield ToolCallDelta(
                    call.index,
                    call.id,
                    function.name if function else None,
                    (function and function.arguments) or "",
                )
        litellm = load_litellm()
        whole = litellm.stream_chunk_builder(chunks, messages=arguments["messages"])
        yield self._response(whole, arguments, request)

    # -- the request ------------------------------------------------------------------------------

    def _arguments(self, request: ModelRequest) -> dict[str, Any]:
        """The keyword arguments of `litellm.acompletion` for `request`."""
        arguments: dict[str, Any] = {"model": self.model_id, "timeout": self.timeout, "num_retries": 0}
        arguments |= {
            key: value for key, value in (("api_base", self.api_base), ("api_key", self.api_key)) if value
        }
        arguments |= self.completion_options
        messages = list(request.messages)
        response_format = request.response_format
        if (tools := request.offered_tools) and self._native_tools():
            arguments["tools"] = [tool.to_openai() for tool in tools]
            arguments["tool_choice"] = request.tool_choice
        elif tools:
            messages = [ChatMessage("system", tools_prompt(tools)), *messages]
            response_format = JsonSchemaFormat(tool_call_schema(tools), name="tool_call")
        if isinstance(response_format, JsonSchemaFormat):
            arguments["response_format"] = self._response_format(response_format)
        arguments["messages"] = [message.to_openai() for message in messages]
        optional = (
            ("stop", list(request.stop) if request.stop else None),
            ("temperature", request.temperature),
            ("max_tokens", request.max_tokens),
        )
        arguments |= {key: value for key, value in optional if value is not None}
        return arguments

    def accepts(self, kind: MediaKind) -> bool:
        if self.media is None:
            self.media = _media_of(self.model_id)
        return kind in self.media

    def _native_tools(self) -> bool:
        if self.native_tools is None:
            try:
                self.native_tools = bool(load_litellm().supports_function_calling(self.model_id))
            except Exception:
                self.native_tools = False
        return self.native_tools

    def _response_format(self, format: JsonSchemaFormat) -> dict[str, Any]:
        if self.json_schema_style == "json_object":
            return {"type": "json_object", "schema": format.schema}
        return {"type": "json_schema", "json_schema": {"name": format.name, "schema": format.schema}}

    # -- sending, with retries ----------------------------------------------------------------------

    async def _send(self, arguments: dict[str, Any]) -> Any:
        litellm = load_litellm()
        self._check_key(litellm)
        for attempt in itertools.count():
            try:
                return await litellm.acompletion(**arguments)
            except Exception as error:
                if self._refuses_json_schema(error, arguments):
                    arguments["response_format"] = {"type": "json_object", "schema": _schema_of(arguments)}
                    continue
                if attempt >= self.max_retries or not _transient(litellm, error):
                    raise self._error(litellm, error, attempt + 1) from error
                await anyio.sleep(self._delay(error, attempt))
        raise AssertionError("unreachable")

    def _refuses_json_schema(self, error: Exception, arguments: dict[str, Any]) -> bool:
        """An OpenAI-compatible endpoint that takes only `json_object` (llama.cpp's server answers
        `json_schema` with an HTTP 500 naming the field): switch, once, for good."""
        refused = (
            self.json_schema_style == "json_schema"
            and self.api_base is not None
            and (arguments.get("response_format") or {}).get("type") == "json_schema"
            and any(word in str(error) for word in ("json_schema", "response_format"))
        )
        if refused:
            self.json_schema_style = "json_object"
        return refused

    def _check_key(self, litellm: Any) -> None:
        if self.api_key or self.api_base:
            return
        try:
            missing = litellm.validate_environment(self.model_id).get("missing_keys") or []
        except Exception:
            return
        if missing:
            raise ModelError(
                f"model {self.model_id!r} needs {' and '.join(missing)}: set it in the environment"
                " (or pass api_key=...)",
                model=self.model_id,
            )

    def _delay(self, error: Exception, attempt: int) -> float:
        response = getattr(error, "response", None)
        retry_after = getattr(response, "headers", {}).get("retry-after") if response is not None else None
        try:
            return min(float(str(retry_after)), _MAX_DELAY)
        except ValueError:
            base: float = self.retry_delay * 2**attempt
            return min(base * random.uniform(0.75, 1.25), _MAX_DELAY)

    def _error(self, litellm: Any, error: Exception, attempts: int) -> ModelError:
        at = f" at {self.api_base}" if self.api_base else ""
        where = f"model {self.model_id!r} ({_provider(litellm, self.model_id)}{at})"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        detail = str(getattr(error, "message", None) or error).strip()[:500]
        if isinstance(error, litellm.AuthenticationError):
            problem = f"rejected the API key: {detail}"
        elif isinstance(error, litellm.Timeout):
            problem = f"did not answer within {self.timeout:g} s"
        elif isinstance(error, litellm.APIConnectionError) or (refused := _connection_failure(error)):
            problem = f"is unreachable: {refused or detail}"
        elif isinstance(error, litellm.NotFoundError):
            problem = f"does not know this model: {detail}"
        elif (status := getattr(error, "status_code", None)) is not None:
            problem = f"answered HTTP {status}: {detail}"
        else:
            problem = f"failed: {type(error).__name__}: {detail}"
        return ModelError(f"{where} {problem}{tries}", model=self.model_id)

    # -- the response ---------------------------------------------------------------------------------

    def _response(self, response: Any, arguments: Mapping[str, Any], request: ModelRequest) -> ModelResponse:
        message = response.choices[0].message
        text = message.content or ""
        calls = [_tool_call(call) for call in getattr(message, "tool_calls", None) or []]
        if _emulates_tools(request, arguments):
            calls, text = [parse_tool_call(text, request.offered_tools)], ""
        usage = getattr(response, "usage", None)
        tokens = TokenUsage(
            int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)
        )
        return ModelResponse(
            ChatMessage("assistant", text, calls), tokens, self.model_id, self._cost(response)
        )

    def _cost(self, response: Any) -> float | None:
        try:
            cost = load_litellm().completion_cost(completion_response=response)
        except Exception:
            return None
        return float(cost) if cost else None


def _media_of(model_id: str) -> frozenset[MediaKind]:
    """What litellm's model table says the model takes besides text (nothing, for a model it lacks)."""
    litellm = load_litellm()
    checks: tuple[tuple[MediaKind, Any], ...] = (
        ("image", litellm.supports_vision),
        ("audio", litellm.supports_audio_input),
    )
    found: set[MediaKind] = set()
    for kind, supports in checks:
        try:
            if supports(model_id):
                found.add(kind)
        except Exception:
            continue
    return frozenset(found)


def _tool_call(call: Any) -> ToolCall:
    raw = call.function.arguments or "{}"
    try:
        arguments = json.loads(raw)
    except json.JSONDecodeError:
        return ToolCall(call.id, call.function.name, {}, raw_arguments=raw)
    if not isinstance(arguments, dict):
        return ToolCall(call.id, call.function.name, {}, raw_arguments=raw)
    return ToolCall(call.id, call.function.name, arguments)


def _connection_failure(error: BaseException) -> str | None:
    """The network error behind `error`, if any (litellm reports some as HTTP 500 "Connection error")."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ConnectionError | TimeoutError) or type(cause).__name__ == "ConnectError":
            return f"{type(cause).__name__}: {cause}".rstrip(": ")
        cause = cause.__cause__ or cause.__context__
    return None


def _transient(litellm: Any, error: Exception) -> bool:
    if isinstance(error, litellm.APIConnectionError | litellm.RateLimitError | litellm.InternalServerError):
        return True
    return getattr(error, "status_code", None) in _RETRY_STATUSES


def _provider(litellm: Any, model_id: str) -> str:
    try:
        return str(litellm.get_llm_provider(model_id)[1])
    except Exception:
        return "unknown provider"


def _emulates_tools(request: ModelRequest, arguments: Mapping[str, Any]) -> bool:
    """Tools offered, but not as native tools: the answer is a tool call written as JSON."""
    return bool(request.offered_tools) and "tools" not in arguments


def _schema_of(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return dict(arguments["response_format"]["json_schema"]["schema"])
