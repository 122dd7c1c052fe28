"""An agent drawn as a rich tree (`agent.visualize()`): its model and tools, and its managed agents
with theirs; a managed agent reached as a server is a leaf named after the server."""

from __future__ import annotations

from rich.text import Text
from rich.tree import Tree

from mcpagents.agents.base import MultiStepAgent


def agent_tree(agent: MultiStepAgent) -> Tree:
    """`agent`'s tree, opening the tool collections it lists."""
    agent.open()
    tree = Tree(
        Text.assemble((agent.name or type(agent).__name__, "bold yellow"), f" ({type(agent).__name__})")
    )
    tree.add(Text(f"model: {agent.model.model_id}", style="dim"))
    children = [child for child in agent.toolbox.managed_agents if isinstance(child, MultiStepAgent)]
    managed = {child.name for child in children}
    tools = tree.add(Text("tools", style="bold"))
    for tool in agent.toolbox.tools():
        if tool.name not in managed:
            summary = tool.description.strip().split("\n", 1)[0]
            tools.add(Text.assemble((tool.name, "cyan"), f": {summary}" if summary else ""))
    if agent.toolbox.managed_agents:
        branch = tree.add(Text("managed agents", style="bold"))
        for child in agent.toolbox.managed_agents:
            if isinstance(child, MultiStepAgent):
                branch.add(agent_tree(child))
            else:
                branch.add(Text(f"{child.display_name} (a served agent)", style="magenta"))
    return tree
