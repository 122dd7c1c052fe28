"""`mcpagents run` and `mcpagents tools SPEC`, run as a user runs them: the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import CALC_SERVER

MCPAGENTS = str(Path(sys.executable).with_name("mcpagents"))
CALC_ENTRY = {"command": sys.executable, "args": [str(CALC_SERVER)]}


def run(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MCPAGENTS, *arguments], capture_output=True, text=True, timeout=120, cwd=cwd)


def write(path: Path, content: Any) -> Path:
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def adder(folder: Path, *responses: Any, **keys: Any) -> Path:
    """A tool-calling spec over the calc server, whose scripted model answers `responses`."""
    write(folder / "script.yaml", list(responses))
    spec = {
        "name": "adder",
        "description": "Adds numbers.",
        "type": "tool_calling",
        "model": "scripted:script.yaml",
        "mcpServers": {"calc": CALC_ENTRY},
        "include": ["add"],
        **keys,
    }
    return write(folder / "agent.yaml", spec)


def test_run_prints_the_answer_on_stdout_and_the_steps_on_stderr(tmp_path: Path) -> None:
    spec = adder(tmp_path, call("add", a=12, b=30), call("final_answer", answer="42"))
    ran = run("run", str(spec), "What is 12 + 30?", cwd=tmp_path.parent)
    assert (ran.returncode, ran.stdout) == (0, "42\n"), ran.stderr
    assert "New run: adder" in ran.stderr and "add(a=12, b=30)" in ran.stderr
    assert "State: success" in ran.stderr


def test_run_verbose_shows_the_model_s_raw_output(tmp_path: Path) -> None:
    thought = {"content": "I shall add them with the calculator.", **call("add", a=12, b=30)}
    spec = adder(tmp_path, thought, call("final_answer", answer="42"))
    plain, verbose = (run("run", str(spec), "What is 12 + 30?", *flags) for flags in ([], ["-v"]))
    assert (plain.stdout, verbose.stdout) == ("42\n", "42\n"), verbose.stderr
    assert "I shall add them" not in plain.stderr and "I shall add them" in verbose.stderr


def test_run_json_prints_the_run_result(tmp_path: Path) -> None:
    spec = adder(tmp_path, call("add", a=1, b=2), call("final_answer", answer="3"))
    ran = run("run", str(spec), "1 + 2?", "--json", "--quiet")
    assert (ran.returncode, ran.stderr) == (0, "")
    result = json.loads(ran.stdout)
    assert (result["state"], result["output"], result["error"]) == ("success", "3", None)
    assert result["steps"][0]["task"] == "1 + 2?"
    assert [call["result"] for call in result["steps"][1]["tool_calls"]] == [3]
    assert result["token_usage"]["input_tokens"] > 0


def test_model_overrides_the_spec_s_model(tmp_path: Path) -> None:
    spec = adder(tmp_path, call("final_answer", answer="from the spec's model"))
    other = write(tmp_path / "other.yaml", [call("final_answer", answer="from --model")])
    ran = run("run", str(spec), "Who answers?", "--model", f"scripted:{other}", "--quiet")
    assert (ran.returncode, ran.stdout) == (0, "from --model\n"), ran.stderr


def test_a_structured_answer_of_a_code_agent_is_printed_as_json(tmp_path: Path) -> None:
    write(tmp_path / "code.yaml", ["```python\nfinal_answer(divide(a=7, b=2))\n```"])
    spec = write(
        tmp_path / "divider.yml",
        {
            "name": "divider",
            "description": "Divides.",
            "model": {"script": "code.yaml"},
            "mcpServers": {"calc": CALC_ENTRY},
        },
    )
    ran = run("run", str(spec), "7 / 2?", "--quiet")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {"quotient": 3, "remainder": 1}


def test_a_run_out_of_steps_exits_1_with_the_best_answer(tmp_path: Path) -> None:
    spec = adder(tmp_path, call("add", a=1), call("add", a=2), "probably 4", max_steps=5)
    ran = run("run", str(spec), "Keep adding.", "--max-steps", "2", "--quiet")
    assert (ran.returncode, ran.stdout) == (1, "probably 4\n")
    assert ran.stderr == (
        "mcpagents: the agent ran out of steps (2) before a final answer; the output is its best answer"
        " from what it learned\n"
    )


def test_a_failed_run_exits_1_and_says_why(tmp_path: Path) -> None:
    spec = adder(tmp_path, call("add", a=1))
    ran = run("run", str(spec), "Add.", "--quiet")
    assert (ran.returncode, ran.stdout) == (1, "")
    assert ran.stderr.startswith("mcpagents: the run failed: ScriptedModel ")
    assert "has no response left" in ran.stderr


def test_a_bad_spec_exits_2_naming_the_file_and_the_key(tmp_path: Path) -> None:
    spec = adder(tmp_path, "unused", max_steps="ten")
    ran = run("run", str(spec), "Add.")
    assert (ran.returncode, ran.stdout) == (2, "")
    assert ran.stderr == f"mcpagents: {spec}: max_steps: expected a positive integer, got 'ten'\n"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    spec = adder(tmp_path, "unused")
    missing = run("run", "absent.yaml", "Add.", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (
        2,
        "mcpagents: absent.yaml: no such agent spec file (.yaml or .yml); quote a task of several words\n",
    )
    no_task = run("run", "agent.yaml", cwd=tmp_path)
    assert (no_task.returncode, no_task.stderr) == (
        2,
        'mcpagents: no task given: mcpagents run agent.yaml "TASK"\n',
    )
    mixed = run("run", str(spec), "Add.", "--type", "code", "--include", "add", "--", "python", "x.py")
    assert mixed.returncode == 2
    assert mixed.stderr == (
        f"mcpagents: {spec} brings its own type, mcpServers and filters: drop --include, a command after"
        " `--`, --type\n"
    )
    bad_steps = run("run", "Add.", "--max-steps", "0")
    assert (
        bad_steps.returncode == 2 and "--max-steps: expected a positive integer, got '0'" in bad_steps.stderr
    )


def test_an_unreachable_server_exits_3(tmp_path: Path) -> None:
    spec = adder(tmp_path, "unused", mcpServers={"gone": {"command": "no-such-mcp-server-command"}})
    ran = run("run", str(spec), "Add.", "--quiet")
    assert ran.returncode == 3
    assert "server 'gone' could not start" in ran.stderr


def test_run_without_a_spec_uses_the_command_after_the_separator(tmp_path: Path) -> None:
    script = write(tmp_path / "script.yaml", [call("add", a=40), call("final_answer", answer="42")])
    ran = run(
        "run",
        "--type",
        "tool_calling",
        "--model",
        f"scripted:{script}",
        "What is 40 + 2?",
        "--",
        sys.executable,
        str(CALC_SERVER),
    )
    assert (ran.returncode, ran.stdout) == (0, "42\n"), ran.stderr
    assert "add(a=40)" in ran.stderr and "add: 42" in ran.stderr, "the server's tool answered"


def test_run_without_any_server_runs_an_agent_without_tools(tmp_path: Path) -> None:
    write(tmp_path / "script.yaml", ["```python\nfinal_answer(6 * 7)\n```"])
    ran = run("run", "--model", "scripted:script.yaml", "Six times seven?", "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["output"] == 42
    assert "tools: none" in ran.stderr


def test_tools_lists_the_tools_of_a_spec(tmp_path: Path) -> None:
    spec = adder(tmp_path, "unused", include=["d*", "add"], exclude=["die"])
    listing = run("tools", str(spec))
    assert listing.returncode == 0, listing.stderr
    assert [line.strip() for line in listing.stdout.splitlines()[1:]] == [
        "add(a: integer, b?: integer)",
        "Add two integers.",
        "divide(a: integer, b: integer)",
        "Integer division with remainder.",
    ]
    mixed = run("tools", str(spec), "--include", "add")
    assert (mixed.returncode, mixed.stderr) == (
        2,
        f"mcpagents: {spec} brings its own mcpServers and filters: drop --include\n",
    )
    not_a_spec = run("tools", "npx")
    assert not_a_spec.returncode == 2
    assert "npx: expected an agent spec file (.yaml); put a server command after `--`" in not_a_spec.stderr


def test_run_asks_the_person_at_the_terminal_or_declines_without_one(tmp_path: Path) -> None:
    spec = adder(
        tmp_path, call("ask_user", question="Which colour?"), call("final_answer", answer="ok"), ask_user=True
    )
    asked = subprocess.run(
        [MCPAGENTS, "run", str(spec), "Ask me.", "--json", "--input"],
        input="\nblue\n",  # Enter to answer the form, then its one field
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert asked.returncode == 0, asked.stderr
    (answered,) = json.loads(asked.stdout)["steps"][1]["tool_calls"]
    assert answered["result"] == "blue"
    assert "Which colour?" in asked.stderr and "asked: Which colour? → accept" in asked.stderr
    declined = run("run", str(spec), "Ask me.", "--json", "--no-input")
    (unanswered,) = json.loads(declined.stdout)["steps"][1]["tool_calls"]
    assert unanswered["result"].startswith("The user did not answer (decline)")
