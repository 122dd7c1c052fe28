"""A served agent over streamable HTTP beside the raw MCP SDK serving the same traffic: the server's
CPU per run, throughput and latency, interleaved over several rounds on a shared machine.

Run: `.venv/bin/python bench/serving.py [--clients 1,10,100] [--seconds 5] [--rounds 3] [--load sdk,raw]
[--servers ...] [--other-limit 0.3]`

Contenders (each run as a subprocess, freshly started for every measurement):
* `mcpagents`: `tests/servers/served_agent.py --transport http --no-tools --delay 0.1`, served by the
  Python `serve()` API: a ToolCallingAgent whose scripted model sleeps 0.1 s, then answers the task
  with final_answer: one model call, one step, one progress notification per run;
* `mcpagents serve`: the same agent from the command line, `mcpagents serve helper.yaml --transport
  http --port 0 --quiet`, its spec (written to a temporary folder) a tool_calling agent with no MCP
  servers whose model is a script file (`per_conversation: true`, `delay: 0.1`, one final_answer
  call). A script file cannot echo the task, so this one answers "done". `--quiet`, as served_agent.py
  has verbosity 0: without it every run's steps are drawn on stderr (about 2.5 ms of CPU per run);
* `mcpagents ×2`: `mcpagents` with `--workers 2`: two worker processes behind the port (its CPU and
  RSS are the sum over the supervisor and the workers);
* `raw SDK`: `bench/sleep_server.py`, the raw SDK's `MCPServer` with one tool that sleeps 0.1 s,
  reports one progress notification and answers the task, under the same uvicorn settings.

C clients (1, 10, 100) each call the tool in a loop, one call at a time, with a progress callback,
over the 2026-07-28 era, and check every answer (the expected text, after one progress report).
Two load generators:
* `sdk`: the real MCP SDK client (`mcp.Client` over `streamable_http_client`, one `httpx2.AsyncClient`
  each), what a host would use;
* `raw`: the same JSON-RPC POSTs, headers and `_meta` as the SDK client sends, written and read by
  hand with httpx2 (its SSE parsed by hand): a lighter load generator, for when the SDK client's
  own CPU would be the bottleneck on this 2-core machine, where clients and server share the cores.

One measurement: after a one-client warm-up (the server's idle RSS is read then), the C clients run
for a second, then `--seconds` are measured: completed runs, latencies, the server's CPU (its
processes' CPU clocks: utime+stime, to the ns, threads that ended included), the client process's
CPU, the rest of the machine's CPU (/proc/stat busy time minus those two: other people's work on
this shared VM), and the server's RSS sampled every 10 ms. The agents write their run logs (on,
as by default) to a temporary folder, a fresh one per measurement. A round measures every (load,
clients, contender) once, the contenders back to back; `--rounds` rounds (default 3).

How to read the table (one row per load, clients and contender; medians over the rounds):
* `ms/run`, the headline: the server's CPU per completed run, what the server costs whatever CPU
  it got; `runs/s` at 100 clients is bounded by the CPU the server gets, which other processes
  take. A busy machine inflates `ms/run` too (shared cores and caches), less: compare the rounds.
  `spread` is (max - min) / median over the rounds, for `ms/run` and for `runs/s`.
* `runs/s` (median and best round), `ideal` (the median against C / delay runs/s), `vs raw` (the
  median over rounds of runs/s against the raw SDK's in the same round), p50 and p95 latencies
  (medians of each round's), `fail` (wrong answers, all rounds), CPU as % of one core (server and
  client: medians; other: the largest round's), RSS idle and peak, `KB/run` = (peak - idle) / C.
* `!k/n`: in k of its n rounds the rest of the machine used more than `--other-limit` cores (0.3):
  those rounds were disturbed. The per-round lines below the table show each round, `!` on the
  disturbed ones, and the summary counts them.
Target (issue): >= 80 % of the ideal at 100 clients.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
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
SERVED_AGENT = [
    sys.executable,
    str(ROOT / "tests/servers/served_agent.py"),
    "--transport",
    "http",
    "--no-tools",
]
SLEEP_SERVER = [sys.executable, str(ROOT / "bench/sleep_server.py")]
MCPAGENTS_CLI = str(Path(sys.executable).with_name("mcpagents"))
CLI_ANSWER = "done"
"""What the `mcpagents serve` contender answers: its script file cannot echo the task."""
RUN_DIR_VARIABLE = "MCPAGENTS_RUN_DIR"
WARMUP_CALLS = 5
RAMP_SECONDS = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = 1024


# -- contenders -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    """A server to measure: its command line, its tool and the answer it gives (None: the task)."""

    argv: list[str]
    tool: str
    answer: str | None = None


def contenders(folder: Path, delay: float, cpu_ms: float) -> dict[str, Contender]:
    """Every contender, by name; `cpu_ms` burns in served_agent.py's model calls only."""
    timing = ["--delay", str(delay)]
    agent = [*SERVED_AGENT, *timing, *(["--cpu-ms", str(cpu_ms)] if cpu_ms else [])]
    cli = [MCPAGENTS_CLI, "serve", str(write_spec(folder, delay)), "--transport", "http", "--port", "0"]
    return {
        "raw SDK": Contender([*SLEEP_SERVER, *timing], "sleeper"),
        "mcpagents": Contender(agent, "helper"),
        "mcpagents serve": Contender([*cli, "--quiet"], "helper", CLI_ANSWER),
        "mcpagents ×2": Contender([*agent, "--workers", "2"], "helper"),
    }


