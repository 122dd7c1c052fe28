"""The `mcpagents` command, run as a user runs it: a subprocess of the installed console script."""

from __future__ import annotations

import json
import os
import pty
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
    headers_alone = run("tools", "--header", "Authorization: Bearer x", *CALC)
    assert headers_alone.returncode == 2
    assert headers_alone.stderr == "mcpagents: --header goes with --url: the headers of an HTTP server\n"
    malformed = run("tools", "--url", "http://127.0.0.1:9/mcp", "--header", "no colon")
    assert malformed.returncode == 2 and "expected 'NAME: VALUE', got 'no colon'" in malformed.stderr


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


def test_a_model_without_its_key_stops_run_and_serve_before_any_server_starts(tmp_path: Path) -> None:
    spec = tmp_path / "agent.yaml"
    spec.write_text(
        f"name: a\ndescription: d\nmodel: mistral/mistral-small-latest\n"
        f"mcpServers: {{never: {{command: {tmp_path / 'no-such-server'}}}}}\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "MISTRAL_API_KEY"}
    for command in (["run", str(spec), "hi"], ["serve", str(spec)]):
        done = subprocess.run(
            [MCPAGENTS, *command],
            capture_output=True,
            text=True,
            timeout=60,
            env=environment,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 2, done.stderr
        assert "no API key: set $MISTRAL_API_KEY" in done.stderr
        served_hint = f"mcpagents install HOST {spec} --env MISTRAL_API_KEY"
        assert (served_hint in done.stderr) == (command[0] == "serve")


def test_check_reports_the_spec_its_model_and_its_servers(tmp_path: Path) -> None:
    (tmp_path / "replies.yaml").write_text("- done\n")
    head = "description: d\nmodel: scripted:replies.yaml\nmcpServers:\n  calc: {builtin: calculator}\n"
    (tmp_path / "good.yaml").write_text(f"name: good\n{head}")
    (tmp_path / "broken.yaml").write_text(
        f"name: broken\n{head}  gone: {{command: {tmp_path / 'nothing'}}}\n"
    )
    (tmp_path / "typo.yaml").write_text("name: typo\ndescription: d\nmodel: scripted:replys.yaml\n")
    good = run("check", str(tmp_path / "good.yaml"))
    assert (good.returncode, good.stdout.splitlines()) == (
        0,
        [
            f"{tmp_path / 'good.yaml'}: agent 'good' (code)",
            f"  model scripted:{tmp_path / 'replies.yaml'}: ready (built, not called)",
            "  server calc: 2026-07-28, 5 tools",
        ],
    )
    broken = run("check", str(tmp_path / "good.yaml"), str(tmp_path / "broken.yaml"))
    assert broken.returncode == 3
    assert "  server gone: failed: server 'gone' could not start" in broken.stdout
    assert broken.stdout.count("could not start") == 1 and "could not start" not in broken.stderr
    typo = run("check", str(tmp_path / "broken.yaml"), str(tmp_path / "typo.yaml"))
    assert typo.returncode == 2, "a spec to fix outranks a server that failed"
    assert f"(did you mean {tmp_path / 'replies.yaml'}?)" in typo.stdout


def test_serve_over_stdio_in_a_terminal_says_it_waits_for_a_client(tmp_path: Path) -> None:
    (tmp_path / "replies.yaml").write_text("per_conversation: true\nresponses: [done]\n")
    (tmp_path / "helper.yaml").write_text("name: helper\ndescription: d\nmodel: scripted:replies.yaml\n")
    terminal, typed = pty.openpty()
    process = subprocess.Popen(
        [MCPAGENTS, "serve", str(tmp_path / "helper.yaml")], stdin=typed, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
    finally:
        process.kill()
        process.wait()
        os.close(terminal)
        os.close(typed)
    assert line.startswith("mcpagents: serving helper over stdio: waiting for an MCP client"), line


def test_tools_tells_a_failed_server_once_and_strict_makes_it_an_error(tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    entries = {
        "calc": {"command": sys.executable, "args": [str(CALC_SERVER)]},
        "gone": {"command": "/nothing"},
    }
    config.write_text(json.dumps({"mcpServers": entries}))
    listed = run("tools", "--config", str(config), "--include", "add")
    assert listed.returncode == 0 and "  add(a: integer, b?: integer)" in listed.stdout
    assert listed.stderr.count("server 'gone' failed") == 1, listed.stderr
    assert "continuing without" not in listed.stderr
    assert run("tools", "--config", str(config), "--strict").returncode == 3


def test_call_help_shows_call_examples_with_a_server_command() -> None:
    shown = run("call", "--help").stdout
    assert "mcpagents call TOOL [NAME=VALUE ...] -- COMMAND [ARG ...]" in " ".join(shown.split())
    assert "mcpagents call add a=2 b=40 -- python -m mcpagents.servers.calculator" in shown
    assert "mcpagents tools" not in shown


def test_serving_a_shared_script_suggests_per_conversation(tmp_path: Path) -> None:
    (tmp_path / "shared.yaml").write_text("- done\n")
    (tmp_path / "own.yaml").write_text("per_conversation: true\nresponses: [done]\n")
    for script, suggested in (("shared.yaml", True), ("own.yaml", False)):
        (tmp_path / "helper.yaml").write_text(f"name: helper\ndescription: d\nmodel: scripted:{script}\n")
        served = subprocess.run(
            [MCPAGENTS, "serve", str(tmp_path / "helper.yaml")],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert served.returncode == 0, served.stderr
        assert ("add `per_conversation: true` to" in served.stderr) == suggested, served.stderr
