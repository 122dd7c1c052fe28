"""`@tool`: plain Python functions served as MCP tools by an in-process `MCPServer`."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Generic, ParamSpec, TypeVar, get_args, get_origin, overload

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import ToolAnnotations
from pydantic import Field

from mcpagents.connections.specs import InProcessServer
from mcpagents.errors import ConfigError
from mcpagents.tools.docstrings import parse_docstring

P = ParamSpec("P")
R = TypeVar("R")

_log = logging.getLogger(__name__)

_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class FunctionTool(Generic[P, R]):
    """A function made into an MCP tool by `@tool`; calling it calls the function unchanged."""

    __name__: str
    __qualname__: str

    def __init__(self, fn: Callable[P, R], sdk_tool: Tool) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self._sdk_tool = sdk_tool

    @property
    def name(self) -> str:
        """The tool's name on the MCP server."""
        return self._sdk_tool.name

    @property
    def description(self) -> str:
        """The description the model reads: the docstring summary and its `Returns:` text, or the override."""
        return self._sdk_tool.description

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<FunctionTool {self.name!r}>"


@overload
def tool(fn: Callable[P, R], /) -> FunctionTool[P, R]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    annotations: ToolAnnotations | Mapping[str, Any] | None = None,
    structured_output: bool | None = None,
    output_schema: Mapping[str, Any] | None = None,
) -> Callable[[Callable[P, R]], FunctionTool[P, R]]: ...


def tool(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    annotations: ToolAnnotations | Mapping[str, Any] | None = None,
    structured_output: bool | None = None,
    output_schema: Mapping[str, Any] | None = None,
) -> FunctionTool[P, R] | Callable[[Callable[P, R]], FunctionTool[P, R]]:
    """Make a typed function an MCP tool, bare (`@tool`) or with options (`@tool(name=...)`).

    The description defaults to the docstring's summary plus its `Returns:` text, and each
    parameter's schema description comes from the docstring's `Args:` entry. A parameter
    annotated `Context` receives the request context and is left out of the schema.

    Args:
        fn: The function (when used bare).
        name: The tool's name; defaults to the function's name.
        description: Replaces the description taken from the docstring.
        annotations: Behaviour hints, as `ToolAnnotations` or a dict of its fields
            (`read_only_hint` or `readOnlyHint`, ...).
        structured_output: Whether results carry `structured_content` validated against an
            output schema; `None` decides from the return annotation.
        output_schema: The output schema to publish instead of the one made from a `dict`
            return annotation (results are then checked only as dicts).

    Raises:
        TypeError: A parameter has no type annotation, or is `*args`, `**kwargs` or positional-only.
        ValueError: An unknown annotation hint.
    """

    def decorate(fn: Callable[P, R]) -> FunctionTool[P, R]:
        if isinstance(fn, FunctionTool):  # re-decorating a tool, e.g. to rename it
            fn = fn.fn
        sdk_tool = _sdk_tool(fn, name, description, _tool_annotations(annotations), structured_output)
        if output_schema is not None:
            if sdk_tool.fn_metadata.output_model is None:
                raise ConfigError(f"tool {sdk_tool.name!r}: output_schema= needs a function returning a dict")
            sdk_tool.fn_metadata.output_schema = dict(output_schema)
        return FunctionTool(fn, sdk_tool)

    return decorate if fn is None else decorate(fn)


def local_server(
    tools: Sequence[FunctionTool[..., Any] | Callable[..., Any]], name: str = "local"
) -> InProcessServer:
    """Serve `tools` from one in-process MCP server; plain typed functions are made tools with `tool`.

    Raises:
        ValueError: Two tools have the same name.
    """
    function_tools = [item if isinstance(item, FunctionTool) else tool(item) for item in tools]
    seen: set[str] = set()
    for function_tool in function_tools:
        if function_tool.name in seen:
            raise ConfigError(
                f"local server {name!r} has more than one tool named {function_tool.name!r}; "
                "give one of them another name with @tool(name=...)"
            )
        seen.add(function_tool.name)
    with _root_logger_kept():
        server = MCPServer(name, tools=[function_tool._sdk_tool for function_tool in function_tools])
    return InProcessServer(server)


