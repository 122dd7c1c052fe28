"""The `mcpagents` command, run as a user runs it: a subprocess of the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import CALC_SERVER, peer

MCPAGENTS = str(Path(sys.executable).with_name("mcpagents"))
CALC = ["--", sys.executable, str(CALC_SERVER)]


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MCPAGENTS, *arguments], capture_output=True, text=True, timeout=60)


def test_tools_lists_signatures_and_descriptions() -> None:
    listing = run("tools", "--include", "add", "--include", "convert", *CALC)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].startswith("calc_server  (") and lines[0].endswith("; 2026-07-28, 2 tools)")
    assert lines[1:] == [
        "  add(a: integer, b?: integer)",
        "      Add two integers.",
        '  convert(value: number, unit: "c" | "f", note?: string | null)',
        "      Convert a temperature.",
    ]


def test_tools_json_is_the_mcp_definition(tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    config.write_text(
        json.dumps({"mcpServers": {"calc": {"command": sys.executable, "args": [str(CALC_SERVER)]}}})
    )
    listing = run("tools", "--config", str(config), "--json", "--include", "divide")
    (definition,) = json.loads(listing.stdout)
    assert definition["server"] == "calc"
    assert definition["inputSchema"]["required"] == ["a", "b"]
    assert set(definition["outputSchema"]["properties"]) == {"quotient", "remainder"}


def test_call_prints_the_result_and_progress() -> None:
    called = run("call", "slow", "seconds=0.1", *CALC)
    assert (called.returncode, called.stdout) == (0, "slept\n")
    assert called.stderr.splitlines() == ["[slow 1/2] step 1 of 2", "[slow 2/2] step 2 of 2"]
    structured = run("call", "divide", "a=7", "b=2", *CALC)
    assert json.loads(structured.stdout) == {"quotient": 3, "remainder": 1}


def test_string_parameters_keep_text_that_looks_like_json() -> None:
    called = run("call", "getenv", "name=123", *CALC)
    assert called.returncode == 0, called.stderr
    assert called.stdout == "null\n", "name stayed the string '123', not the number 123"


def test_errors_have_messages_and_exit_codes() -> None:
    bad_argument = run("call", "add", "a=x", *CALC)
    assert bad_argument.returncode == 1
    assert bad_argument.stderr == "mcpagents: add(): argument 'a' must be integer, got string \"x\"\n"
    missing = run("tools", "--", "no-such-mcp-server-command")
    assert missing.returncode == 3
    assert "server 'no-such-mcp-server-command' could not start" in missing.stderr
    nothing = run("tools")
    assert nothing.returncode == 2
    assert "no server given" in nothing.stderr


def test_one_tool_is_counted_in_the_singular() -> None:
    listing = run("tools", "--include", "add", *CALC)
    assert listing.stdout.splitlines()[0].endswith("; 2026-07-28, 1 tool)")


def test_call_answers_a_servers_question_from_stdin_or_declines() -> None:
    server = ["--", peer("mcp-server-everything"), "stdio"]
    asked = ["call", "trigger-url-elicitation", "url=https://example.org/sign-in"]
    answered = subprocess.run(
        [MCPAGENTS, *asked, "--input", *server], input="\n", capture_output=True, text=True, timeout=60
    )
    assert answered.returncode == 0, answered.stderr
    assert "Open this address to continue: https://example.org/sign-in" in answered.stderr
    assert '"action": "accept"' in answered.stdout
    declined = subprocess.run([MCPAGENTS, *asked, *server], capture_output=True, text=True, timeout=60)
    assert "mcpagents call has nobody to ask: its input is not a terminal" in declined.stdout
    assert '"action": "decline"' in declined.stdout
