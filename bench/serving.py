"""Throughput of a served agent over streamable HTTP, beside the raw MCP SDK serving the same traffic.

Run: `.venv/bin/python bench/serving.py [--clients 1,10,100] [--seconds 5] [--rounds 2] [--load sdk,raw]`

The served agent is `tests/servers/served_agent.py --transport http --no-tools --delay 0.1`: a
ToolCallingAgent whose scripted model sleeps 0.1 s, then answers the task with final_answer: one
model call, one step, one progress notification per run. The baseline is `bench/sleep_server.py`:
the raw SDK's `MCPServer` with one tool that sleeps 0.1 s, reports one progress notification and
answers the task, under the same uvicorn settings. `mcpagents ×2` is the served agent with
`--workers 2`: two worker processes behind the port (its CPU and RSS are the sum over the supervisor
and the workers). Each server runs as a subprocess, freshly started for every measurement.

C clients (1, 10, 100) each call the tool in a loop, one call at a time, with a progress callback,
over the 2026-07-28 era, and check every answer (the task comes back, after one progress report).
Two load generators:
* `sdk`: the real MCP SDK client (`mcp.Client` over `streamable_http_client`, one `httpx2.AsyncClient`
  each), what a host would use;
* `raw`: the same JSON-RPC POSTs, headers and `_meta` as the SDK client sends, written and read by
  hand with httpx2 (its SSE parsed by hand): a lighter load generator, for when the SDK client's
  own CPU would be the bottleneck on this 2-core machine, where clients and server share the cores.
After a one-client warm-up (the server's idle RSS is read then), the C clients run for a second,
then `--seconds` are measured: runs/s, latencies, the server's CPU (utime+stime from /proc), the
client process's CPU, the rest of the machine's (other processes: this machine is shared, and a
disturbed round shows it there), and the server's RSS sampled every 10 ms. The ideal is C / delay
runs/s; memory per concurrent run is (peak RSS - idle RSS) / C. Rounds interleave the contenders;
the table shows each one's best round (by runs/s).
Target (issue): >= 80 % of the ideal at 100 clients.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import anyio
import httpx2
from mcp import Client
from mcp.client.session import DEFAULT_CLIENT_INFO
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.inbound import MCP_METHOD_HEADER, MCP_NAME_HEADER, MCP_PROTOCOL_VERSION_HEADER
from mcp_types import CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY
from mcp_types.version import LATEST_MODERN_VERSION

ROOT = Path(__file__).parent.parent
SERVED_AGENT = [str(ROOT / "tests" / "servers" / "served_agent.py"), "--transport", "http", "--no-tools"]
SERVERS = {
    # name: (command, tool)
    "raw SDK": ([str(ROOT / "bench" / "sleep_server.py")], "sleeper"),
    "mcpagents": (SERVED_AGENT, "helper"),
    "mcpagents ×2": ([*SERVED_AGENT, "--workers", "2"], "helper"),
}
WARMUP_CALLS = 5
RAMP_SECONDS = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = 1024


class ServerProcess:
    """A server subprocess: its URL (from the line it prints on stderr), CPU time and RSS."""

    def __init__(self, argv: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        assert self.process.stderr is not None
        line = self.process.stderr.readline()
        if " at http" not in line:
            self.process.kill()
            raise RuntimeError(f"the server did not start: {line}{self.process.stderr.read()}")
        self.url = line.split(" at ")[1].split()[0]
        self.stderr: collections.deque[str] = collections.deque(maxlen=40)
        # Drained all along: a server logging an error must never block on a full pipe.
        threading.Thread(target=self.stderr.extend, args=(self.process.stderr,), daemon=True).start()

    def processes(self) -> list[int]:
        """The server's process and its descendants (`--workers`: the workers)."""
        found, index = [self.process.pid], 0
        while index < len(found):
            try:
                with open(f"/proc/{found[index]}/task/{found[index]}/children") as children:
                    found += [int(pid) for pid in children.read().split()]
            except FileNotFoundError:
                pass  # it has just ended
            index += 1
        return found

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.processes():
            with suppress(FileNotFoundError), open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / CLOCK_TICKS

    def rss_bytes(self) -> int:
        total = 0
        for pid in self.processes():
            with suppress(FileNotFoundError), open(f"/proc/{pid}/status") as status:
                total += next(int(line.split()[1]) * PAGE for line in status if line.startswith("VmRSS:"))
        return total

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores, /proc/stat)."""
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    # user nice system idle iowait irq softirq steal: all but idle and iowait
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS


class PeakSampler:
    """The largest RSS of a process, sampled every 10 ms from a thread."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.peak = server.rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.server.rss_bytes())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


