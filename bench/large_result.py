"""What a 50 MB tool result costs the host: a ToolCallingAgent calls `bulk_export` of
tests/servers/tool_shop.py (over stdio) for 50,000,000 characters, then answers. With results by
reference (the default `result_limit`) against every result kept whole in memory (a limit above
the result: what the agent did before), each in a fresh process.

Run: `.venv/bin/python bench/large_result.py [--characters N]`

Columns: the host's peak RSS during the run, above its RSS before; the Python memory the run left
allocated (tracemalloc, after a collection: the agent's memory steps hold it); and the longest
message the model was sent. The MCP SDK reads the whole result while it arrives (here a 100 MB line:
the SDK's server sends a text result both as text and as structured content), so the peak holds it
several times whatever the agent does; what the agent keeps afterwards is what results by reference
bound. (The SDK's JSON-RPC dispatcher also holds the last message it received until the next one
arrives; the run is followed by one small call before the count, so that this is not counted.)
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path

SHOP = Path(__file__).parents[1] / "tests" / "servers" / "tool_shop.py"
CONTENDERS = {"results by reference (default)": None, "kept whole (before)": 10**12}


def measure(characters: int, limit: int | None) -> dict[str, float]:
    from mcpagents import ScriptedModel, StdioServer, ToolCallingAgent, ToolCollection
    from mcpagents.models.messages import ChatMessage, ToolDefinition

    longest = 0
    script = [
        {"tool_calls": [{"name": "bulk_export", "arguments": {"characters": characters}}]},
        {"tool_calls": [{"name": "final_answer", "arguments": {"answer": "exported"}}]},
    ]

    def model(messages: list[ChatMessage], tools: list[ToolDefinition] | None) -> object:
        nonlocal longest
        if messages[1].content == "warm-up":
            return script[-1]
        longest = max([longest, *(len(str(message.content)) for message in messages)])
        return script[sum(message.role == "assistant" for message in messages)]

    options = {} if limit is None else {"result_limit": limit}
    # The SDK's server sends a text result twice (as text and as structured content): 100 MB lines.
    server = StdioServer(sys.executable, [str(SHOP), "--tools", "2"], name="shop", max_message_bytes=2**28)
    with ToolCollection.from_mcp(server) as tools:
        agent = ToolCallingAgent(tools, ScriptedModel(model), verbosity_level=0, **options)
        agent.run("warm-up")  # imports and the first connection, before measuring
        gc.collect()
        before = rss()
        tracemalloc.start()
        agent.run("Export everything.")
        # The SDK's dispatcher holds the last message it received until the next one comes: a
        # small call lets it go, so that what is left is what the agent keeps.
        tools["convert_temperature"](celsius=0)
        gc.collect()
        kept, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"peak": max(0, peak - before), "kept": kept, "longest": longest}


def rss() -> int:
    fields = Path("/proc/self/statm").read_text().split()
    return int(fields[1]) * resource.getpagesize()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--characters", type=int, default=50_000_000)
    parser.add_argument("--contender", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.contender is not None:
        print(json.dumps(measure(options.characters, CONTENDERS[options.contender])))
        return
    print(f"a {options.characters:,}-character tool result\n")
    print(f"{'agent':<34} {'peak RSS above before':>22} {'Python memory kept':>19} {'longest message':>16}")
    for name in CONTENDERS:
        done = subprocess.run(
            [sys.executable, __file__, "--characters", str(options.characters), "--contender", name],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(done.stdout.splitlines()[-1])
        print(
            f"{name:<34} {row['peak'] / 1e6:>19.1f} MB {row['kept'] / 1e6:>16.2f} MB"
            f" {int(row['longest']):>10,} chars"
        )


if __name__ == "__main__":
    main()
