"""The worker process: runs model-written Python one step at a time, confined, state kept between steps.

Forked by the zygote for each `PythonExecutor`. It talks to the host only through frames on the
socket it was given. It holds no MCP session, no secret, no host object: a tool is a local function
that sends a `call` frame and waits for the host's `result`. Every frame names the step it belongs to,
so that the host can tell a late or forged frame from the one it waits for. Standard library only (and
`pyseccomp` for the seccomp layer).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import io
import itertools
import json
import keyword
import linecache
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from mcpagents.sandbox import confinement, protocol
from mcpagents.sandbox.worker_channel import WorkerChannel

_FILENAME = "<code>"
_JSON_TYPES = "str, int, float, bool, None, list, dict"
_SEARCH_TOOLS = "search_tools"
"""The host's tool search (mcpagents.agents.tool_index.SEARCH_TOOLS), which `help` asks when it is there."""
_JSON_TO_PYTHON = {
    "integer": int,
    "number": float,
    "string": str,
    "boolean": bool,
    "array": list,
    "object": dict,
}


class FinalAnswer(BaseException):
    """Raised by `final_answer`: a BaseException, so `except Exception` in model code cannot swallow it."""

    def __init__(self, value: Any) -> None:
        self.value = value


class ToolCallError(Exception):
    """A tool call failed on the host; the message says why."""


class _Omitted:
    def __repr__(self) -> str:
        return "<optional>"


OMITTED = _Omitted()


