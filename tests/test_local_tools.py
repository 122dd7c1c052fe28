"""`@tool` functions served by an in-process MCP server, checked through the real SDK client."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal, TypedDict

import anyio
import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, Tool, ToolAnnotations
from pydantic import BaseModel, Field

from mcpagents.connections.specs import InProcessServer
from mcpagents.tools.docstrings import Docstring, parse_docstring
from mcpagents.tools.local import FunctionTool, local_server, tool


class Box(BaseModel):
    width: int
    height: int = 1


class Point(TypedDict):
    x: float
    y: float


@tool
def add(a: int, b: int = 2) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second
            number.

    Returns:
        The sum.
    """
    return a + b


@tool(
    name="search_notes",
    description="Find notes.",
    annotations={"read_only_hint": True, "openWorldHint": False},
)
async def search(
    query: str, tags: list[str], limit: int | None = None, order: Literal["new", "old"] = "new"
) -> list[str]:
    """Search the notes (this summary is replaced by the description option).

    Args:
        query: Words to look for.
        tags: Tags a note must carry.
        limit: At most this many notes.
        order: Newest or oldest first.
    """
    return [f"{query}/{limit}/{order}", *tags]


@tool
def corner(box: Box, scale: Annotated[float, Field(description="Explicit wins.", gt=0)] = 1.0) -> Point:
    """The bottom-right corner of a box.

    Args:
        box: The box.
        scale: The docstring loses to an explicit Field description.
    """
    return {"x": box.width * scale, "y": box.height * scale}


@tool
async def count(n: int, ctx: Context) -> str:
    """Count to n, reporting each step.

    Args:
        n: How far to count.
        ctx: Injected by the SDK, so not in the schema.
    """
    for step in range(1, n + 1):
        await ctx.report_progress(step, n, f"step {step}")
    return f"counted to {n}"


@tool(annotations=ToolAnnotations(destructive_hint=True), structured_output=False)
def fail(reason: str, anticipated: bool = False) -> str:
    """Always fails."""
    if anticipated:
        raise ToolError(reason)
    raise RuntimeError(reason)


def shout(text: str) -> str:
    return text.upper()


SERVER = local_server([add, search, corner, count, fail, shout], name="notes")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def text_of(content: Any) -> str:
    assert isinstance(content, TextContent)
    return content.text


# --- the decorated function ---------------------------------------------------------------------


def test_decorated_function_is_still_the_function() -> None:
    assert add(1, 2) == 3
    assert add(1) == 3
    assert add.fn(a=4) == 6
    assert add.__name__ == "add"
    assert add.__qualname__ == "add"
    assert add.__module__ == __name__
    assert add.__doc__ is not None
    assert add.__doc__.startswith("Add two numbers.")
    assert inspect.signature(add) == inspect.signature(add.fn)
    assert anyio.run(search, "q", ["x"]) == ["q/None/new", "x"]
    assert isinstance(add, FunctionTool)


def test_name_and_description() -> None:
    assert (add.name, add.description) == ("add", "Add two numbers.\n\nReturns: The sum.")
    assert (search.name, search.description) == ("search_notes", "Find notes.")
    assert count.description == "Count to n, reporting each step."
    assert fail.description == "Always fails."
    assert repr(add) == "<FunctionTool 'add'>"


def test_redecorating_a_tool_wraps_the_original_function() -> None:
    renamed = tool(name="find")(search)
    assert renamed.fn is search.fn
    assert (renamed.name, renamed.description) == (
        "find",
        "Search the notes (this summary is replaced by the description option).",
    )

    async def call() -> CallToolResult:
        async with Client(local_server([renamed]).server) as client:
            return await client.call_tool("find", {"query": "q", "tags": []})

    assert anyio.run(call).structured_content == {"result": ["q/None/new"]}


def test_local_server_spec() -> None:
    assert isinstance(SERVER, InProcessServer)
    assert isinstance(SERVER.server, MCPServer)
    assert SERVER.display_name == "notes"
    assert SERVER.mode == "auto"


# --- through the SDK client, in both protocol modes -----------------------------------------------


async def list_tools(mode: str) -> dict[str, Tool]:
    async with Client(SERVER.server, mode=mode) as client:
        return {listed.name: listed for listed in (await client.list_tools()).tools}


@pytest.mark.anyio
async def test_listed_tools(mode: str) -> None:
    tools = await list_tools(mode)
    assert sorted(tools) == ["add", "corner", "count", "fail", "search_notes", "shout"]
    assert tools["add"].description == "Add two numbers.\n\nReturns: The sum."
    assert tools["shout"].description == ""
    assert tools["search_notes"].annotations == ToolAnnotations(read_only_hint=True, open_world_hint=False)
    assert tools["fail"].annotations == ToolAnnotations(destructive_hint=True)
    assert tools["add"].annotations is None


