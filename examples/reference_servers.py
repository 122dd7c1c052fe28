"""A ToolCallingAgent over two npm reference MCP servers: server-everything and server-memory.

Run: `.venv/bin/python examples/reference_servers.py [--model MODEL] ["TASK"]`

The servers start with `npx --no-install`, so nothing is downloaded: npx finds them in the
node_modules of the current folder (or a parent) or installed globally. Install them with
`npm install -g @modelcontextprotocol/server-everything @modelcontextprotocol/server-memory`, or run
from tests/peers, where `make test` installs them. The agent adds with server-everything's `get-sum`
and remembers the result in server-memory's knowledge graph (kept in a temporary file), which the
script reads back at the end.

The default model is MCPAGENTS_MODEL, else the first provider key's model, else the embedded
offline model (a tiny demo model); `--model` picks another.
"""

import argparse
import tempfile
from pathlib import Path

from mcpagents import StdioServer, ToolCallingAgent, ToolCollection, resolve_model

TOOLS = ["get-sum", "create_entities", "add_observations", "search_nodes", "read_graph"]

parser = argparse.ArgumentParser(description="A ToolCallingAgent over npm reference MCP servers.")
parser.add_argument(
    "task", nargs="?", default="Add 17 and 25, and remember the result as Ada's lucky number."
)
parser.add_argument("--model", help="a model string, e.g. openai/gpt-5-mini, local, scripted:FILE")
options = parser.parse_args()

with tempfile.TemporaryDirectory() as folder:
    memory_file = {"MEMORY_FILE_PATH": str(Path(folder) / "memory.jsonl")}
    servers = [
        StdioServer(
            "npx", ["--no-install", "@modelcontextprotocol/server-everything", "stdio"], name="everything"
        ),
        StdioServer(
            "npx", ["--no-install", "@modelcontextprotocol/server-memory"], memory_file, name="memory"
        ),
    ]
    with ToolCollection.from_mcp(servers, include=TOOLS) as tools:
        agent = ToolCallingAgent(tools, resolve_model(options.model), max_steps=6)
        answer = agent.run(options.task)
        graph = tools["read_graph"]()

print(f"\n{options.task} -> {answer}")
print("The knowledge graph now holds:")
for entity in graph["entities"]:
    print(f"  {entity['name']} ({entity['entityType']}): {'; '.join(entity['observations'])}")
