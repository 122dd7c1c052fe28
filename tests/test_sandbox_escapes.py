"""The public escape payloads (tests/data/escape-public.json), under the harness contract of
../shared/notes/sandbox.md, in both executor modes.

The advisory lint is off and every import is authorised, so that what stops a payload is the
worker's confinement (process, rlimits, Landlock, seccomp, bubblewrap), not a list of bad words.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcpagents import ToolCollection, tool
from mcpagents.sandbox.executor import PythonExecutor
from mcpagents.sandbox.interface import ExecutorOptions, StepResult

PAYLOADS_FILE = Path(__file__).parent / "data" / "escape-public.json"  # the public set, kept verbatim
PAYLOADS: list[dict[str, Any]] = json.loads(PAYLOADS_FILE.read_text())
MARKER = Path("/tmp/mcpagents_escape_marker")
LISTENER_PORT = 47777
STEP_TIMEOUT = 5.0

host_echo_calls: list[str] = []


@tool
def echo(text: str) -> str:
    """Echo a text (a host tool: the harness checks that calls reach it)."""
    host_echo_calls.append(text)
    return text


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", LISTENER_PORT))
        server.listen(8)
        server.setblocking(False)
        yield server


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> str:
    value = f"canary-{secrets.token_hex(8)}"
    monkeypatch.setenv("MCPAGENTS_CANARY", value)
    return value


def run_payload(payload: dict[str, Any], mode: str) -> tuple[StepResult, float, StepResult]:
    """The payload, then the contract's follow-up step, in a fresh executor."""

    async def main() -> tuple[StepResult, float, StepResult]:
        async with ToolCollection.from_mcp([echo]) as tools:
            options = ExecutorOptions(mode=mode, authorized_imports=("*",), step_timeout=STEP_TIMEOUT)  # type: ignore[arg-type]
            executor = PythonExecutor(tools, options, check_code=False)
            async with executor:
                assert all(layer.ok for layer in executor.layers), executor.layers
                started = time.monotonic()
                result = await executor.run(payload["code"])
                elapsed = time.monotonic() - started
                follow_up = payload["detect"].get("next_step", "final_answer(echo('ping'))")
                return result, elapsed, await executor.run(follow_up)

    return anyio.run(main)


def everything(result: StepResult) -> str:
    return "\n".join(
        str(part) for part in (result.stdout, result.stderr, result.value, result.error, result.final_answer)
    )


@pytest.mark.parametrize("mode", ["local", "sandbox"])
@pytest.mark.parametrize("payload", PAYLOADS, ids=[p["id"] for p in PAYLOADS])
def test_payload_is_blocked(payload: dict[str, Any], mode: str, listener: socket.socket, canary: str) -> None:
    MARKER.unlink(missing_ok=True)
    recursion_limit = sys.getrecursionlimit()
    calls_before = len(host_echo_calls)

    result, elapsed, follow_up = run_payload(payload, mode)

    detect = payload["detect"]
    output = everything(result)
    assert not MARKER.exists(), f"{payload['id']} wrote {MARKER} on the host"
    assert canary not in output + everything(follow_up), "the host's environment leaked"
    assert "root:x:0:0" not in output, "/etc/passwd was read"
    with pytest.raises(BlockingIOError):
        listener.accept()
    assert elapsed < STEP_TIMEOUT + 10, f"the step took {elapsed:.1f} s"
    assert len(result.stdout.encode()) <= 1024 * 1024 and len(result.stderr.encode()) <= 1024 * 1024
    if detect["type"] == "must_fail_with_memory_limit":
        assert "MemoryError" in output
    if detect["type"] == "must_stop_within_s":
        assert elapsed <= detect["seconds"]
    # The host survived, its state is unchanged, and the next step's tool call reaches the host tool.
    assert sys.getrecursionlimit() == recursion_limit
    assert os.getpid() > 0
    assert (follow_up.has_final_answer, follow_up.final_answer, follow_up.error) == (True, "ping", None)
    assert host_echo_calls[calls_before:][-1:] == ["ping"]
