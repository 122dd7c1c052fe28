"""A CodeAgent answers from two bundled MCP servers: a folder of notes and a SQLite database.

Run: `.venv/bin/python examples/files_and_sqlite.py [--model MODEL] ["TASK"]`

The notes are examples/data/notes, served read-only by `mcpagents.servers.filesystem`; the database
is built from examples/data/bakery.sql in a temporary folder and served read-only by
`mcpagents.servers.sqlite`. The agent writes Python that calls the tools of both as functions
(`search_files`, `read_file`, `list_tables`, `describe_table`, `query`, ...).

The default model is MCPAGENTS_MODEL, else the first provider key's model, else the embedded
offline model, which is too small for a task of several steps: give `--model` a real one, e.g.
`--model anthropic/claude-sonnet-4-5` (with ANTHROPIC_API_KEY set).
"""

import argparse
import sqlite3
import sys
import tempfile
from contextlib import closing
from pathlib import Path

from mcpagents import CodeAgent, StdioServer, ToolCollection, resolve_model

DATA = Path(__file__).parent / "data"

parser = argparse.ArgumentParser(description="A CodeAgent over a folder of notes and a SQLite database.")
parser.add_argument(
    "task", nargs="?", default="Which customer asked for a discount, and how much have they spent?"
)
parser.add_argument("--model", help="a model string, e.g. openai/gpt-5-mini, local, scripted:FILE")
options = parser.parse_args()

with tempfile.TemporaryDirectory() as folder:
    database = Path(folder) / "bakery.db"
    with closing(sqlite3.connect(database)) as connection:
        connection.executescript((DATA / "bakery.sql").read_text(encoding="utf-8"))
    notes = [str(DATA / "notes"), "--read-only"]
    servers = [
        StdioServer(sys.executable, ["-m", "mcpagents.servers.filesystem", *notes], name="notes"),
        StdioServer(sys.executable, ["-m", "mcpagents.servers.sqlite", str(database)], name="bakery"),
    ]
    with ToolCollection.from_mcp(servers) as tools:
        agent = CodeAgent(tools, resolve_model(options.model), max_steps=8)
        answer = agent.run(options.task)

print(f"\n{options.task} -> {answer}")
