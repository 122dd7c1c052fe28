"""Every example runs offline and prints what it promises.

Each runs as a user runs it, in a subprocess. The agents' models are the scripts and recordings in
examples/recordings (`--model scripted:...`, or MCPAGENTS_MODEL where the example has no `--model`);
the MCP servers, the Inspector and the host config are real. Examples that start npm packages with
`npx --no-install` run from tests/peers: npx looks for packages in the node_modules of the current
folder and its parents, not on PATH.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from mcpagents.connections.host_config import load_server_config
from mcpagents.connections.specs import StdioServer
from tests.conftest import PEER_BINARIES, inspector, peer

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"
RECORDINGS = EXAMPLES / "recordings"
PEERS = PEER_BINARIES.parents[1]
HELPER_SCRIPT = f"scripted:{RECORDINGS / 'helper.yaml'}"
SACKS = "We use 3 sacks of flour a week. How many sacks do we need for 12 weeks?"


def example_environment(**settings: str) -> dict[str, str]:
    """This environment without model settings or keys (the default model would be `local`), with the
    virtualenv's and the npm peers' commands on PATH, a wide console, and `settings`."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_API_KEY") and key != "MCPAGENTS_MODEL"
    }
    path = os.pathsep.join([str(Path(sys.executable).parent), str(PEER_BINARIES), environment["PATH"]])
    quiet_npm = {"npm_config_update_notifier": "false"}
    return {**environment, "PATH": path, "COLUMNS": "200", **quiet_npm, **settings}


