"""The tools of an agent: collections it was given, plus one it owns for `@tool` functions and
managed agents. A managed agent object is served by an in-process MCP server; a managed agent given
as a server spec (`mcpagents serve child.yaml` over stdio, or a URL) is reached over MCP. Either way
it is one tool, `{task, context?} -> {answer, state, steps, token_usage}`.

Single tools of a collection (`tools=[*collection.tools]`, `[collection["add"]]`) bring their
collection with only those tools; smolagents-style `PythonTool` objects are served like `@tool`
functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mcpagents.connections.specs import InProcessServer, ServerSpec
from mcpagents.errors import ConfigError
from mcpagents.tools.collection import ToolCollection
from mcpagents.tools.local import FunctionTool
from mcpagents.tools.python_tool import PythonTool
from mcpagents.tools.tool import Tool

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent

ToolLike = ToolCollection | FunctionTool[..., Any] | PythonTool | Tool
"""What `tools=` takes, alone or in a list."""
ToolsArgument = ToolLike | Iterable[ToolLike] | None
_TOOL_LIKE = (ToolCollection, FunctionTool, PythonTool, Tool)


class Toolbox:
    """Opens the collections that are not open yet on first use and closes only those; a collection
    that was open already belongs to whoever opened it."""

    def __init__(self, tools: ToolsArgument, managed_agents: Sequence[MultiStepAgent | ServerSpec]) -> None:
        given: list[ToolLike]
        if tools is None:
            given = []
        elif isinstance(tools, _TOOL_LIKE):
            given = [tools]
        else:
            given = list(tools)
        if unknown := [item for item in given if not isinstance(item, _TOOL_LIKE)]:
            raise TypeError(
                f"tools= takes ToolCollections, their tools, @tool functions and PythonTools, not"
                f" {type(unknown[0]).__name__}: wrap servers in ToolCollection.from_mcp(...) or"
                " ToolCollection.from_config(...)"
            )
        self.collections = [item for item in given if isinstance(item, ToolCollection)]
        self._only: dict[int, set[str]] = {}
        """For a collection given only as some of its tools (by `id`): their names."""
        for item in given:
            if isinstance(item, Tool) and not any(item.collection is c for c in self.collections):
                self.collections.append(item.collection)
                self._only[id(item.collection)] = set()
            if isinstance(item, Tool) and id(item.collection) in self._only:
                self._only[id(item.collection)].add(item.name)
        functions = [
            item.function_tool() if isinstance(item, PythonTool) else item
            for item in given
            if isinstance(item, FunctionTool | PythonTool)
        ]
        self.managed_agents = list(managed_agents)
        if functions or self.managed_agents:
            from mcpagents.agents.mcp_server import agent_server

            servers = [
                agent
                if isinstance(agent, ServerSpec)
                else InProcessServer(agent_server(agent), name=agent.name, sampling=True)
                for agent in self.managed_agents
            ]
            self.collections.append(ToolCollection.from_mcp([*functions, *servers], fail_fast=True))
        self._opened: list[ToolCollection] = []

    async def open(self) -> None:
        """Open every collection not open yet. Concurrent runs each wait for the collection one of them
        opens (or another owner does): none starts without its tools, each sees the opening's error."""
        if all(collection.connected for collection in self.collections):
            return  # what every run finds after the first: nothing to wait for
        for collection in self.collections:
            if await collection.ensure_connected():
                self._opened.append(collection)

    async def aclose(self) -> None:
        opened, self._opened = self._opened, []
        for collection in reversed(opened):
            await collection.aclose()

    def server_instructions(self, tools: Sequence[Tool]) -> dict[str, str]:
        """What the servers of `tools` say about using them (their `instructions`), by server name."""
        servers = {tool.server for tool in tools}
        return {
            server: text
            for collection in self.collections
            for server, text in collection.instructions.items()
            if server in servers
        }

    def tools(self) -> list[Tool]:
        """Every tool, checked for names that two collections both use."""
        tools = [
            tool
            for collection in self.collections
            for tool in collection
            if tool.name in self._only.get(id(collection), (tool.name,))
        ]
        seen: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in seen:
                servers = f"servers {seen[tool.name].server!r} and {tool.server!r}"
                raise ConfigError(
                    f"two tool collections both offer a tool named {tool.name!r} ({servers}): put the"
                    " servers in one collection, which prefixes colliding names, or filter one out with"
                    " include=/exclude="
                )
            seen[tool.name] = tool
        return tools