class CappedText(io.TextIOBase):
    """A text sink keeping the first `limit` characters and counting the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        notice = f"\n[output truncated: {self.dropped} more characters]" if self.dropped else ""
        return "".join(self.parts) + notice

    def take(self) -> str:
        """The text so far; the sink starts empty again."""
        text = self.text()
        self.parts.clear()
        self.kept = self.dropped = 0
        return text


def confine_process() -> dict[str, Any]:
    """The layers a worker takes before it is given its run (they do not depend on it): no
    capabilities, and the seccomp filter. What each did, or why it could not, by layer name."""
    return _applied(
        [
            ("process", lambda: f"pid {os.getpid()}, python -I, {confinement.drop_capabilities()}"),
            ("seccomp", lambda: confinement.apply_seccomp(confinement.load_seccomp())),
        ]
    )


def _applied(layers: Sequence[tuple[str, Callable[[], str]]]) -> dict[str, Any]:
    """Each layer applied in turn: what it did, or why it could not, by name."""
    applied: dict[str, Any] = {}
    for name, apply in layers:
        try:
            applied[name] = {"ok": True, "detail": apply()}
        except Exception as error:
            applied[name] = {"ok": False, "detail": str(error) or type(error).__name__}
    return applied


class Worker:
    def __init__(self, channel: WorkerChannel, layers: dict[str, Any]) -> None:
        self.channel = channel
        self.layers = layers
        """The layers it took before its run (`confine_process`); `set_up` adds the run's own."""
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        self.reserved: dict[str, Any] = {}
        self.output_limit = 20_000
        self.step = 0
        self.call_ids = itertools.count(1)  # next() is atomic: calls may come from several threads
        self.silence = CappedText(0)
        self.stdout = CappedText(self.output_limit)
        self.stderr = CappedText(self.output_limit)

    def serve(self) -> None:
        setup = self.channel.next_command()
        self.channel.send({"type": "ready", "layers": self.set_up(setup)})
        sys.stdout = sys.stderr = self.silence
        while True:
            message = self.channel.next_command()
            self.step = int(message.get("step", 0))
            if message.get("type") == "run":
                result = self.run(str(message.get("code", "")))
            elif message.get("type") == "define":
                self.namespace.update(message.get("values") or {})
                result = {
                    "type": "done",
                    "final": None,
                    "value": None,
                    "error": None,
                    "stdout": "",
                    "stderr": "",
                }
            else:
                continue
            self.channel.send_raw(_done_frame({**result, "step": self.step}))

    # -- setting up --------------------------------------------------------------------------------

    def set_up(self, setup: dict[str, Any]) -> dict[str, Any]:
        """The run's own layers, after the modules it needs are loaded (Landlock would stop a heavy
        library loading its shared objects later); a module that will not import is reported when
        the code imports it."""
        self.output_limit = self.stdout.limit = self.stderr.limit = int(
            setup.get("output_limit", self.output_limit)
        )
        for module in setup.get("preimport", []):
            with suppress(Exception):
                importlib.import_module(module)
        limits = setup.get("limits", {})
        run_layers = _applied(
            [
                (
                    "rlimits",
                    lambda: confinement.apply_rlimits(
                        limits["memory_bytes"], limits["file_bytes"], limits["open_files"]
                    ),
                ),
                ("landlock", lambda: confinement.apply_landlock(setup["read_paths"], setup["write_paths"])),
            ]
        )
        self.reserved = self._tools(setup.get("tools", []))
        return self.layers | run_layers

    def _tools(self, specs: Sequence[dict[str, Any]]) -> dict[str, Any]:
        names: dict[str, Any] = {spec["python_name"]: self._stub(spec) for spec in specs}
        names["final_answer"] = final_answer
        names["parallel"] = self.parallel
        names["map_tool"] = self.map_tool
        names["ToolCallError"] = ToolCallError
        names["help"] = self.help
        return names

    def help(self, tool: Any = None) -> None:
        """`help(tool)` prints a tool's full signature: the host's, typed results and all, when it
        gave the code a `search_tools` (an agent whose prompt shows an index of its tools)."""
        name = getattr(tool, "tool_name", None)
        if name is not None and _SEARCH_TOOLS in self.reserved:
            print(self.call(_SEARCH_TOOLS, {"query": name, "limit": 1}))
        elif name is not None:
            described = inspect.cleandoc(tool.__doc__ or "").replace("\n", "\n    ")
            print(f'def {tool.__name__}{tool.__signature__}:\n    """{described}"""')
        else:
            print(getattr(tool, "__doc__", None) or f"{tool!r}: no help for it")

    def _stub(self, spec: dict[str, Any]) -> Callable[..., Any]:
        schema = spec.get("parameters") or {}
        properties: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        ordered = [name for name in properties if name in required] + [
            n for n in properties if n not in required
        ]
        parameters = [
            inspect.Parameter(
                name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=inspect.Parameter.empty if name in required else OMITTED,
                annotation=_annotation(properties[name]),
            )
            for name in ordered
            if name.isidentifier() and not keyword.iskeyword(name)
        ]
        if len(parameters) < len(ordered):  # names like "content-type" or "class" come through **kwargs
            parameters.append(inspect.Parameter("arguments", inspect.Parameter.VAR_KEYWORD))
        signature = inspect.Signature(parameters)
        # None for an optional parameter that cannot be null means "leave it out".
        droppable = {name for name in ordered if name not in required and not _nullable(properties[name])}
        tool = spec["name"]

        def stub(*args: Any, **kwargs: Any) -> Any:
            return self.call(tool, _arguments(tool, signature, args, kwargs, droppable))

        stub.__name__ = spec["python_name"]
        stub.__doc__ = spec.get("description") or ""
        stub.__signature__ = signature  # type: ignore[attr-defined]
        stub.tool_name = tool  # type: ignore[attr-defined]
        stub.droppable = droppable  # type: ignore[attr-defined]
        return stub

    # -- tool calls ----------------------------------------------------------------------------------

    def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        (outcome,) = self._call_all([(tool, arguments)])
        if isinstance(outcome, ToolCallError):
            raise outcome
        return outcome

    def parallel(self, calls: Sequence[Any], return_exceptions: bool = False) -> list[Any]:
        """Run several tool calls at once: `parallel([(search, {"query": "a"}), (add, {"a": 1, "b": 2})])`.

        Results come back in order; with `return_exceptions=True` a failed call gives its
        `ToolCallError` in place instead of raising.
        """
        prepared = []
        for index, call in enumerate(calls):
            try:
                function, arguments = call
            except (TypeError, ValueError):
                raise TypeError(f"parallel(): call {index} must be a (tool, arguments_dict) pair") from None
            tool = getattr(function, "tool_name", None)
            if tool is None or not isinstance(arguments, dict):
                raise TypeError(f"parallel(): call {index} must be a (tool, arguments_dict) pair")
            prepared.append(
                (tool, _arguments(tool, function.__signature__, (), arguments, function.droppable))
            )
        outcomes = self._call_all(prepared)
        if not return_exceptions:
            for outcome in outcomes:
                if isinstance(outcome, ToolCallError):
                    raise outcome
        return outcomes

    def map_tool(self, function: Callable[..., Any], arguments: Sequence[dict[str, Any]]) -> list[Any]:
        """Call one tool with each of several argument dicts, all at once: results in order."""
        return self.parallel([(function, each) for each in arguments])

    def _call_all(self, calls: Sequence[tuple[str, dict[str, Any]]]) -> list[Any]:
        frames = []
        for tool, arguments in calls:
            call_id = next(self.call_ids)
            call = {"type": "call", "step": self.step, "id": call_id, "tool": tool, "arguments": arguments}
            try:
                # Encoded here, in the worker: the host receives JSON text, never an object of the model's.
                frame = protocol.encode(call)
            except (TypeError, ValueError) as error:
                raise TypeError(f"{tool}(): arguments must be JSON data ({_JSON_TYPES}): {error}") from None
            if len(frame) > protocol.MAX_CALL_BYTES:
                raise ValueError(
                    f"{tool}(): the arguments are {len(frame):,} bytes of JSON; a tool call carries at most"
                    f" {protocol.MAX_CALL_BYTES:,}"
                )
            frames.append((call_id, frame))
        for _, frame in frames:
            self.channel.send_raw(frame)
        results = self.channel.results([call_id for call_id, _ in frames])
        return [
            results[call_id].get("value")
            if results[call_id].get("ok")
            else ToolCallError(str(results[call_id].get("error", "the tool call failed")))
            for call_id, _ in frames
        ]

    # -- steps ---------------------------------------------------------------------------------------

    def run(self, code: str) -> dict[str, Any]:
        self.namespace.update(self.reserved)  # tools and final_answer come back even if code rebound them
        result: dict[str, Any] = {"type": "done", "final": None, "value": None, "error": None}
        sys.stdout, sys.stderr = self.stdout, self.stderr
        try:
            value = self._execute(code)
            if value is not None:
                result["value"] = _short_repr(value)
        except FinalAnswer as answer:
            result["final"] = _json_answer(answer.value)
        except BaseException as error:  # SystemExit and KeyboardInterrupt too: the worker goes on
            linecache.cache[_FILENAME] = (len(code), None, code.splitlines(keepends=True), _FILENAME)
            result["error"] = _capped(_describe(error), self.output_limit)
        finally:
            sys.stdout = sys.stderr = self.silence
        result["stdout"], result["stderr"] = self.stdout.take(), self.stderr.take()
        return result

    def _execute(self, code: str) -> Any:
        """Run `code` like a notebook cell: the value of a final expression is returned."""
        tree = ast.parse(code, _FILENAME)
        last = tree.body[-1] if tree.body else None
        if not isinstance(last, ast.Expr):
            exec(compile(tree, _FILENAME, "exec"), self.namespace)
            return None
        tree.body.pop()
        exec(compile(tree, _FILENAME, "exec"), self.namespace)
        return eval(compile(ast.Expression(last.value), _FILENAME, "eval"), self.namespace)


