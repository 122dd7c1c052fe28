"""Which tool definitions a ToolCallingAgent sends with each model call: all of them while they fit
its limit; beyond it, the pinned ones and those the model has loaded with `search_tools` (or called
by name), the system prompt listing the others in an index (deferred loading)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from mcpagents.agents.tool_index import SEARCH_LIMIT, SEARCH_TOOLS, ToolIndex, summary, within
from mcpagents.models.messages import ToolDefinition
from mcpagents.tools.tool import Tool

DEFERRED = """

Only some of your {count} tools are loaded. Call search_tools with words for what you need: the best \
matches are loaded, and you can call them from your next turn. Your tools, by server:
{index}"""

SEARCH_DEFINITION = ToolDefinition(
    SEARCH_TOOLS,
    "Load the tools that best match the query (words, or a tool's name): they can be called next turn.",
    {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What the tools should do, in a few words."},
            "limit": {"type": "integer", "description": "How many tools to load at most.", "default": 5},
        },
        "required": ["query"],
    },
)


class ToolLoading:
    """The loading of `tools` into a ToolCallingAgent's model calls: every definition when they fit
    `limit` tokens (None: always), else `pinned` ones (names) and those loaded since."""

    def __init__(self, tools: Sequence[Tool], limit: int | None, pinned: Sequence[str] = ()) -> None:
        self.tools = {tool.name: tool for tool in tools}
        sizes = (json.dumps(ToolDefinition.from_tool(tool).to_openai()) for tool in tools)
        self.deferred = limit is not None and not within(sizes, limit)
        self.limit = limit
        self.pinned = [name for name in self.tools if name in set(pinned)]
        others = [tool for tool in tools if tool.name not in self.pinned]
        self.index = ToolIndex(others) if self.deferred else None

    def is_for(self, tools: Sequence[Tool]) -> bool:
        return len(tools) == len(self.tools) and all(self.tools.get(tool.name) is tool for tool in tools)

    def prompt(self) -> str:
        """What the system prompt adds: nothing, or how to load tools and the index."""
        if self.index is None:
            return ""
        assert self.limit is not None
        return DEFERRED.format(count=len(self.tools), index=self.index.text(self.limit, prefix=""))

    def loaded_at_start(self) -> set[str]:
        return set(self.pinned)

    def definitions(self, loaded: set[str]) -> list[ToolDefinition]:
        """The definitions of the `loaded` tools, and `search_tools` when others are left."""
        if not self.deferred:  # every tool, those that joined since the conversation began too
            return [ToolDefinition.from_tool(tool) for tool in self.tools.values()]
        chosen = [ToolDefinition.from_tool(tool) for name, tool in self.tools.items() if name in loaded]
        return [*chosen, SEARCH_DEFINITION]

    def search(self, query: str, limit: int | None, loaded: set[str]) -> str:
        """Load the best matches of `query` into `loaded`; what the model is told."""
        assert self.index is not None, "search_tools is offered only when tools are deferred"
        found = self.index.search(query, limit or SEARCH_LIMIT)
        if not found.tools:
            return self.index.no_match(query)
        loaded.update(tool.name for tool in found.tools)
        lines = [f"- {tool.name}: {summary(tool.description)}" for tool in found.tools]
        more = f"\n({found.more} more matched: search with more words.)" if found.more else ""
        return "Loaded, callable from your next turn:\n" + "\n".join(lines) + more