# -- load generators: each opens a connection, then `call(task)` -> whether the answer was right -----


class SdkClient:
    """The MCP SDK's own client, as a host would use it."""

    def __init__(self, url: str, tool: str) -> None:
        self.url, self.tool = url, tool

    async def __aenter__(self) -> SdkClient:
        self.http = await httpx2.AsyncClient(timeout=60).__aenter__()
        self.client = await Client(streamable_http_client(self.url, http_client=self.http)).__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.__aexit__(None, None, None)
        await self.http.__aexit__(None, None, None)

    async def call(self, task: str) -> bool:
        reports: list[str | None] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            reports.append(message)

        result = await self.client.call_tool(self.tool, {"task": task}, progress_callback=on_progress)
        text = getattr(result.content[0], "text", None) if result.content else None
        return not result.is_error and text == task and len(reports) == 1


class RawClient:
    """The SDK client's POSTs, byte for byte in content, written and read by hand."""

    META: ClassVar[dict[str, object]] = {
        PROTOCOL_VERSION_META_KEY: LATEST_MODERN_VERSION,
        CLIENT_INFO_META_KEY: DEFAULT_CLIENT_INFO.model_dump(by_alias=True, mode="json", exclude_none=True),
        CLIENT_CAPABILITIES_META_KEY: {},
    }

    def __init__(self, url: str, tool: str) -> None:
        self.url, self.tool = url, tool
        self.next_id = 1

    async def __aenter__(self) -> RawClient:
        self.http = await httpx2.AsyncClient(timeout=60).__aenter__()
        discovered = await self._post("server/discover", {"_meta": self.META})  # as the SDK client does
        assert LATEST_MODERN_VERSION in discovered[-1]["result"]["supportedVersions"], discovered
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.__aexit__(None, None, None)

    async def _post(self, method: str, params: dict[str, object]) -> list[dict[str, Any]]:
        """The messages of the answer: notifications, then the response."""
        request_id, self.next_id = self.next_id, self.next_id + 1
        if method == "tools/call":
            params["_meta"] = {**self.META, "progressToken": request_id}
        body = json.dumps(
            {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}, separators=(",", ":")
        )
        headers = {
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            MCP_PROTOCOL_VERSION_HEADER: LATEST_MODERN_VERSION,
            MCP_METHOD_HEADER: method,
        }
        if method == "tools/call":
            headers[MCP_NAME_HEADER] = self.tool
        async with self.http.stream("POST", self.url, content=body, headers=headers) as response:
            raw = await response.aread()
        if response.headers.get("content-type", "").startswith("application/json"):
            return [json.loads(raw)]
        events = raw.decode().replace("\r\n", "\n").split("\n\n")
        return [
            json.loads("\n".join(line[5:].lstrip() for line in event.split("\n") if line.startswith("data:")))
            for event in events
            if "data:" in event
        ]

    async def call(self, task: str) -> bool:
        messages = await self._post("tools/call", {"name": self.tool, "arguments": {"task": task}})
        *notifications, response = messages
        result = response.get("result")
        if not isinstance(result, dict) or result.get("isError"):
            return False
        progress = [m for m in notifications if m.get("method") == "notifications/progress"]
        return result["content"][0].get("text") == task and len(progress) == 1