def _done_frame(result: dict[str, Any]) -> bytes:
    """The step's `done` frame; a final answer too large for a frame becomes the step's error."""
    try:
        return protocol.encode(result)
    except protocol.ProtocolError as error:
        kept = {key: result[key] for key in ("type", "step", "value")}
        for key in ("stdout", "stderr"):
            kept[key] = _capped(result[key], protocol.MAX_FRAME_BYTES // 16)
        return protocol.encode(
            {**kept, "final": None, "error": f"the final answer is too large to send: {error}"}
        )


def _capped(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[truncated: {len(text) - limit} more characters]"


def final_answer(answer: Any) -> None:
    """End the task with `answer` (JSON data: text, numbers, lists, dicts)."""
    raise FinalAnswer(answer)


def _arguments(
    tool: str,
    signature: inspect.Signature,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    droppable: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{tool}(): {error}") from None
    arguments = dict(bound.arguments)
    arguments.update(arguments.pop("arguments", None) or {})
    return {
        name: value
        for name, value in arguments.items()
        if value is not OMITTED and not (value is None and name in droppable)
    }


def _annotation(schema: Any) -> Any:
    """The Python type of a JSON Schema with one `type` (`"type": ["string", "null"]` has none)."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    return (
        _JSON_TO_PYTHON.get(kind, inspect.Parameter.empty)
        if isinstance(kind, str)
        else inspect.Parameter.empty
    )


def _nullable(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return schema is True  # a boolean schema: `true` accepts null
    kind = schema.get("type")
    options = schema.get("anyOf") or schema.get("oneOf") or []
    return kind == "null" or (isinstance(kind, list) and "null" in kind) or any(_nullable(o) for o in options)


def _json_answer(value: Any) -> dict[str, Any]:
    try:
        return {"value": json.loads(json.dumps(value, allow_nan=False)), "note": None}
    except (TypeError, ValueError):
        note = f"final_answer got a {type(value).__name__}, which is not JSON data: its text form was used"
        try:
            return {"value": str(value), "note": note}
        except BaseException as error:
            return {"value": f"<unprintable {type(value).__name__}: {error}>", "note": note}


def _short_repr(value: Any, limit: int = 2000) -> str:
    try:
        text = repr(value)
    except BaseException as error:
        text = f"<unprintable {type(value).__name__}: {type(error).__name__}>"
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def _describe(error: BaseException) -> str:
    """The error with the traceback lines of the model's own code only."""
    if isinstance(error, SyntaxError) and error.filename == _FILENAME:
        where = f"line {error.lineno}" if error.lineno else "the code"
        text = (error.text or "").rstrip("\n")
        caret = " " * (max(error.offset or 1, 1) - 1 + 4) + "^" if text else ""
        return "\n".join(
            part
            for part in (f"SyntaxError: {error.msg} ({where})", f"    {text}" if text else "", caret)
            if part
        )
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == _FILENAME]
    lines = ["Traceback (most recent call last):"] if frames else []
    for frame in frames:
        lines.append(f"  line {frame.lineno}, in {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line}")
    if type(error).__module__ == __name__:  # our own ToolCallError: shown by its plain name
        lines.append(f"{type(error).__name__}: {error}")
    else:
        lines.append("".join(traceback.format_exception_only(type(error), error)).strip())
    return "\n".join(lines)
