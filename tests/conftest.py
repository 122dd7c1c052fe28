"""Shared fixtures: real MCP servers as subprocesses, over stdio and over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

import anyio
import pytest

from mcpagents import StdioServer

T = TypeVar("T")

TESTS = Path(__file__).parent
CALC_SERVER = TESTS / "servers" / "calc_server.py"
LATE_SERVER = TESTS / "servers" / "late_server.py"
PEER_BINARIES = TESTS / "peers" / "node_modules" / ".bin"
MCP1_PYTHON = TESTS / "peers" / "mcp1-venv" / "bin" / "python"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every server started by a test writes its log under the test's own directory."""
    directory = tmp_path / "server-logs"
    monkeypatch.setenv("MCPAGENTS_LOG_DIR", str(directory))
    return directory


@pytest.fixture(autouse=True)
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every run of a test (and of the servers it starts) is logged under the test's own directory."""
    directory = tmp_path / "runs"
    monkeypatch.setenv("MCPAGENTS_RUN_DIR", str(directory))
    return directory


def calc(*flags: str, name: str | None = None, **options: object) -> StdioServer:
    """The test server `tests/servers/calc_server.py` over stdio."""
    return StdioServer(sys.executable, [str(CALC_SERVER), *flags], name=name, **options)  # type: ignore[arg-type]


def late_server(gate: Path) -> StdioServer:
    """`tests/servers/late_server.py`: a server that starts (answers anything) once `gate` exists."""
    return StdioServer(sys.executable, [str(LATE_SERVER), str(gate)], name="late")


def peer(binary: str) -> str:
    """An npm reference server installed by `make test` under tests/peers."""
    path = PEER_BINARIES / binary
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make test`, which installs the npm peers in tests/peers")
    return str(path)


def mcp1_python() -> str:
    """The python of the venv with the pinned 1.x MCP SDK (FastMCP), built by `make test`."""
    if not MCP1_PYTHON.exists():
        pytest.fail(f"{MCP1_PYTHON} is missing: run `make test`, which builds the 1.x MCP SDK's venv")
    return str(MCP1_PYTHON)


def caddy() -> str:
    """The Caddy web server (Debian package `caddy`, installed by `make test`)."""
    path = shutil.which("caddy")
    if path is None:
        pytest.fail("caddy is missing: run `make test`, which installs it (Debian package `caddy`)")
    return path


MCPAGENTS = str(Path(sys.executable).with_name("mcpagents"))


@contextmanager
def serving_spec(spec: Path, *flags: str) -> Iterator[str]:
    """`mcpagents serve SPEC --transport http` on a free port; yields the URL it says it serves at."""
    process = subprocess.Popen(
        [MCPAGENTS, "serve", str(spec), "--transport", "http", "--port", "0", *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert " at http" in line, line + process.stderr.read()
        yield line.split(" at ")[1].split()[0]
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def http_calc(*flags: str) -> Iterator[str]:
    """Run the calc server over HTTP (`--http`) or SSE (`--sse`); yields its base URL.

    Pass `--port N` to reuse a port (e.g. to restart a server where clients expect it).
    """
    process = subprocess.Popen(
        [sys.executable, str(CALC_SERVER), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith("PORT "), f"calc server did not start: {first_line!r}"
        yield f"http://127.0.0.1:{int(first_line.split()[1])}"
    finally:
        process.kill()
        process.wait()


AUTHORIZATION_SERVER = TESTS / "peers" / "authorization_server.mjs"


@dataclass(frozen=True)
class AuthorizationServer:
    """A running OAuth 2.1 authorization server (oidc-provider, see tests/peers/authorization_server.mjs):
    its issuer URL, and the pre-registered confidential client `service` / `service-secret`."""

    issuer: str
    client_id: str = "service"
    client_secret: str = "service-secret"


@contextmanager
def authorization_server(access_ttl: int = 3600, token_format: str = "jwt") -> Iterator[AuthorizationServer]:
    """Start the authorization server on a free port of 127.0.0.1; access tokens live `access_ttl` s
    and are JWTs, or with `token_format="opaque"` opaque (those it can introspect and revoke)."""
    if not (TESTS / "peers" / "node_modules" / "oidc-provider").exists():
        pytest.fail("oidc-provider is missing: run `make test`, which installs the npm peers in tests/peers")
    environment = {**os.environ, "AS_ACCESS_TTL": str(access_ttl), "AS_TOKEN_FORMAT": token_format}
    for attempt in range(1, PEER_START_ATTEMPTS + 1):
        process = subprocess.Popen(
            ["node", str(AUTHORIZATION_SERVER)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=environment,
        )
        try:
            assert process.stdout is not None
            line = first_line(process.stdout, PEER_START_SECONDS)
            if line is None and attempt < PEER_START_ATTEMPTS:
                continue  # node hung while starting (seen once in a full run: its main thread on a lock)
            assert line is not None, f"the authorization server said nothing in {PEER_START_SECONDS:g} s"
            assert line.startswith("{"), f"the authorization server did not start: {line!r}"
            yield AuthorizationServer(json.loads(line)["issuer"])
            return
        finally:
            process.kill()
            process.wait()


PEER_START_SECONDS = 30.0
"""How long a third-party peer may take to say it is ready (node starts in about a second)."""
PEER_START_ATTEMPTS = 2


def first_line(stream: IO[str], seconds: float) -> str | None:
    """The first line a process writes on `stream` (a pipe nothing has read yet), or None when it
    writes none within `seconds`."""
    ready, _, _ = select.select([stream], [], [], seconds)
    return stream.readline() if ready else None


def inspector_cli() -> list[str]:
    """The MCP Inspector's CLI; the server gets a minute to connect (its 15 s default is short for a
    served agent starting on a busy 2-core machine)."""
    return [peer("mcp-inspector"), "--cli", "--connect-timeout", "60000"]


def inspector(*arguments: str, home: Path) -> Any:
    """Run the MCP Inspector CLI (`--cli ARGUMENTS`) with a scratch HOME; its JSON output, parsed."""
    environment = {**os.environ, "HOME": str(home), "MCP_INSPECTOR_SECRET_STORE": "memory"}
    done = subprocess.run(
        [*inspector_cli(), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


class Arrivals(Generic[T]):
    """Collects what a callback receives; lets a test wait until enough has arrived (notifications
    are delivered beside the call, so they may still be on their way when it returns)."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._arrived = anyio.Event()

    def __call__(self, item: T) -> None:
        self.items.append(item)
        self._arrived.set()

    async def wait_until(self, condition: Callable[[list[T]], bool], seconds: float = 20) -> None:
        with anyio.fail_after(seconds):
            while not condition(self.items):
                await self._arrived.wait()
                self._arrived = anyio.Event()

    async def wait_for(self, count: int) -> None:
        await self.wait_until(lambda items: len(items) >= count)
