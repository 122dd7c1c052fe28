"""What CodeAgent's system prompt costs for a 10-tool collection, beside smolagents' for the same tools.

Run: `.venv/bin/python bench/prompt_size.py` (`make bench` installs smolagents and the npm servers)

The 10 tools are the npm filesystem reference server's, with their real input and output schemas.
smolagents (1.26) gets them the way its MCP adapter (mcpadapt) builds them: each JSON Schema property
becomes an input with its type and description, nullable when optional; `output_schema` is set only
when structured output is on (its `structured_output=True`), which is what lets its code use results
as dicts. Both prompts are counted with the same tokenizer (OpenAI's o200k, offline through litellm).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio

from mcpagents import CodeAgent, ScriptedModel, StdioServer, Tool, ToolCollection

FILESYSTEM = (
    Path(__file__).parents[1]
    / "tests/peers/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"
)
TEN_TOOLS = [
    "read_text_file", "read_media_file", "read_multiple_files", "write_file", "edit_file",
    "create_directory", "list_directory", "directory_tree", "move_file", "search_files",
]  # fmt: skip


def tokens(text: str) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm  # seconds to import: only when counting

    return int(litellm.token_counter(model="gpt-4o", text=text))


def smolagents_prompt(tools: list[Tool], *, structured_output: bool) -> str:
    import smolagents  # a benchmark-only dependency

    class AdaptedTool(smolagents.Tool):  # type: ignore[misc]
        skip_forward_signature_validation = True

        def __init__(self, tool: Tool) -> None:
            self.name = tool.name
            self.description = tool.description
            required = set(tool.input_schema.get("required", ()))
            self.inputs = {
                name: _smolagents_input(schema, optional=name not in required)
                for name, schema in tool.input_schema.get("properties", {}).items()
            }
            has_schema = structured_output and tool.output_schema is not None
            self.output_type = "object" if has_schema else "string"
            self.output_schema = tool.output_schema if has_schema else None
            super().__init__()

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    agent = smolagents.CodeAgent(tools=[AdaptedTool(tool) for tool in tools], model=smolagents.Model())
    return str(agent.system_prompt)


def _smolagents_input(schema: dict[str, Any], *, optional: bool) -> dict[str, Any]:
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "any")
    entry = {"type": kind, "description": schema.get("description", "")}
    return {**entry, "nullable": True} if optional else entry


async def main() -> None:
    server = StdioServer("node", [str(FILESYSTEM), str(Path.cwd())], name="filesystem")
    async with ToolCollection.from_mcp(server, include=TEN_TOOLS) as collection:
        tools = list(collection)
    assert [tool.name for tool in tools] == TEN_TOOLS, [tool.name for tool in tools]
    ours = CodeAgent(tools=[], model=ScriptedModel([])).system_prompt(tools)
    rows = [
        ("mcpagents CodeAgent (typed signatures and return types)", ours),
        ("smolagents CodeAgent, structured_output=True", smolagents_prompt(tools, structured_output=True)),
        ("smolagents CodeAgent, structured_output=False", smolagents_prompt(tools, structured_output=False)),
    ]
    baseline = tokens(rows[0][1])
    print("CodeAgent system prompt for the filesystem server's 10 tools (o200k tokens)\n")
    print(f"{'prompt':58}{'tokens':>8}{'chars':>8}{'vs mcpagents':>14}")
    for label, text in rows:
        count = tokens(text)
        print(f"{label:58}{count:8}{len(text):8}{count / baseline:13.2f}x")


if __name__ == "__main__":
    anyio.run(main)
