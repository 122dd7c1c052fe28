"""What tracing costs the agent loop: the local run log (on by default) against no run log, and
spans also exported over OTLP/HTTP to a collector on this machine (tests/servers/otlp_collector.py).

Run: `.venv/bin/python bench/tracing.py [--rounds 20]`

Two workloads: a CodeAgent whose code calls an MCP `add` tool 100 times (the whole run, with its
worker's start), and a 20-step ToolCallingAgent run, one `add` per step. In one process, each round
runs both with the run log off and on (`Tracing(run_log=...)`, each first in turn): the figure is
the median of the rounds' own ratios, robust to this shared machine's drift. OpenTelemetry's
provider is per process, so OTLP export runs in a second process set up by
`OTEL_EXPORTER_OTLP_ENDPOINT`, with the run log on; the two kinds of process alternate (four
of each, a quarter of the rounds apiece), and each export figure is compared with the process that
ran just before it. Target: the run log costs at most 5 %.
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
from agents import LOOP  # bench/agents.py's loop: the same 100 calls (bench/ is this script's path)

ROOT = Path(__file__).resolve().parent.parent
SERVER = Path(__file__).with_name("echo_server.py")
COLLECTOR = ROOT / "tests" / "servers" / "otlp_collector.py"
PROCESS_PAIRS = 4


async def measure(rounds: int) -> dict[str, dict[str, list[float]]]:
    """Each round: both workloads with the run log off and on; seconds by workload and mode."""
    from mcpagents import CodeAgent, ScriptedModel, StdioServer, ToolCallingAgent, ToolCollection, Tracing

    steps: list[object] = [
        {"tool_calls": [{"name": "add", "arguments": {"a": i, "b": 1}}]} for i in range(19)
    ]
    steps.append({"tool_calls": [{"name": "final_answer", "arguments": {"answer": "done"}}]})
    times: dict[str, dict[str, list[float]]] = {
        workload: {"off": [], "log": []} for workload in ("code", "tool_calling")
    }
    async with ToolCollection.from_mcp(StdioServer(sys.executable, [str(SERVER)])) as tools:
        for round_ in range(rounds + 1):  # the first is a warm-up
            for mode in ("off", "log") if round_ % 2 else ("log", "off"):  # neither always goes first
                tracing = Tracing(run_log=mode == "log")
                agent = CodeAgent(tools, ScriptedModel([LOOP]), verbosity_level=0, tracing=tracing)
                started = time.perf_counter()
                assert await agent.arun("Count to 100.") == 100
                code = time.perf_counter() - started
                await agent.aclose()
                calling = ToolCallingAgent(
                    tools, ScriptedModel(steps), max_steps=20, verbosity_level=0, tracing=tracing
                )  # type: ignore[arg-type]
                started = time.perf_counter()
                assert await calling.arun("Add, step by step.") == "done"
                if round_:
                    times["code"][mode].append(code)
                    times["tool_calling"][mode].append(time.perf_counter() - started)
    return times


def child(rounds: int, environment: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    ran = subprocess.run(
        [sys.executable, __file__, "--child", "--rounds", str(rounds)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(ran.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(anyio.run(measure, options.rounds)))
        return
    with tempfile.TemporaryDirectory() as folder:
        spans = Path(folder) / "spans.jsonl"
        collector = subprocess.Popen(
            [sys.executable, str(COLLECTOR), str(spans)], stdout=subprocess.PIPE, text=True
        )
        assert collector.stdout is not None
        url = collector.stdout.readline().strip()
        base = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
        base["MCPAGENTS_RUN_DIR"] = str(Path(folder) / "runs")
        pairs = []
        try:
            for _ in range(PROCESS_PAIRS):
                local = child(max(1, options.rounds // PROCESS_PAIRS), base)
                exported = child(
                    max(1, options.rounds // PROCESS_PAIRS), {**base, "OTEL_EXPORTER_OTLP_ENDPOINT": url}
                )
                pairs.append((local, exported))
        finally:
            collector.terminate()
            collector.wait()
        received = len(spans.read_text().splitlines()) if spans.exists() else 0
    print(f"tracing overhead: medians of {options.rounds} rounds; in each, the run log off and on\n")
    print(f"{'mode':28}{'CodeAgent 100 calls':>24}{'ToolCallingAgent 20 steps':>32}")
    for label, side, mode in (
        ("run log off", 0, "off"),
        ("run log on (the default)", 0, "log"),
        ("run log on + OTLP export", 1, "log"),
    ):
        cells = []
        for workload in ("code", "tool_calling"):
            times = [time for pair in pairs for time in pair[side][workload][mode]]
            if side == 0:  # the same rounds: each round's own ratio
                off = [time for local, _ in pairs for time in local[workload]["off"]]
                ratio = statistics.median(a / b for a, b in zip(times, off, strict=True))
            else:  # each export process against the process just before it
                ratio = statistics.median(
                    statistics.median(exported[workload][mode]) / statistics.median(local[workload]["off"])
                    for local, exported in pairs
                )
            cells.append(f"{statistics.median(times) * 1e3:12.1f} ms {ratio - 1:+7.1%}")
        print(f"{label:28}{cells[0]:>24}{cells[1]:>32}")
    print(f"\nspans the collector received: {received:,}")


if __name__ == "__main__":
    main()
