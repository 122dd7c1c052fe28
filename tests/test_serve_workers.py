"""`mcpagents serve --workers N`: several processes behind one port, each serving the same specs.

Which worker takes a connection is the kernel's choice; these tests choose it by stopping the other
worker (SIGSTOP) while fresh connections are made, so each claim is checked on a known worker.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcpagents import ConfigError, ServerSettings, serve_workers
from tests.conftest import CALC_SERVER, caddy
from tests.test_docs import ROOT, read_blocks, systemd_unit

MCPAGENTS = str(Path(sys.executable).with_name("mcpagents"))
SERVED_AGENT = Path(__file__).parent / "servers" / "served_agent.py"
TOKEN = "w0rkers"


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """adder.yaml (answers at once) and sleeper.yaml (each model call takes a second)."""
    calc = f"{{command: {json.dumps(sys.executable)}, args: [{json.dumps(str(CALC_SERVER))}]}}"
    for name, delay in (("adder", 0), ("sleeper", 1)):
        (tmp_path / f"{name}-script.yaml").write_text(
            f"per_conversation: true\ndelay: {delay}\nresponses:\n"
            "  - tool_calls: [{name: add, arguments: {a: 20, b: 22}}]\n"
            '  - tool_calls: [{name: final_answer, arguments: {answer: "42"}}]\n'
        )
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\ndescription: Adds 20 and 22.\ntype: tool_calling\n"
            f"model: scripted:{name}-script.yaml\nmcpServers:\n  calc: {calc}\ninclude: [add]\n"
        )
    return tmp_path


@dataclass
class Served:
    process: subprocess.Popen[str]
    urls: dict[str, str]
    workers: list[int]

    def stderr_line(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.readline()


@contextmanager
def served_by_workers(specs: Path, *flags: str) -> Iterator[Served]:
    names = ["adder", "sleeper"]
    files = [str(specs / f"{name}.yaml") for name in names]
    options = ["--transport", "http", "--port", "0", "--token", TOKEN, "--workers", "2", *flags]
    process = subprocess.Popen(
        [MCPAGENTS, "serve", *files, *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal would give it
    )
    try:
        served = Served(process, {}, [])
        for name in names:
            line = served.stderr_line()
            found = re.fullmatch(rf"mcpagents: serving {name} at (\S+) \(workers (\d+), (\d+)\)\n", line)
            assert found, line + (process.stderr.read() if process.stderr else "")
            served.urls[name] = found[1]
            served.workers = [int(found[2]), int(found[3])]
        yield served
    finally:
        for pid in served.workers:
            _signal(pid, signal.SIGCONT)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[Client]:
    """A client on a new connection: the worker that accepts it answers all its calls."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def add(url: str, name: str = "adder") -> Any:
    async with connected(url) as client:
        result = await client.call_tool(name, {"task": "What is 20 + 22?"})
    assert result.structured_content is not None, result
    return result.structured_content["answer"]