@pytest.mark.anyio
async def test_input_schemas(mode: str) -> None:
    tools = await list_tools(mode)
    assert tools["add"].input_schema == {
        "type": "object",
        "title": "addArguments",
        "properties": {
            "a": {"title": "A", "type": "integer", "description": "The first number."},
            "b": {"title": "B", "type": "integer", "default": 2, "description": "The second number."},
        },
        "required": ["a"],
    }
    assert tools["search_notes"].input_schema == {
        "type": "object",
        "title": "search_notesArguments",
        "properties": {
            "query": {"title": "Query", "type": "string", "description": "Words to look for."},
            "tags": {
                "title": "Tags",
                "type": "array",
                "items": {"type": "string"},
                "description": "Tags a note must carry.",
            },
            "limit": {
                "title": "Limit",
                "anyOf": [{"type": "integer"}, {"type": "null"}],
                "default": None,
                "description": "At most this many notes.",
            },
            "order": {
                "title": "Order",
                "type": "string",
                "enum": ["new", "old"],
                "default": "new",
                "description": "Newest or oldest first.",
            },
        },
        "required": ["query", "tags"],
    }
    assert tools["corner"].input_schema == {
        "type": "object",
        "title": "cornerArguments",
        "$defs": {
            "Box": {
                "title": "Box",
                "type": "object",
                "properties": {
                    "width": {"title": "Width", "type": "integer"},
                    "height": {"title": "Height", "type": "integer", "default": 1},
                },
                "required": ["width"],
            }
        },
        "properties": {
            "box": {"$ref": "#/$defs/Box", "description": "The box."},
            "scale": {
                "title": "Scale",
                "type": "number",
                "exclusiveMinimum": 0,
                "default": 1.0,
                "description": "Explicit wins.",
            },
        },
        "required": ["box"],
    }
    assert tools["count"].input_schema == {
        "type": "object",
        "title": "countArguments",
        "properties": {"n": {"title": "N", "type": "integer", "description": "How far to count."}},
        "required": ["n"],
    }
    assert tools["shout"].input_schema == {
        "type": "object",
        "title": "shoutArguments",
        "properties": {"text": {"title": "Text", "type": "string"}},
        "required": ["text"],
    }


@pytest.mark.anyio
async def test_output_schemas(mode: str) -> None:
    tools = await list_tools(mode)
    assert tools["add"].output_schema == {
        "type": "object",
        "title": "addOutput",
        "properties": {"result": {"title": "Result", "type": "integer"}},
        "required": ["result"],
    }
    assert tools["search_notes"].output_schema == {
        "type": "object",
        "title": "search_notesOutput",
        "properties": {"result": {"title": "Result", "type": "array", "items": {"type": "string"}}},
        "required": ["result"],
    }
    assert tools["corner"].output_schema == {
        "type": "object",
        "title": "Point",
        "properties": {"x": {"title": "X", "type": "number"}, "y": {"title": "Y", "type": "number"}},
        "required": ["x", "y"],
    }
    assert tools["fail"].output_schema is None


@pytest.mark.anyio
async def test_calls(mode: str) -> None:
    async with Client(SERVER.server, mode=mode) as client:
        added = await client.call_tool("add", {"a": 40})
        found = await client.call_tool("search_notes", {"query": "mcp", "tags": ["a", "b"], "limit": 3})
        cornered = await client.call_tool("corner", {"box": {"width": 2, "height": 3}, "scale": 2})
        shouted = await client.call_tool("shout", {"text": "hi"})
    assert not added.is_error
    assert added.structured_content == {"result": 42}
    assert text_of(added.content[0]) == "42"
    assert found.structured_content == {"result": ["mcp/3/new", "a", "b"]}
    assert cornered.structured_content == {"x": 4.0, "y": 6.0}
    assert shouted.structured_content == {"result": "HI"}


@pytest.mark.anyio
async def test_context_reports_progress(mode: str) -> None:
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    async with Client(SERVER.server, mode=mode) as client:
        result = await client.call_tool("count", {"n": 3}, progress_callback=on_progress)
    assert result.structured_content == {"result": "counted to 3"}
    assert reports == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


@pytest.mark.anyio
async def test_exceptions_become_error_results(mode: str) -> None:
    async with Client(SERVER.server, mode=mode) as client:
        crashed = await client.call_tool("fail", {"reason": "disk on fire"})
        anticipated = await client.call_tool("fail", {"reason": "no such note", "anticipated": True})
        invalid = await client.call_tool("add", {"a": "forty"})
    assert crashed.is_error
    assert text_of(crashed.content[0]) == "Error executing tool fail: RuntimeError: disk on fire"
    assert anticipated.is_error
    assert text_of(anticipated.content[0]) == "Error executing tool fail: no such note"
    assert invalid.is_error
    assert "valid integer" in text_of(invalid.content[0])


