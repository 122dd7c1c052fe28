"""Batch runs (`mcpagents batch`, `run_batch`): real MCP servers (the calc test server), scripted models,
the installed console script; Ray runs one local session for the whole module."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mcpagents import (
    AgentError,
    ChatMessage,
    MCPServerError,
    ModelError,
    ScriptedModel,
    StdioServer,
    ToolCallingAgent,
    ToolCollection,
    ToolDefinition,
)
from mcpagents.agents.base import MultiStepAgent
from mcpagents.batch import BatchTask, answer_matches, normalized_matches, read_tasks, run_batch
from mcpagents.batch.grading import contains_matches, grader_of, regex_matches
from mcpagents.errors import ConfigError
from tests.conftest import CALC_SERVER, calc

MCPAGENTS = str(Path(sys.executable).with_name("mcpagents"))
CALC_ENTRY = {"command": sys.executable, "args": [str(CALC_SERVER)]}


# -- helpers -------------------------------------------------------------------------------------------


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def write_yaml(path: Path, content: Any) -> Path:
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def adder_spec(folder: Path, *responses: Any, delay: float = 0.0) -> Path:
    """A tool-calling spec over the calc server whose model answers every task with `responses`
    (by default: add(20, 22), then the final answer "42")."""
    script = {
        "per_conversation": True,
        "delay": delay,
        "responses": list(responses) or [call("add", a=20, b=22), call("final_answer", answer="42")],
    }
    write_yaml(folder / "script.yaml", script)
    spec = {
        "name": "adder",
        "description": "Adds numbers.",
        "type": "tool_calling",
        "model": "scripted:script.yaml",
        # (an `env`, which Ray workers get pickled with the spec, as they get API keys)
        "mcpServers": {"calc": {**CALC_ENTRY, "env": {"BATCH_TEST": "1"}}},
        "include": ["add", "die"],
    }
    return write_yaml(folder / "agent.yaml", spec)


def write_tasks(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def results(path: Path) -> list[dict[str, Any]]:
    """The results file, each line parsed (which fails on a torn or invalid line)."""
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "the results end with a whole line"
    return [json.loads(line) for line in text.splitlines()]


def by_id(records: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    ids = [record["id"] for record in records]
    assert len(ids) == len(set(ids)), f"an id has several lines: {sorted(ids)}"
    return {record["id"]: record for record in records}


def cli(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MCPAGENTS, *arguments], capture_output=True, text=True, timeout=180, cwd=cwd)


def adding_script(messages: list[ChatMessage], tools: list[ToolDefinition] | None) -> dict[str, Any]:
    """A model that adds the two numbers of its task ("add 3 and 4") with the calc server's `add`
    and answers what the server returned; "crash" makes it raise, "give up" fail as a model does,
    "loop" add forever, "die" kill the server."""
    task = next(message.text for message in messages if message.role == "user")
    if "crash" in task:
        raise RuntimeError(f"cannot do {task!r}")
    if "give up" in task:
        raise ModelError("the provider is down", model="adding")
    if sum(message.role == "assistant" for message in messages) == 0 or "loop" in task:
        if "die" in task:
            return call("die", code=7)
        a, b = (int(number) for number in re.findall(r"-?\d+", task)[:2])
        return call("add", a=a, b=b)
    return call("final_answer", answer=messages[-1].text)


def adding_agent() -> MultiStepAgent:
    """A factory (module level, so that Ray workers import it) of an agent over its own calc server."""
    return ToolCallingAgent(
        ToolCollection.from_mcp(calc()), ScriptedModel(adding_script), max_steps=3, verbosity_level=0
    )


def sums(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"id": f"t{n}", "task": f"add {n} and {1000 * n}", "expected": str(1001 * n)}
        for n in range(start, start + count)
    ]


def interrupt_after(command: list[str], lines: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `command` (a batch), send it SIGINT once it reported `lines` finished tasks on stderr."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT, and so would its children: restore the default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr is not None
    seen: list[str] = []
    while sum(line.startswith("[") for line in seen) < lines:
        line = process.stderr.readline()
        assert line, f"the batch ended before {lines} tasks: {''.join(seen)}"
        seen.append(line)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(command, process.returncode, stdout, "".join(seen) + stderr)


# -- tasks and grading ---------------------------------------------------------------------------------


def test_task_lines_are_strings_or_objects_and_ids_default_to_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text('"first"\n\n{"task": "second", "id": "b", "expected": 2}\n{"task": "third"}\n')
    assert read_tasks(path) == [
        BatchTask("first", 1),
        BatchTask("second", "b", 2, has_expected=True),
        BatchTask("third", 4),
    ]
    assert read_tasks(["x", {"task": "y", "expected": None}]) == [
        BatchTask("x", 1),
        BatchTask("y", 2, None, has_expected=True),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('"ok"\n{"task": \n', ":2: not valid JSON (Expecting value at column 10)"),
        (
            '"ok"\n42\n',
            ':2: expected a JSON string (the task) or an object {"task": ..., "id"?: ..., '
            '"expected"?: ...}, got 42',
        ),
        ('{"id": 1}\n', ':1: "task": expected a non-empty string, got null'),
        ('{"task": "a", "answer": 1}\n', ":1: unknown key 'answer'; the keys are: task, id, expected"),
        ('{"task": "a", "id": true}\n', ':1: "id": expected a string or an integer, got true'),
        ('"a"\n{"task": "b", "id": 1}\n', ":2: id 1 is already the id of {path}:1: ids must be unique"),
        ("\n\n", ": no tasks (expected one JSON line per task)"),
    ],
)
def test_a_bad_task_line_is_an_error_naming_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text(content)
    with pytest.raises(ConfigError) as raised:
        read_tasks(path)
    assert str(raised.value) == f"{path}{message.replace('{path}', str(path))}"


def test_answers_match_as_text_or_as_json_values() -> None:
    assert answer_matches(" Paris\n", "paris")
    assert answer_matches(42, "42") and answer_matches({"a": 1}, '{"a": 1}')
    assert not answer_matches("Paris, France", "paris")
    assert answer_matches("42", 42) and answer_matches(42.0, 42) and answer_matches(" [1, 2] ", [1, 2])
    assert answer_matches({"b": [True, None]}, {"b": [True, None]})
    assert not answer_matches(1, True) and not answer_matches("true", 1) and not answer_matches("x", 1)
    assert not answer_matches({"city": "paris"}, {"city": "Paris"}), "strings inside values are exact"
    assert answer_matches(None, "null") and not answer_matches(None, "None")


def test_normalized_grading_forgives_padding_and_compares_numbers() -> None:
    assert normalized_matches("36 (3 × 12)", "36") and not answer_matches("36 (3 × 12)", "36")
    assert normalized_matches("The answer is 36.", 36) and normalized_matches("36.0", "36")
    assert normalized_matches("1,024 bytes", 1024) and not normalized_matches("37", "36")
    assert normalized_matches(" Paris. ", "paris") and normalized_matches("New  York!", "new york")
    assert not normalized_matches("Paris, France", "paris"), "more words are another answer"
    assert normalized_matches({"a": [1]}, {"a": [1]}) and not normalized_matches(True, 1)
    assert contains_matches("3 × 12 = 36", "36") and not contains_matches("360", "36")
    assert regex_matches("Answer: 42", r"\b42\b") and not regex_matches("420", r"\b42\b")
    with pytest.raises(ConfigError, match="grade: expected one of exact, normalized, contains, regex"):
        grader_of("fuzzy")  # type: ignore[arg-type]


def test_a_batch_grades_by_the_rule_or_function_it_is_given(tmp_path: Path) -> None:
    tasks = [{**task, "expected": f"{task['expected']}."} for task in sums(3)]  # "1001." for output "1001"
    for grade, correct in (("normalized", 3), ("exact", 0), (lambda answer, expected: answer == "0", 1)):
        out = tmp_path / f"results-{correct}.jsonl"
        summary = run_batch(adding_agent, tasks, out, grade=grade)  # type: ignore[arg-type]
        assert summary.correct == correct, grade
        assert [record["correct"] for record in results(out)].count(True) == correct


# -- the local engine --------------------------------------------------------------------------------


def test_local_batch_answers_every_task_once_each_in_its_own_conversation(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    tasks = sums(30)
    tasks[3]["expected"] = "wrong"
    summary = run_batch(adding_agent, tasks, out, concurrency=6)
    records = by_id(results(out))
    assert sorted(records) == sorted(task["id"] for task in tasks)
    for task in tasks:
        record = records[task["id"]]
        assert (record["task"], record["state"], record["failure"]) == (task["task"], "success", None)
        n = int(task["id"][1:])
        assert record["output"] == str(1001 * n), "each run saw only its own task and tool results"
        assert [step["kind"] for step in record["steps"]] == ["task", "action", "action", "final_answer"]
        assert record["steps"][1]["tool_calls"][0]["result"] == 1001 * n
        assert record["correct"] is (task["id"] != "t3")
        assert record["timing"]["end"] >= record["timing"]["start"]
    assert (summary.total, summary.ran, summary.skipped, summary.succeeded) == (30, 30, 0, 30)
    assert (summary.graded, summary.correct, summary.accuracy) == (30, 29, 29 / 30)
    assert summary.input_tokens == sum(r["token_usage"]["input_tokens"] for r in records.values()) > 0
    assert summary.output_tokens == sum(r["token_usage"]["output_tokens"] for r in records.values()) > 0
    assert summary.failures == {} and summary.success_rate == 1.0


def test_local_batch_runs_exactly_concurrency_tasks_at_once(tmp_path: Path) -> None:
    """The calc server's `rendezvous(4)` answers only when 4 calls are in flight together: every task
    succeeds only if 4 tasks really run at once; the model counts that no more ever do."""
    active, most = 0, 0

    def script(messages: list[ChatMessage], tools: list[ToolDefinition] | None) -> dict[str, Any]:
        nonlocal active, most
        if sum(message.role == "assistant" for message in messages) == 0:
            active += 1
            most = max(most, active)
            return call("rendezvous", parties=4)
        active -= 1
        return call("final_answer", answer=messages[-1].text)

    def factory() -> MultiStepAgent:
        return ToolCallingAgent(ToolCollection.from_mcp(calc()), ScriptedModel(script), verbosity_level=0)

    summary = run_batch(factory, [f"meet {n}" for n in range(12)], tmp_path / "out.jsonl", concurrency=4)
    records = results(tmp_path / "out.jsonl")
    assert [record["output"] for record in records] == ["met"] * 12
    assert (summary.succeeded, most) == (12, 4)


def test_a_crashed_task_is_recorded_with_its_error_and_the_batch_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    tasks = [*sums(3), {"id": "boom", "task": "crash on 1 and 2", "expected": "3"}, *sums(3, start=3)]
    summary = run_batch(adding_agent, tasks, out, concurrency=2)
    records = by_id(results(out))
    crashed = records["boom"]
    assert (crashed["state"], crashed["failure"], crashed["output"], crashed["correct"]) == (
        "error",
        "crash:RuntimeError",
        None,
        False,
    )
    assert crashed["error"] == "RuntimeError: cannot do 'crash on 1 and 2'"
    assert [step["kind"] for step in crashed["steps"]] == ["task"], "the steps it took are kept"
    assert all(records[task["id"]]["state"] == "success" for task in tasks if task["id"] != "boom")
    assert (summary.finished, summary.succeeded, summary.failures) == (7, 6, {"crash:RuntimeError": 1})
    assert summary.lines()[:2] == [
        "7 of 7 tasks done: 6 succeeded (85.7%), 1 failed",
        "failures: crash:RuntimeError 1",
    ]


def test_failures_are_counted_by_reason(tmp_path: Path) -> None:
    tasks = ["add 1 and 2", "give up on 1 and 2", "loop on 1 and 2", "crash 1 2", "give up 3 4"]
    summary = run_batch(adding_agent, tasks, tmp_path / "out.jsonl")
    records = by_id(results(tmp_path / "out.jsonl"))
    assert records[2]["error"] == "the provider is down" and records[2]["state"] == "error"
    assert records[3]["state"] == "max_steps_reached"
    assert summary.failures == {"run_error": 2, "max_steps_reached": 1, "crash:RuntimeError": 1}
    assert summary.accuracy is None and "accuracy" not in "\n".join(summary.lines())


def test_a_server_that_dies_fails_the_task_that_killed_it_and_the_next_tasks_restart_it(
    tmp_path: Path,
) -> None:
    tasks = ["add 1 and 2", "die after 1 and 2", "add 3 and 4", "add 5 and 6"]
    run_batch(adding_agent, tasks, tmp_path / "out.jsonl", concurrency=1)
    records = by_id(results(tmp_path / "out.jsonl"))
    assert [records[n]["output"] for n in (1, 3, 4)] == ["3", "7", "11"]
    died = records[2]["steps"][1]["tool_calls"][0]
    assert died["name"] == "die" and "exited with code 7" in died["error"], died


def test_resume_runs_only_the_missing_tasks_and_drops_a_torn_last_line(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    tasks = sums(6)
    run_batch(adding_agent, tasks[:3], out)
    whole = out.read_bytes()
    out.write_bytes(whole + b'{"id": "t3", "task": "add 3 and 3000", "outp')  # a write cut short
    summary = run_batch(adding_agent, tasks, out, resume=True)
    records = results(out)
    assert out.read_bytes().startswith(whole), "the lines already there are kept as they were"
    assert sorted(by_id(records)) == [task["id"] for task in tasks]
    assert sorted(record["id"] for record in records[:3]) == ["t0", "t1", "t2"]
    assert (summary.total, summary.skipped, summary.ran, summary.succeeded, summary.correct) == (
        6,
        3,
        3,
        6,
        6,
    )
    again = run_batch(adding_agent, tasks, out, resume=True)
    assert (again.skipped, again.ran, len(results(out))) == (6, 0, 6)


def test_an_existing_results_file_is_kept_unless_resuming(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": 1}\n')
    with pytest.raises(ConfigError, match="already holds results: pass --resume"):
        run_batch(adding_agent, ["add 1 2"], out)
    assert out.read_text() == '{"id": 1}\n'
    out.write_text('{"id": 1}\nnot json\n')
    with pytest.raises(ConfigError, match=r"out.jsonl:2: not a results line \(not valid JSON\)"):
        run_batch(adding_agent, ["add 1 2"], out, resume=True)


def test_an_agent_given_directly_runs_on_the_local_engine_and_is_left_open(tmp_path: Path) -> None:
    with adding_agent() as agent:
        summary = run_batch(agent, ["add 2 and 2", "add 3 and 3"], tmp_path / "out.jsonl")
        assert agent.toolbox.collections[0].connected, "the caller's agent stays the caller's"
        assert agent.run("add 4 and 4") == "8"
    assert summary.succeeded == 2
    with pytest.raises(ConfigError, match="the ray engine builds one agent in each worker"):
        run_batch(agent, ["x"], tmp_path / "other.jsonl", engine="ray")


# -- the command ---------------------------------------------------------------------------------------


def test_batch_command_writes_one_line_per_task_and_a_summary(tmp_path: Path) -> None:
    spec = adder_spec(tmp_path)
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["What is 20 + 22?", {"task": "And?", "expected": 42}])
    done = cli("batch", str(spec), str(tasks), "--out", "out.jsonl", "--concurrency", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    records = by_id(results(tmp_path / "out.jsonl"))
    assert {n: (r["output"], r["state"]) for n, r in records.items()} == {
        1: ("42", "success"),
        2: ("42", "success"),
    }
    assert records[2]["correct"] is True and "correct" not in records[1]
    lines = done.stdout.splitlines()
    assert lines[:2] == [
        "2 of 2 tasks done: 2 succeeded (100.0%), 0 failed",
        "accuracy: 1 of 1 correct (100.0%) among the tasks with an expected answer",
    ]
    assert re.fullmatch(r"tokens: \d+ input, \d+ output", lines[2]) and lines[-1] == "results: out.jsonl"
    progress = done.stderr.splitlines()
    assert progress[0] == "mcpagents: 2 tasks; running 2"
    counted = sorted(line.split(":")[0].split(" id ") for line in progress[1:])  # in the order they finished
    assert [count for count, _ in counted] == ["[1/2]", "[2/2]"] and {n for _, n in counted} == {"1", "2"}


def test_batch_command_exits_0_when_runs_fail_and_reports_them(tmp_path: Path) -> None:
    spec = adder_spec(tmp_path, call("add", a=1, b=2))  # no final answer: the script runs out
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["one", "two"])
    done = cli("batch", str(spec), str(tasks), "--out", str(tmp_path / "out.jsonl"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        "2 of 2 tasks done: 0 succeeded (0.0%), 2 failed",
        "failures: run_error 2",
    ]
    assert "(run_error: ScriptedModel " in done.stderr
    assert all(record["failure"] == "run_error" for record in results(tmp_path / "out.jsonl"))


def test_batch_command_usage_errors_exit_2(tmp_path: Path) -> None:
    spec = adder_spec(tmp_path)
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["fine"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('"fine"\n{"task": 3}\n')
    bad_line = cli("batch", str(spec), str(bad), "--out", str(tmp_path / "out.jsonl"))
    assert (bad_line.returncode, bad_line.stderr) == (
        2,
        f'mcpagents: {bad}:2: "task": expected a non-empty string, got 3\n',
    )
    assert not (tmp_path / "out.jsonl").exists(), "nothing is written before the tasks are checked"
    (tmp_path / "out.jsonl").write_text('{"id": 1}\n')
    exists = cli("batch", str(spec), str(tasks), "--out", str(tmp_path / "out.jsonl"))
    assert exists.returncode == 2 and "already holds results: pass --resume" in exists.stderr
    address = cli("batch", str(spec), str(tasks), "--out", "x.jsonl", "--address", "auto", cwd=tmp_path)
    assert (address.returncode, address.stderr) == (2, "mcpagents: --address is an option of --engine ray\n")
    nobody = cli(
        *("batch", str(spec), str(tasks), "--out", "y.jsonl", "--engine", "ray", "--address", "127.0.0.1:1"),
        cwd=tmp_path,
    )
    assert nobody.returncode == 2
    assert "cannot join the Ray cluster at 127.0.0.1:1: Connection refused" in nobody.stderr
    no_out = cli("batch", str(spec), str(tasks))
    assert no_out.returncode == 2 and "the following arguments are required: --out" in no_out.stderr
    zero = cli("batch", str(spec), str(tasks), "--out", "x.jsonl", "--concurrency", "0", cwd=tmp_path)
    assert zero.returncode == 2 and "--concurrency: expected a positive integer, got '0'" in zero.stderr
    missing = cli("batch", "absent.yaml", str(tasks), "--out", "x.jsonl", cwd=tmp_path)
    assert missing.returncode == 2 and "absent.yaml: cannot read the agent spec" in missing.stderr


def test_batch_command_exits_3_when_the_servers_cannot_start(tmp_path: Path) -> None:
    spec = adder_spec(tmp_path)
    data = yaml.safe_load(spec.read_text())
    data["mcpServers"] = {"gone": {"command": "no-such-mcp-server-command"}}
    write_yaml(spec, data)
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["one"])
    done = cli("batch", str(spec), str(tasks), "--out", str(tmp_path / "out.jsonl"))
    assert done.returncode == 3 and "server 'gone' could not start" in done.stderr
    assert results(tmp_path / "out.jsonl") == []


def test_an_interrupted_batch_leaves_whole_lines_and_resume_runs_the_rest(tmp_path: Path) -> None:
    spec = adder_spec(tmp_path, delay=0.1)
    tasks = write_tasks(tmp_path / "tasks.jsonl", [f"task {n}" for n in range(40)])
    command = [MCPAGENTS, "batch", str(spec), str(tasks), "--out", "out.jsonl", "--concurrency", "4"]
    stopped = interrupt_after(command, 5, tmp_path)
    assert stopped.returncode == 130, stopped.stderr
    written = by_id(results(tmp_path / "out.jsonl"))
    assert 5 <= len(written) < 40
    assert stopped.stderr.endswith(
        f"mcpagents: interrupted: {len(written)} of 40 tasks have their line in out.jsonl; run the same"
        f" command with --resume to run the other {40 - len(written)}\n"
    )
    with (tmp_path / "out.jsonl").open("a") as out:
        out.write('{"id": 40, "task": "task 39", "output": "4')  # as a crash of the machine leaves it
    resumed = cli(*command[1:], "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.splitlines()[:2] == [
        "mcpagents: dropped the torn last line of out.jsonl (42 bytes of an interrupted write); its task"
        " runs again",
        f"mcpagents: 40 tasks, {len(written)} already in out.jsonl; running {40 - len(written)}",
    ]
    records = by_id(results(tmp_path / "out.jsonl"))
    assert sorted(records) == list(range(1, 41))
    assert all(record["output"] == "42" for record in records.values())
    assert all(records[n] == written[n] for n in written), "the first run's lines are kept as they were"


def test_importing_the_batch_command_does_not_import_ray() -> None:
    code = "import sys, mcpagents.cli, mcpagents.batch; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout == "False\n", done.stderr


# -- the ray engine ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One local Ray session for the module (Ray starts in seconds here, not milliseconds); the CLI
    runs join it with --address."""
    from mcpagents.batch.ray_engine import connect, import_ray

    ray = import_ray()
    with pytest.MonkeyPatch.context() as patch:  # the workers inherit the environment Ray starts with
        patch.setenv("MCPAGENTS_LOG_DIR", str(tmp_path_factory.mktemp("ray-server-logs")))
        # The workers import this module for its agent factories, from wherever pytest was started.
        root = str(Path(__file__).parent.parent)
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        assert connect(ray, None), "Ray was not running in the test process before"
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