@contextmanager
def _root_logger_kept() -> Iterator[None]:
    """Undo the `logging.basicConfig()` that `MCPServer.__init__` calls: in a program that has not configured
    logging, it would add a handler to the root logger and turn on INFO logging everywhere."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)


def _sdk_tool(
    fn: Callable[..., Any],
    name: str | None,
    description: str | None,
    annotations: ToolAnnotations | None,
    structured_output: bool | None,
) -> Tool:
    """Build the SDK's tool from a wrapper whose signature carries the docstring's parameter descriptions."""
    doc = parse_docstring(fn.__doc__)
    signature = inspect.signature(fn, eval_str=True)
    parameters = []
    for param in signature.parameters.values():
        if param.kind not in _KEYWORD_KINDS:
            raise TypeError(
                f"tool {fn.__qualname__}: parameter {param.name!r} must be an ordinary named parameter "
                "(tools are called with keyword arguments only)"
            )
        if param.annotation is inspect.Parameter.empty:
            raise TypeError(
                f"tool {fn.__qualname__}: parameter {param.name!r} has no type annotation; "
                "annotate it so the tool's input schema can be built"
            )
        if param.name in doc.params:
            param = param.replace(annotation=_described(param.annotation, doc.params[param.name]))
        parameters.append(param)

    entry = _entry_point(fn)
    # `__wrapped__` makes typing.get_type_hints() resolve forward references in `fn`'s module.
    functools.update_wrapper(entry, fn)
    entry.__name__ = name or fn.__name__
    entry.__doc__ = None
    entry.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    entry.__annotations__ = {param.name: param.annotation for param in parameters}
    if signature.return_annotation is not inspect.Signature.empty:
        entry.__annotations__["return"] = signature.return_annotation

    if description is None:
        description = "\n\n".join(
            part for part in (doc.summary, doc.returns and f"Returns: {doc.returns}") if part
        )
    return Tool.from_function(
        entry,
        name=entry.__name__,
        description=description,
        annotations=annotations,
        structured_output=structured_output,
    )


def _described(annotation: Any, description: str) -> Any:
    """`annotation` with a pydantic description placed before any existing metadata, so an explicit
    `Annotated[T, Field(description=...)]` keeps precedence over the docstring."""
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        return Annotated[(base, Field(description=description), *metadata)]
    return Annotated[annotation, Field(description=description)]


def _entry_point(fn: Callable[..., Any]) -> Callable[..., Any]:
    """What the SDK calls: `fn`, with failures reported to the model with their messages."""
    if inspect.iscoroutinefunction(fn):

        async def call_async(**kwargs: Any) -> Any:
            with _reported_errors(fn):
                return await fn(**kwargs)

        return call_async

    def call(**kwargs: Any) -> Any:
        with _reported_errors(fn):
            return fn(**kwargs)

    return call


@contextmanager
def _reported_errors(fn: Callable[..., Any]) -> Iterator[None]:
    # The SDK hides the text of an unexpected exception from the client; a local tool is the user's
    # own code, and its error message is what lets the model correct the call.
    try:
        yield
    except (MCPError, ToolError, ResourceError):
        raise
    except Exception as exc:
        _log.debug("tool %s raised", fn.__qualname__, exc_info=True)
        raise ToolError(f"{type(exc).__name__}: {exc}") from exc


def _tool_annotations(value: ToolAnnotations | Mapping[str, Any] | None) -> ToolAnnotations | None:
    if value is None or isinstance(value, ToolAnnotations):
        return value
    fields = ToolAnnotations.model_fields
    known = {*fields, *(info.alias for info in fields.values() if info.alias)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(f"unknown tool annotation {unknown[0]!r}; the hints are {', '.join(fields)}")
    return ToolAnnotations.model_validate(dict(value))
