"""smolagents' stateful tools: a class with `name`, `description`, `inputs`, `output_type` and a
`forward()` method, whose `setup()` runs once before the first call. An instance is served
in-process like a `@tool` function (`function_tool()` makes it one), so it reaches an agent as an
MCP tool.

Named `PythonTool`, not `Tool`: `mcpagents.Tool` is already a tool of an MCP server (what a
`ToolCollection` holds). A ported file changes its import, `from mcpagents import PythonTool as
Tool`, and nothing else."""

from __future__ import annotations

import inspect
import threading
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from mcpagents.errors import ConfigError
from mcpagents.tools.local import FunctionTool, tool

_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "object": dict[str, Any],
    "array": list[Any],
    "any": Any,
    "null": None,
}
"""smolagents' input and output types, as the Python types the MCP schemas are made from."""


class PythonTool:
    """Subclass it as in smolagents: set the class attributes, write `forward(self, ...)` with one
    parameter per input, and `setup(self)` for what is loaded once. `inputs` is `{name: {"type":
    ..., "description": ..., "nullable": bool, "enum": [...]}}`; an input whose `forward` parameter
    has a default may be left out (with that default). `output_schema` (a JSON Schema) is optional:
    given, the result is a dict, published with that schema (a CodeAgent's model reads it)."""

    name: ClassVar[str]
    description: ClassVar[str]
    inputs: ClassVar[dict[str, dict[str, Any]]]
    output_type: ClassVar[str]
    output_schema: ClassVar[dict[str, Any] | None] = None
    is_initialized: bool = False
    _setting_up: ClassVar[threading.RLock] = threading.RLock()
    """Held while a tool sets up: `setup` runs once even when calls come from several threads
    (re-entrant: a setup may call another tool). A class attribute, so a subclass's `__init__`
    need not call this one."""

    def setup(self) -> None:
        """What the tool loads once, before its first call (a model, a client)."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._setting_up:
            if not self.is_initialized:
                self.setup()
                self.is_initialized = True
        return self.forward(*args, **kwargs)

    def function_tool(self) -> FunctionTool[..., Any]:
        """This tool as a `@tool` function: what an in-process MCP server serves."""
        defaults = self._check()
        parameters = [
            inspect.Parameter(
                key,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[
                    _input_type(self, key, spec, defaults.get(key, inspect.Parameter.empty)),
                    Field(description=spec["description"]),
                ],
                default=defaults.get(key, None if spec.get("nullable") else inspect.Parameter.empty),
            )
            for key, spec in self.inputs.items()
        ]
        output: Any = (
            dict[str, Any] if self.output_schema is not None else _type(self, "output_type", self.output_type)
        )

        def call(**arguments: Any) -> Any:
            return self(**arguments)

        call.__name__ = call.__qualname__ = self.name
        call.__signature__ = inspect.Signature(parameters, return_annotation=output)  # type: ignore[attr-defined]
        return tool(name=self.name, description=self.description, output_schema=self.output_schema)(call)

    def _check(self) -> dict[str, Any]:
        """smolagents' checks of a tool class, as ConfigErrors naming the class; the defaults of
        `forward`'s parameters."""
        cls = type(self).__name__
        for attribute in ("name", "description", "inputs", "output_type"):
            if not hasattr(self, attribute):
                raise ConfigError(f"tool class {cls} has no {attribute!r} class attribute")
        if not self.name.isidentifier():
            raise ConfigError(f"tool class {cls}: name {self.name!r} must be a Python identifier")
        accepted = [
            p for p in inspect.signature(self.forward).parameters.values() if p.kind is not p.VAR_KEYWORD
        ]
        if sorted(p.name for p in accepted) != sorted(self.inputs):
            raise ConfigError(
                f"tool class {cls}: forward() takes {[p.name for p in accepted]} but inputs are"
                f" {list(self.inputs)}; they must be the same names"
            )
        return {p.name: p.default for p in accepted if p.default is not p.empty}


def _input_type(owner: PythonTool, key: str, spec: dict[str, Any], default: Any) -> Any:
    if "type" not in spec or "description" not in spec:
        raise ConfigError(f"tool {owner.name!r}: input {key!r} needs a 'type' and a 'description'")
    kind = Literal[tuple(spec["enum"])] if spec.get("enum") else _type(owner, f"input {key!r}", spec["type"])
    return kind | None if spec.get("nullable") or (default is None and kind is not Any) else kind


def _type(owner: PythonTool, where: str, kind: str) -> Any:
    if kind not in _TYPES:
        raise ConfigError(
            f"tool {owner.name!r}: {where} has type {kind!r}; the types are {', '.join(_TYPES)}"
            " (return an image from a @tool function or an MCP server instead)"
        )
    return _TYPES[kind]
