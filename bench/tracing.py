"""What tracing costs the agent loop: tracing off, the local run log (the default), and spans
exported over OTLP/HTTP to a collector on this machine (tests/servers/otlp_collector.py).

Run: `.venv/bin/python bench/tracing.py [--rounds 6]`

Each mode runs in a process of its own (OpenTelemetry's provider is per process), the modes take
turns round after round, and each round of a mode is the best of its 5 runs of: a CodeAgent whose
code calls an MCP `add` tool 100 times (the whole run, with its worker's start) and a 20-step
ToolCallingAgent run, one `add` per step. Reported: the median over rounds, against tracing off.
Target: the local run log costs at most 5 %.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
SERVER = Path(__file__).with_name("echo_server.py")
COLLECTOR = ROOT / "tests" / "servers" / "otlp_collector.py"
RUNS = 5

LOOP = """Adding.
```python
total = 0
for i in range(100):
    total = add(a=total, b=1)
final_answer(total)
```"""


async def measure() -> dict[str, float]:
    """One mode's best of RUNS runs of each workload (in this process, as its environment says)."""
    from mcpagents import CodeAgent, ScriptedModel, StdioServer, ToolCallingAgent, ToolCollection

    steps: list[object] = [
        {"tool_calls": [{"name": "add", "arguments": {"a": i, "b": 1}}]} for i in range(19)
    ]
    steps.append({"tool_calls": [{"name": "final_answer", "arguments": {"answer": "done"}}]})
    best = {"code": float("inf"), "tool_calling": float("inf")}
    async with ToolCollection.from_mcp(StdioServer(sys.executable, [str(SERVER)])) as tools:
        for run in range(RUNS + 1):  # the first is a warm-up
            agent = CodeAgent(tools, ScriptedModel([LOOP]), verbosity_level=0)
            started = time.perf_counter()
            assert await agent.arun("Count to 100.") == 100
            code = time.perf_counter() - started
            await agent.aclose()
            calling = ToolCallingAgent(tools, ScriptedModel(steps), max_steps=20, verbosity_level=0)  # type: ignore[arg-type]
            started = time.perf_counter()
            assert await calling.arun("Add, step by step.") == "done"
            tool_calling = time.perf_counter() - started
            if run:
                best["code"] = min(best["code"], code)
                best["tool_calling"] = min(best["tool_calling"], tool_calling)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(anyio.run(measure)))
        return
    with tempfile.TemporaryDirectory() as folder:
        spans = Path(folder) / "spans.jsonl"
        collector = subprocess.Popen(
            [sys.executable, str(COLLECTOR), str(spans)], stdout=subprocess.PIPE, text=True
        )
        assert collector.stdout is not None
        url = collector.stdout.readline().strip()
        base = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
        modes = {
            "tracing off": {**base, "MCPAGENTS_RUN_LOG": "off"},
            "local run log": {**base, "MCPAGENTS_RUN_DIR": str(Path(folder) / "runs")},
            "run log + OTLP": {
                **base,
                "MCPAGENTS_RUN_DIR": str(Path(folder) / "runs"),
                "OTEL_EXPORTER_OTLP_ENDPOINT": url,
            },
        }
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
        try:
            for _ in range(options.rounds):
                for mode, environment in modes.items():
                    child = subprocess.run(
                        [sys.executable, __file__, "--child"],
                        env=environment,
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    results[mode].append(json.loads(child.stdout))
        finally:
            collector.terminate()
            collector.wait()
        exported = len(spans.read_text().splitlines()) if spans.exists() else 0
    print(f"tracing overhead, median of {options.rounds} rounds (each the best of {RUNS} runs)\n")
    print(f"{'mode':16}{'CodeAgent 100 calls':>22}{'':>10}{'ToolCallingAgent 20 steps':>28}")
    off = {key: statistics.median(r[key] for r in results["tracing off"]) for key in ("code", "tool_calling")}
    for mode in modes:
        code = statistics.median(r["code"] for r in results[mode])
        calling = statistics.median(r["tool_calling"] for r in results[mode])
        print(
            f"{mode:16}{code * 1e3:17.1f} ms {code / off['code'] - 1:+8.1%}"
            f"{calling * 1e3:22.1f} ms {calling / off['tool_calling'] - 1:+8.1%}"
        )
    print(f"\nspans the collector received: {exported:,}")


if __name__ == "__main__":
    main()