def write_spec(folder: Path, delay: float) -> Path:
    """The `mcpagents serve` contender's spec and model script: served_agent.py's agent, as a file."""
    (folder / "replies.yaml").write_text(
        f"per_conversation: true\ndelay: {delay}\n"
        f"responses:\n  - tool_calls: [{{name: final_answer, arguments: {{answer: {CLI_ANSWER}}}}}]\n"
    )
    spec = folder / "helper.yaml"
    spec.write_text(
        "name: helper\ndescription: Answers at once.\ntype: tool_calling\nmodel: {script: replies.yaml}\n"
    )
    return spec


# -- the server's and the machine's resources ---------------------------------------------------------


class ServerProcess:
    """A server subprocess: its URL (from the line it prints on stderr), CPU time and RSS.

    Its agents' run logs (on, as by default) go to `run_dir`, removed when it closes: every
    measurement starts with an empty folder, and the user's own run log is left alone."""

    def __init__(self, argv: list[str], run_dir: Path) -> None:
        self.run_dir = run_dir
        environment = {**os.environ, RUN_DIR_VARIABLE: str(run_dir)}
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment
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
        """utime + stime of its processes, to the ns (their CPU clocks), not in /proc's 10 ms ticks."""
        total = 0.0
        for pid in self.processes():
            with suppress(OSError):  # it has just ended
                total += time.clock_gettime(process_cpu_clock(pid))
        return total

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
        shutil.rmtree(self.run_dir, ignore_errors=True)


def process_cpu_clock(pid: int) -> int:
    """Linux's CPU clock of another process, as `clock_getcpuclockid(pid)` gives it (CPUCLOCK_SCHED)."""
    return (~pid << 3) | 2


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


# -- load generators: each opens a connection, then `call(task)` -> whether the answer was right ----


class SdkClient:
    """The MCP SDK's own client, as a host would use it."""

    def __init__(self, url: str, tool: str, answer: str | None) -> None:
        self.url, self.tool, self.answer = url, tool, answer

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
        return not result.is_error and text == expected(self.answer, task) and len(reports) == 1


class RawClient:
    """The SDK client's POSTs, byte for byte in content, written and read by hand."""

    META: ClassVar[dict[str, object]] = {
        PROTOCOL_VERSION_META_KEY: LATEST_MODERN_VERSION,
        CLIENT_INFO_META_KEY: DEFAULT_CLIENT_INFO.model_dump(by_alias=True, mode="json", exclude_none=True),
        CLIENT_CAPABILITIES_META_KEY: {},
    }

    def __init__(self, url: str, tool: str, answer: str | None) -> None:
        self.url, self.tool, self.answer = url, tool, answer
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
        return result["content"][0].get("text") == expected(self.answer, task) and len(progress) == 1


def expected(answer: str | None, task: str) -> str:
    """The text a contender answers to `task`: its fixed answer, or the task itself."""
    return task if answer is None else answer


LOADS: dict[str, type[SdkClient | RawClient]] = {"sdk": SdkClient, "raw": RawClient}