def test_ray_batch_answers_200_tasks_exactly_once(tmp_path: Path, ray_address: str) -> None:
    out = tmp_path / "out.jsonl"
    tasks = sums(200)
    summary = run_batch(adding_agent, tasks, out, engine="ray", concurrency=16)
    records = by_id(results(out))
    assert sorted(records) == sorted(task["id"] for task in tasks)
    assert all(record["output"] == record["expected"] and record["correct"] for record in records.values())
    assert (summary.total, summary.ran, summary.succeeded, summary.correct) == (200, 200, 200, 200)
    import ray

    assert ray.is_initialized(), "a Ray the caller started stays up"


def test_an_interrupted_ray_batch_resumes_without_duplicates(tmp_path: Path, ray_address: str) -> None:
    spec = adder_spec(tmp_path, delay=0.1)
    tasks = write_tasks(tmp_path / "tasks.jsonl", [{"task": f"task {n}", "id": f"n{n}"} for n in range(40)])
    command = [MCPAGENTS, "batch", str(spec), str(tasks), "--out", "out.jsonl"]
    ray_options = ["--engine", "ray", "--address", ray_address, "--concurrency", "4", "--workers", "2"]
    stopped = interrupt_after([*command, *ray_options], 5, tmp_path)
    assert stopped.returncode == 130, stopped.stderr
    written = by_id(results(tmp_path / "out.jsonl"))
    assert 5 <= len(written) < 40
    resumed = cli(*command[1:], *ray_options, "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "40 of 40 tasks done: 40 succeeded (100.0%), 0 failed\n" in resumed.stdout
    records = by_id(results(tmp_path / "out.jsonl"))
    assert sorted(records) == sorted(f"n{n}" for n in range(40))
    assert all(record["output"] == "42" for record in records.values())


def test_ray_workers_that_cannot_build_the_agent_fail_the_batch(tmp_path: Path, ray_address: str) -> None:
    with pytest.raises(AgentError, match="a Ray worker could not build the agent") as raised:
        run_batch(_broken_agent, ["x"], tmp_path / "out.jsonl", engine="ray", concurrency=1)
    assert "no model here" in str(raised.value)
    assert results(tmp_path / "out.jsonl") == []


def _broken_agent() -> MultiStepAgent:
    raise ValueError("no model here")


def test_the_agent_s_servers_failing_on_ray_is_a_server_error(tmp_path: Path, ray_address: str) -> None:
    with pytest.raises(MCPServerError, match="server 'gone' could not start"):
        run_batch(_unreachable_agent, ["x"], tmp_path / "out.jsonl", engine="ray", concurrency=1)
    assert os.path.getsize(tmp_path / "out.jsonl") == 0


def _unreachable_agent() -> MultiStepAgent:
    server = StdioServer("no-such-mcp-server-command", name="gone")
    return ToolCallingAgent(ToolCollection.from_mcp(server), ScriptedModel(["x"]), verbosity_level=0)