# --- decoration errors ----------------------------------------------------------------------------


def test_parameter_without_annotation_is_rejected() -> None:
    def untyped(a: int, b) -> int:  # type: ignore[no-untyped-def]
        return a

    with pytest.raises(TypeError, match=r"untyped.*parameter 'b' has no type annotation"):
        tool(untyped)
    with pytest.raises(TypeError, match=r"parameter 'b' has no type annotation"):
        local_server([untyped])


def test_variadic_and_positional_only_parameters_are_rejected() -> None:
    def variadic(*values: int) -> int:
        return sum(values)

    def keywords(**options: str) -> str:
        return ""

    def positional(a: int, /) -> int:
        return a

    cases: list[tuple[Callable[..., Any], str]] = [
        (variadic, "values"),
        (keywords, "options"),
        (positional, "a"),
    ]
    for fn, parameter in cases:
        with pytest.raises(TypeError, match=rf"{fn.__name__}: parameter '{parameter}' must be an ordinary"):
            tool(fn)


def test_unknown_annotation_hint_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown tool annotation 'readonly'"):
        tool(annotations={"readonly": True})(shout)


def test_duplicate_tool_names_are_rejected() -> None:
    renamed = tool(name="add")(shout)
    with pytest.raises(ValueError, match="more than one tool named 'add'"):
        local_server([add, renamed])


# --- the root logger ------------------------------------------------------------------------------


@contextmanager
def root_logger(*handlers: logging.Handler) -> Iterator[logging.Logger]:
    """The root logger with only `handlers` and level WARNING, restored afterwards (pytest adds its own)."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers[:] = list(handlers)
    root.setLevel(logging.WARNING)
    try:
        yield root
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_unconfigured_root_logger_is_left_alone() -> None:
    with root_logger() as root:
        MCPServer("plain")
        assert root.handlers, "the SDK no longer configures logging; this test checks nothing"
    with root_logger() as root:
        local_server([shout])
        assert root.handlers == []
        assert root.level == logging.WARNING


def test_configured_root_logger_is_left_alone() -> None:
    mine = logging.NullHandler()
    with root_logger(mine) as root:
        root.setLevel(logging.ERROR)
        local_server([shout])
        assert root.handlers == [mine]
        assert root.level == logging.ERROR


# --- docstring parsing ----------------------------------------------------------------------------


def test_docstring_without_sections() -> None:
    assert parse_docstring(None) == Docstring(summary="", params={}, returns=None)
    assert parse_docstring("") == Docstring(summary="", params={}, returns=None)
    assert parse_docstring("One line.") == Docstring(summary="One line.", params={}, returns=None)
    assert parse_docstring(
        """
        Summary on the second line.

        A second paragraph
        spanning lines.

        Note: not a section header, since text follows the colon.
        """
    ) == Docstring(
        summary="Summary on the second line.\n\nA second paragraph\nspanning lines.\n\n"
        "Note: not a section header, since text follows the colon.",
        params={},
        returns=None,
    )


def test_docstring_args_entries() -> None:
    doc = parse_docstring(
        """Do things.

        Arguments:
            a (int): First,
                continued on a deeper line.

            b: Second (after a blank line).
            *args: Extra values.
            **kwargs (dict[str, Callable[(int), str]]): Options.
            later:
                Text only on the next line.
            odd line without a colon is a continuation
        """
    )
    assert doc.summary == "Do things."
    assert dict(doc.params) == {
        "a": "First, continued on a deeper line.",
        "b": "Second (after a blank line).",
        "args": "Extra values.",
        "kwargs": "Options.",
        "later": "Text only on the next line. odd line without a colon is a continuation",
    }
    assert doc.returns is None


def test_docstring_section_names_and_order() -> None:
    doc = parse_docstring(
        """Summary.

        Returns:
            The result,
            on two lines.

        Raises:
            ValueError: Not a parameter.

        Parameters:
            x: The x.

        Example:
            y: not a parameter either.
        """
    )
    assert doc == Docstring(summary="Summary.", params={"x": "The x."}, returns="The result, on two lines.")
    assert parse_docstring("S.\n\nParams:\n    p: P.\nReturn:\n    R.") == Docstring(
        summary="S.", params={"p": "P."}, returns="R."
    )


def test_empty_sections() -> None:
    assert parse_docstring("Args:\nReturns:\n") == Docstring(summary="", params={}, returns=None)