# -- one measurement ----------------------------------------------------------------------------------


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

    @property
    def ms_per_run(self) -> float:
        """The server's CPU per completed run, in ms: the headline."""
        return self.server_cpu / max(self.runs, 1) * 1e3

    def cores(self, cpu_seconds: float) -> float:
        """CPU seconds used during the measured window, in cores (1.0: one core all along)."""
        return cpu_seconds / self.seconds

    def disturbed(self, other_limit: float) -> bool:
        return self.cores(self.other_cpu) > other_limit


@dataclass
class Snapshot:
    """The clock and the CPU seconds used so far by the server, this process and the machine."""

    time: float
    server: float
    client: float
    machine: float

    @classmethod
    def take(cls, server: ServerProcess) -> Snapshot:
        return cls(time.perf_counter(), server.cpu_seconds(), time.process_time(), machine_busy())


async def measure(
    name: str, contender: Contender, load: str, clients: int, seconds: float, run_dir: Path
) -> Measurement:
    """Starts the contender, warms it up, and measures `clients` calling it for `seconds`."""
    server = await anyio.to_thread.run_sync(ServerProcess, contender.argv, run_dir)
    client_type = LOADS[load]

    def connect() -> SdkClient | RawClient:
        return client_type(server.url, contender.tool, contender.answer)

    try:
        async with connect() as first:  # warm-up: imports, caches, first answers
            for number in range(WARMUP_CALLS):
                assert await first.call(f"warm-up {number}"), f"wrong answer: {list(server.stderr)}"
        await anyio.sleep(0.2)
        idle_rss = server.rss_bytes()
        sampler = PeakSampler(server)
        records, begin, end = await drive(server, connect, clients, seconds)
        peak_rss = sampler.stop()
    finally:
        gc.unfreeze()
        await anyio.to_thread.run_sync(server.close)
    inside = [record for record in records if begin.time <= record[0] < end.time]
    server_cpu, client_cpu = end.server - begin.server, end.client - begin.client
    return Measurement(
        name,
        load,
        clients,
        seconds=end.time - begin.time,
        runs=sum(ok for _, _, ok in inside),
        failures=sum(not ok for _, _, ok in inside),
        latencies=[latency for _, latency, ok in inside if ok],
        server_cpu=server_cpu,
        client_cpu=client_cpu,
        # /proc/stat and the processes' own times tick apart: a few % below zero is noise.
        other_cpu=max(0.0, end.machine - begin.machine - server_cpu - client_cpu),
        idle_rss=idle_rss,
        peak_rss=peak_rss,
    )


async def drive(
    server: ServerProcess, connect: Callable[[], SdkClient | RawClient], clients: int, seconds: float
) -> tuple[list[tuple[float, float, bool]], Snapshot, Snapshot]:
    """`clients` calling in a loop: every call's (end, latency, right), and the measured window."""
    records: list[tuple[float, float, bool]] = []
    window: list[Snapshot] = []
    stop = anyio.Event()

    async def one_client(index: int) -> None:
        async with connect() as client:
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
        window.append(Snapshot.take(server))
        await anyio.sleep(seconds)
        window.append(Snapshot.take(server))
        stop.set()

    async with anyio.create_task_group() as group:
        for index in range(clients):
            group.start_soon(one_client, index)
        group.start_soon(clock)
    return records, window[0], window[1]


# -- the rounds of one row, summed up ---------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def spread(values: list[float]) -> float:
    """(max - min) / median, in %: how far apart the rounds were."""
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle * 100 if middle else float("nan")


@dataclass
class Row:
    """One load, number of clients and contender: its measurement in each round."""

    rounds: list[Measurement]
    raw: list[Measurement] | None
    """The raw SDK's measurements of the same load and clients, round by round, if it was measured."""

    def median(self, value: Callable[[Measurement], float]) -> float:
        return statistics.median(value(m) for m in self.rounds)

    def spread(self, value: Callable[[Measurement], float]) -> float:
        return spread([value(m) for m in self.rounds])

    def versus_raw(self) -> float | None:
        """Median over the rounds of runs/s against the raw SDK's in the same round, in %."""
        if self.raw is None:
            return None
        return statistics.median(
            m.per_second / raw.per_second * 100 for m, raw in zip(self.rounds, self.raw, strict=True)
        )

    def disturbed(self, other_limit: float) -> int:
        return sum(m.disturbed(other_limit) for m in self.rounds)


def rows_of(measured: dict[tuple[str, int, str], list[Measurement]]) -> dict[tuple[str, int, str], Row]:
    return {
        (load, clients, name): Row(rounds, measured.get((load, clients, "raw SDK")))
        for (load, clients, name), rounds in measured.items()
    }