LOADS: dict[str, type[SdkClient | RawClient]] = {"sdk": SdkClient, "raw": RawClient}


@dataclass
class Measurement:
    server: str
    load: str
    clients: int
    seconds: float = 0.0
    runs: int = 0
    failures: int = 0
    latencies: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    other_cpu: float = 0.0
    """CPU time the rest of the machine used meanwhile (other processes, the kernel's own)."""
    idle_rss: int = 0
    peak_rss: int = 0

    @property
    def per_second(self) -> float:
        return self.runs / self.seconds


async def measure(
    server_name: str, load: str, clients: int, seconds: float, delay: float, cpu_ms: float
) -> Measurement:
    command, tool = SERVERS[server_name]
    burn = ["--cpu-ms", str(cpu_ms)] if cpu_ms and server_name != "raw SDK" else []
    server = await anyio.to_thread.run_sync(ServerProcess, [*command, "--delay", str(delay), *burn])
    result = Measurement(server_name, load, clients)
    try:
        client_type = LOADS[load]
        async with client_type(server.url, tool) as first:  # warm-up: imports, caches, first answers
            for number in range(WARMUP_CALLS):
                assert await first.call(f"warm-up {number}"), f"wrong answer: {list(server.stderr)}"
        await anyio.sleep(0.2)
        result.idle_rss = server.rss_bytes()
        sampler = PeakSampler(server)
        records: list[tuple[float, float, bool]] = []
        window: list[tuple[float, ...]] = []  # (time, server, client and machine CPU) at start and end
        stop = anyio.Event()

        async def one_client(index: int) -> None:
            async with client_type(server.url, tool) as client:
                number = 0
                while not stop.is_set():
                    task = f"task {index}-{number}"
                    number += 1
                    started = time.perf_counter()
                    try:
                        ok = await client.call(task)
                    except Exception:
                        ok = False
                    ended = time.perf_counter()
                    records.append((ended, ended - started, ok))

        async def clock() -> None:
            await anyio.sleep(RAMP_SECONDS)
            # The load generator's own long-lived objects (imports, connected clients) are left out of
            # its garbage collections: a full collection stalls every client for tens of ms.
            gc.freeze()
            window.append((time.perf_counter(), server.cpu_seconds(), time.process_time(), machine_busy()))
            await anyio.sleep(seconds)
            window.append((time.perf_counter(), server.cpu_seconds(), time.process_time(), machine_busy()))
            stop.set()

        async with anyio.create_task_group() as group:
            for index in range(clients):
                group.start_soon(one_client, index)
            group.start_soon(clock)
        result.peak_rss = sampler.stop()
        (begin, cpu_begin, client_begin, busy_begin), (end, cpu_end, client_end, busy_end) = window
        inside = [record for record in records if begin <= record[0] < end]
        result.seconds = end - begin
        result.runs = sum(ok for _, _, ok in inside)
        result.failures = sum(not ok for _, _, ok in inside)
        result.latencies = [latency for _, latency, ok in inside if ok]
        result.server_cpu = cpu_end - cpu_begin
        result.client_cpu = client_end - client_begin
        # /proc/stat and the processes' own times tick apart: a few % below zero is noise.
        result.other_cpu = max(0.0, busy_end - busy_begin - result.server_cpu - result.client_cpu)
    finally:
        gc.unfreeze()
        await anyio.to_thread.run_sync(server.close)
    return result


def quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def table(best: dict[tuple[str, int, str], Measurement], delay: float) -> list[str]:
    header = (
        f"{'load':5}{'clients':>8}  {'server':13}{'runs/s':>8}{'ideal':>7}{'vs raw':>8}{'p50 ms':>8}"
        f"{'p95 ms':>8}{'fail':>5}  {'CPU: server':>11}{'ms/run':>8}{'client':>8}{'other':>7}"
        f"  {'RSS: idle':>9}{'peak':>9}{'KB/run':>8}"
    )
    lines = [header]
    for (load, clients, name), m in best.items():
        raw = best.get((load, clients, "raw SDK"))
        versus = f"{m.per_second / raw.per_second * 100:6.0f} %" if raw else ""
        ideal = clients / delay
        per_run = (m.peak_rss - m.idle_rss) / clients / 1024
        lines.append(
            f"{load:5}{clients:8d}  {name:13}{m.per_second:8.1f}"
            f"{m.per_second / ideal * 100:5.0f} %{versus:>8}"
            f"{quantile(m.latencies, 0.5) * 1e3:8.1f}{quantile(m.latencies, 0.95) * 1e3:8.1f}{m.failures:5d}"
            f"  {m.server_cpu / m.seconds * 100:9.0f} %{m.server_cpu / max(m.runs, 1) * 1e3:8.2f}"
            f"{m.client_cpu / m.seconds * 100:6.0f} %{m.other_cpu / m.seconds * 100:5.0f} %"
            f"  {m.idle_rss / 2**20:6.1f} MB{m.peak_rss / 2**20:6.1f} MB{per_run:8.0f}"
        )
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", default="1,10,100", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per contender and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--load", default="sdk,raw", help="load generators: sdk, raw or both")
    parser.add_argument("--servers", default=",".join(SERVERS), help="some of: " + ", ".join(SERVERS))
    parser.add_argument("--delay", type=float, default=0.1, help="seconds per model call (tool call)")
    parser.add_argument(
        "--cpu-ms",
        type=float,
        default=0.0,
        help="CPU the served agent's model call burns (not the raw SDK's)",
    )
    options = parser.parse_args()
    levels = [int(count) for count in options.clients.split(",")]
    loads = options.load.split(",")
    servers = options.servers.split(",")
    rounds: dict[tuple[str, int, str], list[Measurement]] = collections.defaultdict(list)
    for _ in range(options.rounds):
        for load in loads:
            for clients in levels:
                for name in servers:
                    measured = await measure(
                        name, load, clients, options.seconds, options.delay, options.cpu_ms
                    )
                    rounds[load, clients, name].append(measured)
    best = {key: max(values, key=lambda m: m.per_second) for key, values in rounds.items()}
    burning = f" burning {options.cpu_ms:g} ms CPU" if options.cpu_ms else ""
    print(
        f"served agent over streamable HTTP ({LATEST_MODERN_VERSION}), {options.delay * 1e3:.0f} ms per"
        f" model call{burning}; best of {options.rounds} rounds of {options.seconds:g} s;"
        f" {os.cpu_count()} cores shared by clients and server\n"
    )
    print("\n".join(table(best, options.delay)))
    print()
    most = max(levels)
    for load in loads if not options.cpu_ms else ():  # the target is for the agent as it is
        agent, raw = best.get((load, most, "mcpagents")), best.get((load, most, "raw SDK"))
        if agent is None:
            continue
        share = agent.per_second / (most / options.delay) * 100
        verdict = "meets" if share >= 80 else "misses"
        baseline = f" (raw SDK: {raw.per_second / (most / options.delay) * 100:.0f} %)" if raw else ""
        print(
            f"{load} clients, {most} at once: the served agent reaches {share:.0f} % of the ideal{baseline}:"
            f" {verdict} the target (>= 80 %)"
        )
    for load in loads:
        for clients in levels:
            one, two = best.get((load, clients, "mcpagents")), best.get((load, clients, "mcpagents ×2"))
            if one and two:
                print(
                    f"{load} clients, {clients} at once: 2 workers serve {two.per_second:.0f} runs/s,"
                    f" {two.per_second / one.per_second:.2f}× one worker's {one.per_second:.0f}"
                )


if __name__ == "__main__":
    anyio.run(main)