def run(
    *command: str | Path, cwd: Path = ROOT, environment: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environment or example_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_quickstart_tools() -> None:
    done = run(sys.executable, EXAMPLES / "quickstart_tools.py")
    assert "get_current_time(timezone: string)  [server 'time']" in done.stdout
    assert "word_count(text: string)  [server 'local']" in done.stdout
    assert "in Tokyo." in done.stdout and "+09:00" in done.stdout
    assert done.stdout.rstrip().endswith("Words: 7")


def test_quickstart_agent_answers_with_the_calculator_offline() -> None:
    """The README's main job: the embedded model calls the calculator server and answers."""
    done = run(sys.executable, EXAMPLES / "quickstart.py", "What is 12 plus 30?", timeout=300)
    assert "add" in done.stdout  # the console shows the tool call
    assert done.stdout.rstrip().endswith("What is 12 plus 30? -> 42"), done.stdout[-2000:]


def test_files_and_sqlite_answers_from_the_notes_and_the_database() -> None:
    done = run(
        sys.executable,
        "examples/files_and_sqlite.py",
        "--model",
        "scripted:examples/recordings/files_and_sqlite.yaml",
    )
    # What the filesystem server read, and the answer computed from what the sqlite server returned.
    assert (
        "- Ada Lovelace, our biggest wholesale customer, asked for a discount on large orders." in done.stdout
    )
    assert "{'tables': [{'name': 'customers', 'type': 'table'}, {'name': 'orders', 'type': 'table'}]}" in (
        done.stdout
    )
    assert done.stdout.rstrip().endswith(
        "Which customer asked for a discount, and how much have they spent? -> "
        "Ada Lovelace asked for a discount; she has spent 361.50 euros in 4 orders."
    ), done.stdout[-2000:]


def test_reference_servers_add_and_remember() -> None:
    peer("mcp-server-everything")
    peer("mcp-server-memory")
    model = f"scripted:{RECORDINGS / 'reference_servers.yaml'}"
    done = run(sys.executable, EXAMPLES / "reference_servers.py", "--model", model, cwd=PEERS)
    assert "get-sum: The sum of 17 and 25 is 42." in done.stdout  # server-everything's own words
    assert "-> 17 + 25 = 42, now remembered as Ada's lucky number." in done.stdout
    # server-memory's graph, read back after the run: what the agent asked it to remember.
    assert done.stdout.rstrip().endswith("The knowledge graph now holds:\n  Ada (person): lucky number: 42")


def test_serve_over_http_answers_the_inspector(tmp_path: Path) -> None:
    peer("mcp-inspector")
    port = free_port()
    environment = example_environment(
        PORT=str(port), MCPAGENTS_MODEL=HELPER_SCRIPT, HOME=str(tmp_path), MCP_INSPECTOR_SECRET_STORE="memory"
    )
    done = run("bash", EXAMPLES / "serve_over_http.sh", cwd=PEERS, environment=environment)
    assert f"mcpagents: serving helper at http://127.0.0.1:{port}/mcp" in done.stderr
    result = json.loads(done.stdout)
    assert result["isError"] is False
    assert result["structuredContent"]["answer"] == "36 sacks (3 × 12)."
    assert result["structuredContent"]["steps"] == 2


def test_serve_over_http_calls_with_mcpagents_where_the_inspector_is_not_installed(tmp_path: Path) -> None:
    environment = example_environment(
        PORT=str(free_port()), MCPAGENTS_MODEL=HELPER_SCRIPT, HOME=str(tmp_path)
    )
    done = run("bash", EXAMPLES / "serve_over_http.sh", cwd=tmp_path, environment=environment)
    assert "the MCP Inspector is not installed here: calling the agent with mcpagents call" in done.stderr
    assert json.loads(done.stdout)["answer"] == "36 sacks (3 × 12)."


def test_serve_over_http_says_so_when_the_server_cannot_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            ["bash", str(EXAMPLES / "serve_over_http.sh")],
            cwd=ROOT,
            env=example_environment(PORT=str(port), MCPAGENTS_MODEL=HELPER_SCRIPT, HOME=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1 and done.stdout == ""
    assert "Address already in use" in done.stderr
    assert done.stderr.rstrip().endswith("mcpagents serve did not start")


def test_manager_asks_its_two_child_agents_over_stdio() -> None:
    environment = example_environment(
        MCPAGENTS_HELPER_MODEL="scripted:examples/recordings/helper.yaml",
        MCPAGENTS_LIBRARIAN_MODEL="scripted:examples/recordings/librarian.yaml",
    )
    done = run(
        Path(sys.executable).with_name("mcpagents"),
        "run",
        "examples/agents/manager.yaml",
        "Who supplies our flour, and how many sacks do we need for 12 weeks?",
        "--model",
        "scripted:examples/recordings/manager.yaml",
        environment=environment,
    )
    # The librarian's answer quotes examples/data/notes/flour.md, read by its filesystem server.
    assert done.stdout == (
        "flour.md says: Our flour comes from Millbrook Mills: order by Thursday for a Monday delivery."
        " We use 3 sacks a week (25 kg each), a little more before the holidays.\n"
        "For 12 weeks we need 36 sacks (3 × 12).\n"
    )
    assert '▸ librarian(task="Who supplies our flour, and how many sacks do we use a week?")' in done.stderr
    assert f'▸ helper(task="{SACKS}")' in done.stderr


def test_install_into_claude_desktop_dry_run_writes_nothing(tmp_path: Path) -> None:
    done = run(
        "bash",
        EXAMPLES / "install_into_claude_desktop.sh",
        "--dry-run",
        environment=example_environment(HOME=str(tmp_path)),
    )
    config = tmp_path / ".config" / "Claude" / "claude_desktop_config.json"
    assert done.stdout.startswith(f"Would add 'helper' to {config} (Claude Desktop):")
    assert done.stdout.rstrip().endswith("Dry run: nothing was written.")
    assert not config.exists()


def test_install_into_claude_desktop_writes_an_entry_the_inspector_can_call(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    environment = example_environment(HOME=str(tmp_path), MCPAGENTS_MODEL=HELPER_SCRIPT)
    run("bash", EXAMPLES / "install_into_claude_desktop.sh", "--config-path", config, environment=environment)
    (name, server), *others = load_server_config(config).items()
    assert name == "helper" and not others
    assert isinstance(server, StdioServer)
    assert Path(server.command).resolve() == Path(sys.executable).resolve()
    assert server.args == ("-m", "mcpagents", "serve", str(EXAMPLES / "agents" / "helper.yaml"))
    assert server.env == {"MCPAGENTS_MODEL": HELPER_SCRIPT}  # copied from the shell: the host has none
    call = ["--method", "tools/call", "--tool-name", "helper", "--tool-arg", f"task={SACKS}"]
    called = inspector("--config", str(config), "--server", "helper", *call, home=tmp_path)
    assert called["structuredContent"]["answer"] == "36 sacks (3 × 12)."


def test_record_and_replay_gives_the_recorded_answer(tmp_path: Path) -> None:
    recording = tmp_path / "run.jsonl"
    done = run(
        sys.executable,
        "examples/record_and_replay.py",
        "--model",
        "scripted:examples/recordings/calculator.jsonl",
        "--recording",
        recording,
    )
    assert done.stdout.splitlines() == [
        f"recorded: What is 12 plus 30? -> 42  (in {recording})",
        "replayed: What is 12 plus 30? -> 42  (2 recorded responses, no model called)",
    ]

    def responses(path: Path) -> list[object]:
        return [json.loads(line)["response"] for line in path.read_text().splitlines()]

    assert responses(recording) == responses(RECORDINGS / "calculator.jsonl")


def test_the_replay_test_pattern_passes() -> None:
    done = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/test_replay.py")
    assert "1 passed" in done.stdout