# -- the report -------------------------------------------------------------------------------------


def per_second(m: Measurement) -> float:
    return m.per_second


def ms_per_run(m: Measurement) -> float:
    return m.ms_per_run


def table(rows: dict[tuple[str, int, str], Row], delay: float, other_limit: float) -> list[str]:
    header = (
        f"{'load':5}{'clients':>8}  {'server':16}{'':5}{'ms/run':>7}{'spread':>7}  {'runs/s':>7}{'best':>7}"
        f"{'spread':>7}{'ideal':>6}{'vs raw':>7}{'p50 ms':>8}{'p95 ms':>8}{'fail':>5}"
        f"  {'CPU: server':>11}{'client':>7}{'other':>6}  {'RSS: idle':>9}{'peak':>9}{'KB/run':>7}"
    )
    return [header, *(row_line(key, row, delay, other_limit) for key, row in rows.items())]


def row_line(key: tuple[str, int, str], row: Row, delay: float, other_limit: float) -> str:
    load, clients, name = key
    disturbed = row.disturbed(other_limit)
    flag = f"!{disturbed}/{len(row.rounds)}" if disturbed else ""
    versus = row.versus_raw()
    cpu = f"{row.median(ms_per_run):7.2f}{row.spread(ms_per_run):5.0f} %"
    rate = row.median(per_second)
    runs = (
        f"{rate:7.1f}{max(m.per_second for m in row.rounds):7.1f}{row.spread(per_second):5.0f} %"
        f"{rate / (clients / delay) * 100:4.0f} %{'' if versus is None else f'{versus:5.0f} %':>7}"
    )
    p50 = row.median(lambda m: quantile(m.latencies, 0.5)) * 1e3
    p95 = row.median(lambda m: quantile(m.latencies, 0.95)) * 1e3
    failures = sum(m.failures for m in row.rounds)
    shares = (
        f"{row.median(lambda m: m.cores(m.server_cpu)) * 100:9.0f} %"
        f"{row.median(lambda m: m.cores(m.client_cpu)) * 100:5.0f} %"
        f"{max(m.cores(m.other_cpu) for m in row.rounds) * 100:4.0f} %"
    )
    idle, peak = row.median(lambda m: m.idle_rss), row.median(lambda m: m.peak_rss)
    memory = f"{idle / 2**20:6.1f} MB{peak / 2**20:6.1f} MB{(peak - idle) / clients / 1024:7.0f}"
    latency = f"{p50:8.1f}{p95:8.1f}{failures:5d}"
    return f"{load:5}{clients:8d}  {name:16}{flag:5}{cpu}  {runs}{latency}  {shares}  {memory}"


def per_round(rows: dict[tuple[str, int, str], Row], other_limit: float) -> list[str]:
    """Each row's rounds: the server's CPU per run, runs/s and the rest of the machine's CPU."""
    lines = [f"rounds: server CPU ms/run, runs/s, other CPU (% of a core; ! above {other_limit * 100:.0f} %)"]
    for (load, clients, name), row in rows.items():
        rounds = "  |  ".join(
            f"{m.ms_per_run:5.2f} ms {m.per_second:6.1f}/s {m.cores(m.other_cpu) * 100:3.0f} %"
            f"{' !' if m.disturbed(other_limit) else '  '}"
            for m in row.rounds
        )
        lines.append(f"{load:5}{clients:8d}  {name:16}{rounds}".rstrip())
    return lines


def disturbance(rows: dict[tuple[str, int, str], Row], rounds: int, other_limit: float) -> str:
    """How many measurements, and in how many rounds, the rest of the machine used > `other_limit`."""
    flagged = [
        index for row in rows.values() for index, m in enumerate(row.rounds) if m.disturbed(other_limit)
    ]
    total = sum(len(row.rounds) for row in rows.values())
    limit = f"the rest of the machine above {other_limit:g} cores"
    if not flagged:
        return f"disturbed: none of the {total} measurements had {limit}"
    return (
        f"! disturbed: {len(flagged)} of the {total} measurements had {limit}, in {len(set(flagged))} of the"
        f" {rounds} rounds: their figures are in the medians above; `!k/n` marks the rows"
    )


