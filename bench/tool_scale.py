"""What an agent's tools cost its prompt as they grow: the CodeAgent's system prompt (o200k tokens)
and the time from `run()` to the first model call, for 10, 100, 500 and 1,000 tools across 1, 5 and 20
stdio servers (tests/servers/tool_shop.py), with every stub in full (`tool_prompt_limit=None`),
with progressive disclosure (the default limit), and smolagents' CodeAgent prompt for the same
tools (bench/prompt_size.py's adapter); and what the ToolCallingAgent sends with its first model
call (system prompt and tool definitions), every definition against deferred loading.

Run: `.venv/bin/python bench/tool_scale.py [--rounds N]` (`make bench` installs smolagents)

Time to the first model call covers building the prompt and starting the run's code worker; the
servers are connected before. Each figure is the median of the rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from prompt_size import smolagents_prompt, tokens

from mcpagents import CodeAgent, ScriptedModel, StdioServer, Tool, ToolCallingAgent, ToolCollection
from mcpagents.models.messages import ChatMessage, ToolDefinition

SHOP = Path(__file__).parents[1] / "tests" / "servers" / "tool_shop.py"
DOMAINS = (
    "crm", "ops", "hr", "billing", "docs", "chat", "git", "cloud", "mail", "cal",
    "store", "ship", "lab", "fleet", "ads", "legal", "media", "iot", "edu", "health",
)  # fmt: skip
SHAPES = [(10, 1), (100, 1), (100, 5), (500, 1), (1000, 1), (1000, 5), (1000, 20)]
"""(tools, servers) measured."""


def servers(count: int, tools: int) -> list[StdioServer]:
    each = tools // count
    return [
        StdioServer(sys.executable, [str(SHOP), "--tools", str(each), "--prefix", f"{domain}_"], name=domain)
        for domain in DOMAINS[:count]
    ]


def first_call(
    agent_type: type[CodeAgent] | type[ToolCallingAgent], collection: ToolCollection, **options: Any
) -> tuple[float, int]:
    """Seconds from `run()` to the model's first call, and the tokens that call was sent: the system
    prompt and the tool definitions."""
    seen: dict[str, Any] = {}

    def model(messages: list[ChatMessage], definitions: list[ToolDefinition] | None) -> object:
        seen.setdefault("at", time.perf_counter())
        sent = json.dumps([definition.to_openai() for definition in definitions or ()])
        seen.setdefault("tokens", tokens(str(messages[0].content)) + (tokens(sent) if definitions else 0))
        if definitions:
            return {"tool_calls": [{"name": "final_answer", "arguments": {"answer": "done"}}]}
        return "```python\nfinal_answer('done')\n```"

    agent = agent_type(collection, ScriptedModel(model), verbosity_level=0, **options)
    started = time.perf_counter()
    agent.run("Anything.")
    return seen["at"] - started, seen["tokens"]


COLUMNS = [
    ("tools", 6),
    ("servers", 8),
    ("Code: full", 11),
    ("disclosed", 10),
    ("smolagents", 11),
    ("ms full", 8),
    ("ms disclosed", 13),
    ("Calling: all", 13),
    ("deferred", 9),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    print("Tokens (o200k) of the first model call's prompt and tools; ms from run() to that call\n")
    print(" ".join(f"{title:>{width}}" for title, width in COLUMNS))
    default = CodeAgent(tools=[], model=ScriptedModel([])).tool_prompt_limit
    for count, server_count in SHAPES:
        with ToolCollection.from_mcp(servers(server_count, count)) as collection:
            tools: list[Tool] = list(collection)
            seconds: dict[str, list[float]] = {"full": [], "disclosed": []}
            sent: dict[str, int] = {}
            for _ in range(options.rounds):
                for label, limit in (("full", None), ("disclosed", default)):
                    took, sent[label] = first_call(CodeAgent, collection, tool_prompt_limit=limit)
                    seconds[label].append(took)
            _, every = first_call(ToolCallingAgent, collection, tool_prompt_limit=None)
            _, deferred = first_call(ToolCallingAgent, collection)
            smolagents = tokens(smolagents_prompt(tools, structured_output=True))
            ms = {label: statistics.median(values) * 1000 for label, values in seconds.items()}
        row = [len(tools), server_count, sent["full"], sent["disclosed"], smolagents]
        row += [f"{ms['full']:.0f}", f"{ms['disclosed']:.0f}", every, deferred]
        print(" ".join(f"{value:>{width}}" for value, (_, width) in zip(row, COLUMNS, strict=True)))


if __name__ == "__main__":
    main()
