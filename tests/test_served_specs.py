"""Agents from spec files served by `mcpagents serve`, called by clients no one on this team wrote:
the MCP Inspector CLI over stdio and HTTP in both protocol eras, a config written by `mcpagents
install`, and a manager spec whose managed agent is another spec served over stdio."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.conftest import CALC_SERVER, MCPAGENTS, inspector, inspector_cli, serving_spec

ERAS = ["legacy", "modern"]
CALL_ADDER = ["--method", "tools/call", "--tool-name", "adder", "--tool-arg", "task=Add 20 and 22."]


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """adder.yaml (a ToolCallingAgent over the calc server) and boss.yaml (which manages adder)."""
    (tmp_path / "adder-script.yaml").write_text(
        "per_conversation: true\n"
        "responses:\n"
        "  - tool_calls: [{name: add, arguments: {a: 20, b: 22}}]\n"
        '  - tool_calls: [{name: final_answer, arguments: {answer: "42"}}]\n'
    )
    (tmp_path / "adder.yaml").write_text(
        "name: adder\n"
        "description: Adds two numbers with the calculator.\n"
        "type: tool_calling\n"
        "model: scripted:adder-script.yaml\n"
        "mcpServers:\n"
        f"  calc: {{command: {json.dumps(sys.executable)}, args: [{json.dumps(str(CALC_SERVER))}]}}\n"
        "include: [add]\n"
    )
    (tmp_path / "boss-script.yaml").write_text(
        "per_conversation: true\n"
        "responses:\n"
        "  - tool_calls: [{name: adder, arguments: {task: Add 20 and 22.}}]\n"
        '  - tool_calls: [{name: final_answer, arguments: {answer: "the adder says 42"}}]\n'
    )
    (tmp_path / "boss.yaml").write_text(
        "name: boss\n"
        "description: Delegates sums.\n"
        "type: tool_calling\n"
        "model: scripted:boss-script.yaml\n"
        "agents: [adder.yaml]\n"
    )
    return tmp_path


@pytest.mark.parametrize("era", ERAS)
def test_inspector_lists_and_calls_an_agent_over_stdio(specs: Path, tmp_path: Path, era: str) -> None:
    command = [MCPAGENTS, "serve", str(specs / "adder.yaml")]
    listed = inspector(*command, "--protocol-era", era, "--method", "tools/list", home=tmp_path)
    (tool,) = listed["tools"]
    assert tool["name"] == "adder" and tool["inputSchema"]["required"] == ["task"]
    assert tool["description"].endswith("can use tools: add.")
    called = inspector(*command, "--protocol-era", era, *CALL_ADDER, home=tmp_path)
    assert called["isError"] is False
    assert called["structuredContent"]["answer"] == "42" and called["structuredContent"]["steps"] == 2


@pytest.mark.parametrize("era", ERAS)
def test_inspector_calls_an_agent_over_http_with_its_token(specs: Path, tmp_path: Path, era: str) -> None:
    with serving_spec(specs / "adder.yaml", "--token", "s3cret") as url:
        target = [url, "--transport", "http", "--protocol-era", era]
        called = inspector(*target, "--header", "Authorization: Bearer s3cret", *CALL_ADDER, home=tmp_path)
        assert called["structuredContent"]["answer"] == "42"
        environment = {**os.environ, "HOME": str(tmp_path), "MCP_INSPECTOR_SECRET_STORE": "memory"}
        refused = subprocess.run(
            [
                *inspector_cli(),
                *target,
                "--method",
                "tools/list",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=environment,
        )
        # Without the token the server answers 401, which the Inspector reads as "OAuth needed".
        assert refused.returncode != 0 and '"code":"auth_required"' in refused.stderr


def test_inspector_calls_the_agent_through_a_config_written_by_install(specs: Path, tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    installed = subprocess.run(
        [MCPAGENTS, "install", "claude-desktop", str(specs / "adder.yaml"), "--config-path", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert installed.returncode == 0, installed.stderr
    called = inspector("--config", str(config), "--server", "adder", *CALL_ADDER, home=tmp_path)
    assert called["structuredContent"]["answer"] == "42"


@pytest.mark.anyio
async def test_a_manager_spec_calls_its_child_spec_served_over_stdio(specs: Path) -> None:
    reports: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, message))

    boss = StdioServerParameters(command=MCPAGENTS, args=["serve", str(specs / "boss.yaml")])
    async with Client(boss) as client:
        (tool,) = (await client.list_tools()).tools
        result = await client.call_tool("boss", {"task": "What is 20 + 22?"}, progress_callback=on_progress)
    assert tool.description is not None and "can use tools: adder" in tool.description
    assert result.structured_content is not None
    assert result.structured_content["answer"] == "the adder says 42"
    messages = [message for _, message in reports]
    assert messages[:3] == [
        'step 1: calling adder(task="Add 20 and 22.")',
        "step 1: adder: step 1: calling add(a=20, b=22)",
        "step 1: adder: step 1 done",
    ]
    assert all(a[0] < b[0] for a, b in itertools.pairwise(reports))


@pytest.mark.anyio
async def test_a_spec_served_over_stdio_shows_its_steps_on_stderr(specs: Path) -> None:
    """Hosts keep a stdio server's stderr as its log: the steps are there, unless --quiet."""
    for flags, shown in (([], True), (["--quiet"], False)):
        log = specs / "stderr.log"
        with log.open("w") as errlog:
            served = StdioServerParameters(
                command=MCPAGENTS, args=["serve", str(specs / "adder.yaml"), *flags]
            )
            async with Client(stdio_client(served, errlog=errlog)) as client:
                result = await client.call_tool("adder", {"task": "Add 20 and 22."})
        assert result.structured_content is not None and result.structured_content["answer"] == "42"
        text = log.read_text()
        assert ("Step 1" in text and "add(a=20, b=22)" in text and "Final answer" in text) == shown, text