def stability(rows: dict[tuple[str, int, str], Row], levels: list[int]) -> list[str]:
    """The spread over rounds of the server's CPU per run beside that of runs/s: median over the rows."""
    lines = ["spread over the rounds ((max - min) / median), median over the rows:"]
    for label, selected in [("all", levels), *((f"{level:>3} clients", [level]) for level in levels)]:
        chosen = [row for (_, clients, _), row in rows.items() if clients in selected]
        cpu = statistics.median(row.spread(ms_per_run) for row in chosen)
        runs = statistics.median(row.spread(per_second) for row in chosen)
        lines.append(f"  {label:12} server CPU per run {cpu:4.1f} %, runs/s {runs:4.1f} %")
    return lines


def verdicts(
    rows: dict[tuple[str, int, str], Row], loads: list[str], levels: list[int], delay: float
) -> list[str]:
    """The target at the most clients, and what two workers serve against one (medians)."""
    lines, most = [], max(levels)
    for load in loads:
        agent, raw = rows.get((load, most, "mcpagents")), rows.get((load, most, "raw SDK"))
        if agent is None:
            continue
        share = agent.median(per_second) / (most / delay) * 100
        verdict = "meets" if share >= 80 else "misses"
        baseline = f" (raw SDK: {raw.median(per_second) / (most / delay) * 100:.0f} %)" if raw else ""
        lines.append(
            f"{load} clients, {most} at once: the served agent reaches {share:.0f} % of the ideal{baseline}:"
            f" {verdict} the target (>= 80 %)"
        )
    for load in loads:
        for clients in levels:
            one, two = rows.get((load, clients, "mcpagents")), rows.get((load, clients, "mcpagents ×2"))
            if one and two:
                lines.append(
                    f"{load} clients, {clients} at once: 2 workers serve {two.median(per_second):.0f} runs/s,"
                    f" {two.median(per_second) / one.median(per_second):.2f}× one worker's"
                    f" {one.median(per_second):.0f}"
                )
    return lines


# -- the command --------------------------------------------------------------------------------------


def options_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", default="1,10,100", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per contender and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each measuring every contender once")
    parser.add_argument("--load", default="sdk,raw", help="load generators: sdk, raw or both")
    parser.add_argument(
        "--servers",
        default="raw SDK,mcpagents,mcpagents serve,mcpagents ×2",
        help="some of: raw SDK, mcpagents, mcpagents serve, mcpagents ×2",
    )
    parser.add_argument("--delay", type=float, default=0.1, help="seconds per model call (tool call)")
    parser.add_argument(
        "--cpu-ms",
        type=float,
        default=0.0,
        help="CPU the model call burns in mcpagents and mcpagents ×2 (not in raw SDK nor mcpagents serve)",
    )
    parser.add_argument(
        "--other-limit",
        type=float,
        default=0.3,
        help="a round in which the rest of the machine used more cores than this is flagged disturbed",
    )
    return parser


async def main() -> None:
    options = options_parser().parse_args()
    levels = [int(count) for count in options.clients.split(",")]
    loads = options.load.split(",")
    servers = options.servers.split(",")
    measured: dict[tuple[str, int, str], list[Measurement]] = collections.defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as folder:
        available = contenders(Path(folder), options.delay, options.cpu_ms)
        if unknown := set(servers) - set(available):
            raise SystemExit(f"unknown servers: {', '.join(sorted(unknown))}; known: {', '.join(available)}")
        for _ in range(options.rounds):
            for load in loads:
                for clients in levels:
                    for name in servers:
                        measurement = await measure(
                            name, available[name], load, clients, options.seconds, Path(folder) / "runs"
                        )
                        measured[load, clients, name].append(measurement)
    rows = rows_of(measured)
    burning = f" burning {options.cpu_ms:g} ms CPU (served_agent.py)" if options.cpu_ms else ""
    print(
        f"served agent over streamable HTTP ({LATEST_MODERN_VERSION}), {options.delay * 1e3:.0f} ms per"
        f" model call{burning}; medians of {options.rounds} rounds of {options.seconds:g} s;"
        f" {os.cpu_count()} cores shared by clients and server\n"
    )
    print("\n".join(table(rows, options.delay, options.other_limit)))
    print()
    print(disturbance(rows, options.rounds, options.other_limit))
    print("\n".join(stability(rows, levels)))
    print("\n".join(verdicts(rows, loads, levels, options.delay)))
    print()
    print("\n".join(per_round(rows, options.other_limit)))


if __name__ == "__main__":
    anyio.run(main)