@contextmanager
def stopped(pid: int) -> Iterator[None]:
    """The process is frozen inside the block: connections made meanwhile go to the other workers."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _signal(pid: int, number: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, number)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_two_workers_behind_one_port_each_serve_every_agent(specs: Path) -> None:
    with served_by_workers(specs) as served:
        first, second = served.workers
        for frozen in (first, second):
            with stopped(frozen):
                answers = anyio.run(lambda: _answers(served.urls))
            assert answers == ["42", "42"], f"the worker left running ({first + second - frozen}) answered"
        url = served.urls["adder"]
        unauthorised = httpx2.post(url, json={})
        legacy_sse = httpx2.get(
            url.removesuffix("/mcp") + "/sse", headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert unauthorised.status_code == 401
    assert legacy_sse.status_code == 404 and "legacy SSE keeps its session in one process" in legacy_sse.text


async def _answers(urls: dict[str, str]) -> list[Any]:
    return [await add(urls["adder"]), await add(urls["sleeper"], "sleeper")]


def test_a_worker_that_dies_is_replaced_and_the_port_keeps_answering(specs: Path) -> None:
    with served_by_workers(specs) as served:
        killed, survivor = served.workers
        os.kill(killed, signal.SIGKILL)
        assert anyio.run(add, served.urls["adder"]) == "42", "the survivor answers at once"
        found = re.fullmatch(
            rf"mcpagents: worker {killed} was killed by SIGKILL; started worker (\d+)\n", served.stderr_line()
        )
        assert found, "the supervisor says what happened"
        replacement = int(found[1])
        with stopped(survivor):
            assert anyio.run(add, served.urls["adder"]) == "42", "the replacement answers"
        assert alive(replacement) and not alive(killed)


@pytest.mark.parametrize(("store", "recalled"), [(True, "add 1 and 2"), (False, "recall")])
def test_a_conversation_continues_in_another_worker_only_with_a_shared_store(
    tmp_path: Path, store: bool, recalled: str
) -> None:
    flags = ["--conversation-store", str(tmp_path / "conversations.db")] if store else []
    process = subprocess.Popen(
        [
            sys.executable,
            str(SERVED_AGENT),
            "--transport",
            "http",
            "--workers",
            "2",
            "--token",
            TOKEN,
            *flags,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = re.fullmatch(r"mcpagents: serving helper at (\S+) \(workers (\d+), (\d+)\)\n", line)
        assert found, line + process.stderr.read()
        url, first, second = found[1], int(found[2]), int(found[3])
        with stopped(second):
            started = anyio.run(ask, url, "add 1 and 2")
        with stopped(first):
            continued = anyio.run(ask, url, "recall")  # answers the first task of its conversation
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert started == "3"
    assert continued == recalled, "with no store the other worker starts the conversation afresh"


async def ask(url: str, task: str) -> Any:
    async with connected(url) as client:
        result = await client.call_tool("helper", {"task": task, "conversation_id": "c1"})
    assert result.structured_content is not None, result
    return result.structured_content["answer"]


def test_sigterm_lets_the_runs_in_flight_in_every_worker_finish(specs: Path) -> None:
    with served_by_workers(specs, "--grace", "20") as served:
        answers = anyio.run(_one_run_per_worker_then_sigterm, served)
        assert served.process.wait(timeout=30) == -signal.SIGTERM
        assert answers == ["42", "42"]
        assert not any(alive(pid) for pid in served.workers)


async def _one_run_per_worker_then_sigterm(served: Served) -> list[Any]:
    """Start a slow run on each worker, then SIGTERM the server; the runs' answers."""
    answers: list[Any] = []
    started = [anyio.Event(), anyio.Event()]

    async def run(index: int) -> None:
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            started[index].set()

        async with connected(served.urls["sleeper"]) as client:
            await client.list_tools()  # the output schema, fetched before the server stops listening
            result = await client.call_tool("sleeper", {"task": "add"}, progress_callback=on_progress)
            answers.append(result.structured_content and result.structured_content["answer"])

    async with anyio.create_task_group() as group:
        for index, other in enumerate(reversed(served.workers)):
            with stopped(other):
                group.start_soon(run, index)
                await started[index].wait()
        served.process.send_signal(signal.SIGTERM)
    return answers