def test_one_http_process_serves_several_specs_each_under_its_own_path(specs: Path) -> None:
    both = [str(specs / "adder.yaml"), str(specs / "boss.yaml")]
    process = subprocess.Popen(
        [MCPAGENTS, "serve", *both, "--transport", "http", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        urls = [process.stderr.readline().split(" at ")[1].strip() for _ in range(2)]
        assert [url.rsplit("/", 2)[1:] for url in urls] == [["adder", "mcp"], ["boss", "mcp"]]

        async def ask_both() -> list[Any]:
            answers = []
            for url, name in zip(urls, ("adder", "boss"), strict=True):
                async with Client(url) as client:
                    result = await client.call_tool(name, {"task": "What is 20 + 22?"})
                    answers.append(result.structured_content and result.structured_content["answer"])
            return answers

        assert anyio.run(ask_both) == ["42", "the adder says 42"]
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--transport", "http", "--host", "0.0.0.0"], "serving on 0.0.0.0 (not loopback) needs a token"),
        (["{boss}"], "stdio serves one agent, not 2"),
        (["--transport", "carrier-pigeon"], "invalid choice: 'carrier-pigeon'"),
    ],
)
def test_serve_refuses_unsafe_or_impossible_requests(specs: Path, arguments: list[str], message: str) -> None:
    given = [argument.format(boss=specs / "boss.yaml") for argument in arguments]
    done = subprocess.run(
        [MCPAGENTS, "serve", str(specs / "adder.yaml"), *given], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_ctrl_c_stops_a_server_cleanly_and_a_taken_port_is_a_clear_error(specs: Path) -> None:
    command = [MCPAGENTS, "serve", str(specs / "adder.yaml"), "--transport", "http"]
    process = subprocess.Popen([*command, "--port", "0"], stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    port = process.stderr.readline().strip().rsplit(":", 1)[1].removesuffix("/mcp")
    taken = subprocess.run([*command, "--port", port], capture_output=True, text=True, timeout=60)
    assert taken.returncode == 2
    assert f"mcpagents: cannot listen on 127.0.0.1:{port}: Address already in use" in taken.stderr
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    assert process.stderr.read() == "", "no traceback"


@pytest.mark.anyio
async def test_the_progress_of_a_failed_code_step_is_its_exception(tmp_path: Path) -> None:
    (tmp_path / "script.yaml").write_text(
        "per_conversation: true\n"
        "responses:\n"
        '  - "Dividing.\\n```py\\nx = 1 / 0\\n```"\n'
        "  - \"Done.\\n```py\\nfinal_answer('ok')\\n```\"\n"
    )
    (tmp_path / "coder.yaml").write_text("name: coder\ndescription: Codes.\nmodel: scripted:script.yaml\n")
    messages: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message)

    served = StdioServerParameters(command=MCPAGENTS, args=["serve", str(tmp_path / "coder.yaml"), "--quiet"])
    async with Client(served) as client:
        await client.call_tool("coder", {"task": "Divide."}, progress_callback=on_progress)
    assert messages == ["step 1 failed: ZeroDivisionError: division by zero", "step 2 done"]
