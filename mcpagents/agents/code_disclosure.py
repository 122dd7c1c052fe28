"""What a CodeAgent's prompt shows of its tools: their full typed stubs while they fit its limit;
beyond it, the stubs of the pinned tools and an index of the rest. The code then finds the others
(`search_tools("...")`, `help(tool)`: the sandbox asks the host's `ToolCatalog`), and the stubs of
tools the code used or named are shown after it runs, once per run."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any

from mcpagents.agents.stubs import tool_stub, tools_stubs
from mcpagents.agents.tool_index import SEARCH_LIMIT, SEARCH_TOOLS, ToolIndex, within
from mcpagents.sandbox.executor import python_name
from mcpagents.tools.tool import Tool

INDEX_INTRO = """\
Tools are Python functions returning Python data (dicts, lists, str). There are {count}: too many to \
show here, so the index below lists them by server. Before you call one, print its full signature: \
help(tool_name), or print(search_tools("what you need")) for the best matches. The full signatures of \
the tools your code uses are shown after it runs."""


class CodeDisclosure:
    """The disclosure of `tools` to a CodeAgent's model: in full when their stubs fit `limit`
    tokens (None: always), else `pinned` ones (names) in full and an index of the others."""

    def __init__(self, tools: Sequence[Tool], limit: int | None, pinned: Sequence[str] = ()) -> None:
        self.tools = list(tools)
        stubs = (tool_stub(t.name, t.description, t.input_schema, t.output_schema) for t in tools)
        self.indexed = limit is not None and not within(stubs, limit)
        self.limit = limit
        wanted = set(pinned)
        self.pinned = [tool for tool in tools if {tool.name, python_name(tool.name)} & wanted]
        self.index = ToolIndex([tool for tool in tools if tool not in self.pinned]) if self.indexed else None

    def is_for(self, tools: Sequence[Tool]) -> bool:
        return len(tools) == len(self.tools) and all(a is b for a, b in zip(tools, self.tools, strict=True))

    def prompt(self) -> tuple[str | None, str]:
        """The introduction of the tools in the system prompt (None: the usual one) and their block."""
        if self.index is None:
            return None, tools_stubs(self.tools)
        assert self.limit is not None
        pinned = tools_stubs(self.pinned)
        index = self.index.text(self.limit - len(pinned) // 4)
        return INDEX_INTRO.format(count=len(self.tools)), f"{pinned}\n\n{index}" if pinned else index

    def shown_at_start(self) -> set[str]:
        """The tools whose stubs the system prompt holds."""
        return {tool.name for tool in (self.pinned if self.indexed else self.tools)}

    def reveal(self, code: str, called: Sequence[str], printed: str, shown: set[str]) -> str:
        """The stubs of the tools `code` called or named that `shown` lacks (then added to it), but
        for those whose stubs it `printed` (found with `search_tools` or `help`)."""
        if not self.indexed:
            return ""
        shown.update(tool.name for tool in self.tools if f"def {python_name(tool.name)}(" in printed)
        named = _names(code)
        new = [
            tool
            for tool in self.tools
            if tool.name not in shown and (tool.name in called or python_name(tool.name) in named)
        ]
        if not new:
            return ""
        shown.update(tool.name for tool in new)
        return f"Full signatures of the tools this code used:\n```python\n{tools_stubs(new)}\n```"

    def catalog(self) -> ToolCatalog | None:
        return None if self.index is None else ToolCatalog(self.index)


class ToolCatalog:
    """`search_tools(query, limit=5)` in the sandbox: the stubs of the tools that best match."""

    name = SEARCH_TOOLS
    description = "The full signatures of the tools that best match the query (words, or a tool's name)."

    def __init__(self, index: ToolIndex) -> None:
        self.index = index

    @property
    def input_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "limit": {"type": "integer", "default": SEARCH_LIMIT},
            },
            "required": ["query"],
        }

    async def acall_with(self, arguments: Mapping[str, Any]) -> str:
        query = str(arguments.get("query", ""))
        found = self.index.search(query, int(arguments.get("limit") or SEARCH_LIMIT))
        if not found.tools:
            return self.index.no_match(query)
        more = f"\n# ({found.more} more matched: search with more words)" if found.more else ""
        return tools_stubs(found.tools) + more


def _names(code: str) -> set[str]:
    """The names `code` uses (nothing when it does not parse)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