def test_ctrl_c_stops_every_worker_quietly(specs: Path) -> None:
    with served_by_workers(specs) as served:
        os.killpg(served.process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert served.process.wait(timeout=30) == 130
        assert served.process.stderr is not None and served.process.stderr.read() == "", "no traceback"
        assert not any(alive(pid) for pid in served.workers)


@pytest.mark.parametrize(("workers", "who"), [("1", ""), ("2", "a worker could not start: ")])
def test_a_server_whose_tools_cannot_start_exits_with_their_error(
    tmp_path: Path, workers: str, who: str
) -> None:
    (tmp_path / "broken.yaml").write_text(
        "name: broken\ndescription: Its tool server does not exist.\nmodel: scripted:none.yaml\n"
        "mcpServers:\n  missing: {command: /nonexistent/server}\n"
    )
    (tmp_path / "none.yaml").write_text("responses: []\n")
    done = subprocess.run(
        [
            MCPAGENTS,
            "serve",
            str(tmp_path / "broken.yaml"),
            "--transport",
            "http",
            "--port",
            "0",
            "--workers",
            workers,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    assert done.stderr.startswith(
        f"mcpagents: {who}server 'missing' could not start: command '/nonexistent/server' was not found"
    ), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--transport", "sse"], "--workers serves streamable HTTP: use --transport http, not sse"),
        (["--transport", "http", "--stateful"], "sessions live in one process"),
        (["--transport", "http", "--host", "0.0.0.0"], "serving on 0.0.0.0 (not loopback) needs a token"),
    ],
)
def test_workers_refuse_what_cannot_work_across_processes(
    specs: Path, flags: list[str], message: str
) -> None:
    done = subprocess.run(
        [MCPAGENTS, "serve", str(specs / "adder.yaml"), "--workers", "2", "--port", "0", *flags],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_the_documented_production_layout_serves_https_through_caddy(tmp_path: Path) -> None:
    """docs/serving.md's systemd unit and Caddyfile, run as systemd and Caddy would run them: the
    unit's ExecStart with its EnvironmentFile, behind Caddy with a certificate of its own local CA
    for the documented name, called with curl resolving that name to 127.0.0.1."""
    blocks = read_blocks(ROOT / "docs" / "serving.md")
    (unit,) = [systemd_unit(block.code)["Service"] for block in blocks if "systemd-unit" in block.flags]
    (caddyfile,) = [block.code for block in blocks if block.lang == "caddyfile"]
    (spec,) = [block.code for block in blocks if block.option("file") == "helper.yaml"]
    (tmp_path / "helper.yaml").write_text(spec)
    caddy_port = free_port()
    name = "agents.example.com"
    command = shlex.split(unit["ExecStart"])
    command[0] = MCPAGENTS
    command[command.index("--port") + 1] = "0"
    command[command.index("--allowed-host") + 1] = f"{name}:{caddy_port}"  # not 443, here
    environment = {
        **os.environ,
        "MCPAGENTS_MODEL": f"scripted:{ROOT / 'docs' / 'scripts' / 'helper.yaml'}",
        "MCPAGENTS_TOKEN": TOKEN,  # what the unit's EnvironmentFile holds
        "XDG_DATA_HOME": str(tmp_path / "data"),  # where Caddy keeps its local CA
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    server = subprocess.Popen(command, cwd=tmp_path, env=environment, stderr=subprocess.PIPE, text=True)
    proxy: subprocess.Popen[str] | None = None
    try:
        assert server.stderr is not None
        announced = server.stderr.readline()
        upstream = re.search(r"at http://(127\.0\.0\.1:\d+)/mcp \(workers( \d+,){3} \d+\)", announced)
        assert upstream, announced
        site = f"{{\n\tadmin off\n\tauto_https disable_redirects\n\tskip_install_trust\n}}\n{caddyfile}"
        site = site.replace(f"{name} {{", f"{name}:{caddy_port} {{\n\ttls internal")
        (tmp_path / "Caddyfile").write_text(site.replace("127.0.0.1:8765", upstream[1]))
        proxy = subprocess.Popen(
            [caddy(), "run", "--adapter", "caddyfile", "--config", str(tmp_path / "Caddyfile")],
            env=environment,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proxy.stderr is not None
        for line in proxy.stderr:  # Caddy logs JSON lines; its certificate is then ready
            if "certificate obtained successfully" in line and name in line:
                break
        else:
            pytest.fail("caddy did not start")
        root_certificate = tmp_path / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        curl = ["curl", "-sS", "-N", "--resolve", f"{name}:{caddy_port}:127.0.0.1"]
        curl += ["--cacert", str(root_certificate), f"https://{name}:{caddy_port}/mcp"]
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "helper", "arguments": {"task": "3 × 12?"}, "_meta": {"progressToken": 1}},
        }
        headers = [
            "-H",
            "Accept: application/json, text/event-stream",
            "-H",
            "MCP-Protocol-Version: 2025-06-18",
        ]
        headers += ["-H", "Content-Type: application/json", "--data", json.dumps(call)]
        answered = subprocess.run(
            [*curl, *headers, "-H", f"Authorization: Bearer {TOKEN}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        refused = subprocess.run(
            [*curl, *headers, "-w", "%{http_code}"], capture_output=True, text=True, timeout=60
        )
    finally:
        for process in (proxy, server):
            if process is not None:
                process.terminate()
                process.wait(timeout=60)
    events = [
        json.loads(line[len("data: ") :])
        for line in answered.stdout.splitlines()
        if line.startswith("data: ")
    ]
    assert [event["params"]["message"] for event in events[:-1]] == [
        'step 1: calling evaluate(expression="3 * 12")',
        "step 1 done",
        "step 2 done",
    ], answered.stdout + answered.stderr
    assert events[-1]["result"]["structuredContent"]["answer"] == "36 (3 × 12)"
    assert refused.stdout.endswith("401")
    assert server.returncode == -signal.SIGTERM


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_workers_wants_a_factory_each_worker_can_import() -> None:
    with pytest.raises(ConfigError, match=r"must be importable by name .*lambda"):
        serve_workers(lambda: [], workers=2, settings=ServerSettings(port=0))
