"""Traces: each run's spans and events in its run log, one trace across a chain of served agents
(stdio, HTTP, workers), W3C trace context in `_meta`, OTLP export to a collector, `mcpagents runs`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client

from mcpagents import (
    CodeAgent,
    ConfigError,
    HttpServer,
    ScriptedModel,
    ToolCallingAgent,
    Tracing,
    load_spec,
    tool,
)
from mcpagents.tracing import run_log
from mcpagents.tracing.run_log import RunRecord, list_runs, prune, read_run
from tests.conftest import CALC_SERVER, MCPAGENTS, serving_spec
from tests.scripts import call, code

COLLECTOR = Path(__file__).parent / "servers" / "otlp_collector.py"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@tool
def divide(a: float, b: float) -> float:
    """Divides a by b."""
    return a / b


def only_run(directory: Path) -> RunRecord:
    (summary,) = list_runs(directory)
    return read_run(summary.run_id, directory)


def spans_by_name(record: RunRecord) -> dict[str, dict[str, Any]]:
    return {span["name"]: span for span in record.spans}


def write_specs(folder: Path) -> Path:
    """boss.yaml (tool calling) → adder.yaml (served over stdio) → the calc server; returns boss.yaml."""
    (folder / "adder-script.yaml").write_text(
        "per_conversation: true\nresponses:\n"
        "  - tool_calls: [{name: add, arguments: {a: 20, b: 22}}]\n"
        '  - tool_calls: [{name: final_answer, arguments: {answer: "42"}}]\n'
    )
    (folder / "adder.yaml").write_text(
        "name: adder\ndescription: Adds.\ntype: tool_calling\nmodel: scripted:adder-script.yaml\n"
        f"mcpServers:\n  calc: {{command: {json.dumps(sys.executable)},"
        f" args: [{json.dumps(str(CALC_SERVER))}]}}\n"
        "include: [add]\n"
    )
    (folder / "boss-script.yaml").write_text(
        "per_conversation: true\nresponses:\n"
        "  - tool_calls: [{name: adder, arguments: {task: Add 20 and 22.}}]\n"
        '  - tool_calls: [{name: final_answer, arguments: {answer: "the adder says 42"}}]\n'
    )
    (folder / "boss.yaml").write_text(
        "name: boss\ndescription: Delegates sums.\ntype: tool_calling\nmodel: scripted:boss-script.yaml\n"
        "agents: [adder.yaml]\n"
    )
    return folder / "boss.yaml"


def test_a_run_log_holds_the_run_its_steps_model_and_tool_calls_as_spans(run_dir: Path) -> None:
    model = ScriptedModel([code("x = divide(a=1, b=0)"), code("final_answer(divide(a=6, b=3))")])
    with CodeAgent([divide], model, name="divider", verbosity_level=0) as agent:
        assert agent.run("Divide.") == 2.0
    record = only_run(run_dir)
    assert record.header["agent"] == "divider" and record.header["task"] == "Divide."
    assert record.header["depth"] == 0 and record.header["tools"] == ["divide"]
    names = [span["name"] for span in record.spans]
    assert names.count("tools/call divide") == 2 and names.count("chat scripted") == 2
    spans = {span["span_id"]: span for span in record.spans}
    run_span = spans_by_name(record)["invoke_agent divider"]
    assert run_span["span_id"] == record.header["run_id"] and run_span["parent_id"] is None
    failed, succeeded = [span for span in record.spans if span["name"] == "tools/call divide"]
    step_1 = spans[failed["parent_id"]]
    assert step_1["name"] == "step 1" and step_1["parent_id"] == run_span["span_id"]
    assert step_1["status"] == "error" and "ZeroDivisionError" in step_1["error"]
    assert failed["status"] == "error" and "division by zero" in failed["error"]
    assert spans[succeeded["parent_id"]]["name"] == "step 2" and succeeded["status"] == "unset"
    assert succeeded["attributes"]["gen_ai.operation.name"] == "execute_tool"
    assert succeeded["attributes"]["gen_ai.tool.name"] == "divide"
    chat = next(span for span in record.spans if span["name"] == "chat scripted")
    assert chat["attributes"]["gen_ai.usage.input_tokens"] > 0
    assert all(len(span["span_id"]) == 16 for span in record.spans) and len(record.header["trace_id"]) == 32
    # Content stays out of spans unless asked for; the run log's events have it (they stay here).
    assert not any("gen_ai.tool.call.arguments" in span["attributes"] for span in record.spans)
    assert not any("gen_ai.input.messages" in span["attributes"] for span in record.spans)
    types = [event["type"] for event in record.events]
    assert types == ["code", "action", "code", "action", "final_answer"], "calls are in their step's record"
    calls = [event["tool_calls"] for event in record.events if event["type"] == "action"]
    assert calls[0][0]["arguments"] == {"a": 1, "b": 0} and "division by zero" in calls[0][0]["error"]
    assert calls[1][0]["result"] == 2.0
    assert (
        record.result is not None and record.result["state"] == "success" and record.result["output"] == 2.0
    )


def test_every_span_lies_within_its_parent_and_the_answer_from_memory_hangs_under_the_run(
    run_dir: Path,
) -> None:
    """Out of steps, the model is asked for its best answer after the last step ended: its call is
    the run's child, not the ended step's."""
    model = ScriptedModel(["1. Divide.", code("x = divide(a=1, b=2)"), "The answer is 0.5."])
    options: dict[str, Any] = {"max_steps": 1, "planning_interval": 1, "verbosity_level": 0}
    with CodeAgent([divide], model, name="divider", **options) as agent:
        agent.run("Divide.")
    record = only_run(run_dir)
    assert record.result is not None and record.result["state"] == "max_steps_reached"
    spans = {span["span_id"]: span for span in record.spans}
    run_span = spans_by_name(record)["invoke_agent divider"]
    parents = [spans[span["parent_id"]]["name"] for span in record.spans if span["name"] == "chat scripted"]
    assert parents == ["plan", "step 1", "invoke_agent divider"], "plan, step, then the answer from memory"
    for span in record.spans:
        if span["parent_id"] is not None:
            parent = spans[span["parent_id"]]
            assert parent["start"] <= span["start"] <= span["end"] <= parent["end"], (span, parent)
    assert run_span["end"] == max(span["end"] for span in record.spans)


def test_content_goes_into_spans_only_when_asked_and_the_log_can_be_turned_off(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ScriptedModel([call("divide", a=6, b=3), call("final_answer", answer="2")])
    with ToolCallingAgent([divide], model, verbosity_level=0, tracing=Tracing(content=True)) as agent:
        agent.run("Divide 6 by 3.")
    spans = spans_by_name(only_run(run_dir))
    assert json.loads(spans["tools/call divide"]["attributes"]["gen_ai.tool.call.arguments"]) == {
        "a": 6,
        "b": 3,
    }
    assert spans["tools/call divide"]["attributes"]["gen_ai.tool.call.result"] == "2.0"
    assert "Divide 6 by 3." in spans["chat scripted"]["attributes"]["gen_ai.input.messages"]

    monkeypatch.setenv("MCPAGENTS_RUN_LOG", "off")
    model = ScriptedModel([call("final_answer", answer="2")])
    with ToolCallingAgent([divide], model, verbosity_level=0) as agent:
        agent.run("Again.")
    assert len(list_runs(run_dir)) == 1, "MCPAGENTS_RUN_LOG=off writes no run log"


def test_one_trace_across_a_chain_over_stdio_and_runs_shows_it(tmp_path: Path, run_dir: Path) -> None:
    boss = write_specs(tmp_path)
    ran = subprocess.run(
        [MCPAGENTS, "run", "-q", str(boss), "Add them."], capture_output=True, text=True, timeout=120
    )
    assert ran.stdout == "the adder says 42\n", ran.stderr
    boss_run, adder_run = sorted(
        (read_run(s.run_id) for s in list_runs(run_dir)), key=lambda r: r.header["depth"]
    )
    assert boss_run.header["agent"] == "boss" and adder_run.header["agent"] == "adder"
    assert adder_run.header["trace_id"] == boss_run.header["trace_id"]
    assert adder_run.header["chain"] == ["boss", "adder"] and adder_run.header["depth"] == 1
    call_span = spans_by_name(boss_run)["tools/call adder"]
    assert adder_run.header["parent_span_id"] == call_span["span_id"], "the child's run hangs under the call"
    child_run_span = spans_by_name(adder_run)["invoke_agent adder"]
    assert child_run_span["kind"] == "server" and child_run_span["attributes"]["mcpagents.chain.depth"] == 1

    listed = subprocess.run(
        [MCPAGENTS, "runs"], capture_output=True, text=True, timeout=60
    ).stdout.splitlines()
    assert listed[0].split()[:3] == ["RUN", "STARTED", "AGENT"]
    assert any(
        line.startswith(boss_run.header["run_id"]) and " boss " in line and "success" in line
        for line in listed
    )
    assert any("  adder " in line and "Add 20 and 22." in line for line in listed), (
        "a called agent is indented"
    )
    shown = subprocess.run(
        [MCPAGENTS, "runs", "show", boss_run.header["run_id"][:6]], capture_output=True, text=True, timeout=60
    ).stdout
    tree = [line[20:] for line in shown.splitlines() if line.endswith("]") or line[20:21] == " "][1:]
    assert [line.strip().split("  [")[0] for line in tree][:6] == [
        "invoke_agent boss",
        "step 1",
        f"chat scripted:{tmp_path}/boss-script.yaml",
        "tools/call adder",
        "invoke_agent adder",
        "step 1",
    ]
    assert tree[3].startswith("    tools/call adder") and tree[4].startswith("      invoke_agent adder"), (
        "the called run nests under the call"
    )
    assert "state: success" in shown and "output: the adder says 42" in shown
    unknown = subprocess.run([MCPAGENTS, "runs", "show", "zzzz"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and unknown.stderr.startswith("mcpagents: no run with id 'zzzz' in ")


@pytest.mark.parametrize("workers", [None, "2"])
def test_one_trace_across_a_chain_over_http(tmp_path: Path, run_dir: Path, workers: str | None) -> None:
    write_specs(tmp_path)
    flags = ["--token", "s3cret", *(["--workers", workers] if workers else [])]
    with serving_spec(tmp_path / "adder.yaml", *flags) as url:
        adder = HttpServer(url, headers={"Authorization": "Bearer s3cret"}, name="adder")
        model = ScriptedModel([call("adder", task="Add 20 and 22."), call("final_answer", answer="42")])
        with ToolCallingAgent(model=model, name="boss", managed_agents=[adder], verbosity_level=0) as boss:
            assert boss.run("Add them.") == "42"
    runs = {summary.agent: read_run(summary.run_id) for summary in list_runs(run_dir)}
    assert runs["adder"].header["trace_id"] == runs["boss"].header["trace_id"]
    assert (
        runs["adder"].header["parent_span_id"] == spans_by_name(runs["boss"])["tools/call adder"]["span_id"]
    )


def test_a_hosts_traceparent_is_the_served_runs_parent(tmp_path: Path, run_dir: Path) -> None:
    write_specs(tmp_path)

    async def main() -> dict[str, Any]:
        from mcp.client.stdio import StdioServerParameters

        server = StdioServerParameters(
            command=MCPAGENTS,
            args=["serve", "-q", str(tmp_path / "adder.yaml")],
            cwd=str(tmp_path),
            env=dict(os.environ),
        )
        async with Client(server) as client:
            result = await client.call_tool("adder", {"task": "Add."}, meta={"traceparent": TRACEPARENT})
            assert result.structured_content is not None
            return result.structured_content

    answer = anyio.run(main)
    record = only_run(run_dir)
    assert record.header["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" == answer["trace_id"]
    assert record.header["parent_span_id"] == "00f067aa0ba902b7"
    assert spans_by_name(record)["invoke_agent adder"]["parent_id"] == "00f067aa0ba902b7"


@contextmanager
def collector(folder: Path) -> Iterator[tuple[str, Path]]:
    """The OTLP/HTTP collector of tests/servers/otlp_collector.py: its URL and the file of its spans."""
    spans = folder / "spans.jsonl"
    process = subprocess.Popen(
        [sys.executable, str(COLLECTOR), str(spans)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), f"the collector did not start: {url!r}"
        yield url, spans
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_spans_go_to_an_otlp_collector_in_one_trace_with_the_sdks_mcp_spans(tmp_path: Path) -> None:
    boss = write_specs(tmp_path)
    with collector(tmp_path) as (url, spans_file):
        environment = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_SERVICE_NAME": "bakery"}
        ran = subprocess.run(
            [MCPAGENTS, "run", "-q", str(boss), "Add them."],
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
        )
        assert ran.stdout == "the adder says 42\n", ran.stderr
    exported = [json.loads(line) for line in spans_file.read_text().splitlines()]
    (root,) = [span for span in exported if span["name"] == "invoke_agent boss"]
    # Connecting (discovery, listing) is a trace of its own; the run's trace holds all the rest.
    spans = [span for span in exported if span["trace_id"] == root["trace_id"]]
    assert {span["service"] for span in spans} == {"bakery"} and root["parent_id"] is None
    by_name = {(span["scope"], span["name"]): span for span in spans}
    ours = by_name["mcpagents", "tools/call adder"]
    sent = by_name["mcp-python-sdk", "MCP send tools/call adder"]  # the MCP SDK's client span
    assert sent["parent_id"] == ours["span_id"] and ours["attributes"]["gen_ai.tool.name"] == "adder"
    served = next(  # the child's SDK server span
        span for span in spans if span["name"] == "tools/call adder" and span["parent_id"] == sent["span_id"]
    )
    child_run = next(span for span in spans if span["name"] == "invoke_agent adder")
    assert child_run["parent_id"] == served["span_id"] and served["scope"] == "mcp-python-sdk"
    assert child_run["attributes"]["mcpagents.chain.depth"] == 1
    child_tool = next(
        span for span in spans if span["name"] == "tools/call add" and span["scope"] == "mcpagents"
    )
    child_step = next(span for span in spans if span["span_id"] == child_tool["parent_id"])
    assert child_step["name"] == "step 1" and child_step["parent_id"] == child_run["span_id"]


def test_a_run_file_is_made_when_the_run_ends_or_once_it_has_run_a_while(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(seen: list[list[dict[str, Any]]]) -> None:
        def look(step: object) -> None:  # after each step: what a reader of the folder finds
            files = list(run_dir.glob("*.jsonl"))
            seen.append([json.loads(line) for line in files[0].read_text().splitlines()] if files else [])

        model = ScriptedModel([call("divide", a=6, b=3), call("final_answer", answer="2")])
        with ToolCallingAgent([divide], model, verbosity_level=0, step_callbacks=[look]) as agent:
            assert agent.run("Divide 6 by 3.") == "2"

    short: list[list[dict[str, Any]]] = []
    run(short)
    assert short == [[], []], "a short run's lines wait for its end"
    record = only_run(run_dir)
    assert record.result is not None and [event["type"] for event in record.events] == [
        "action",
        "action",
        "final_answer",
    ]

    for path in run_dir.glob("*.jsonl"):
        path.unlink()
    monkeypatch.setattr(run_log, "BUFFER_SECONDS", 0.0)  # a run that has gone on long enough
    followed: list[list[dict[str, Any]]] = []
    run(followed)
    first_step = [line["type"] for line in followed[0]]
    assert first_step[0] == "run" and "action" in first_step, "the file is there, the first step in it"
    assert all(line["type"] != "result" for lines in followed for line in lines), "while the run goes on"
    assert only_run(run_dir).result is not None


def test_old_run_logs_are_pruned_to_the_cap(tmp_path: Path) -> None:
    for index in range(5):
        (tmp_path / f"20260101-00000{index}-run{index}.jsonl").write_text("x" * 1000)
    prune(tmp_path, max_bytes=2500)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "20260101-000003-run3.jsonl",
        "20260101-000004-run4.jsonl",
    ]


def test_a_spec_says_what_is_traced_and_its_mistakes_are_named(tmp_path: Path) -> None:
    spec = tmp_path / "traced.yaml"
    spec.write_text(
        "name: traced\ndescription: Traced.\nmodel: scripted:none.yaml\n"
        "tracing: {content: true, run_log: false}\n"
    )
    (tmp_path / "none.yaml").write_text("responses: []\n")
    agent = load_spec(spec).build(verbosity_level=0)
    assert agent.tracing == Tracing(run_log=False, content=True)
    spec.write_text("name: traced\ndescription: Traced.\ntracing: {contents: true}\n")
    with pytest.raises(
        ConfigError, match=r"traced.yaml: tracing: unknown key 'contents' \(did you mean 'content'\?\)"
    ):
        load_spec(spec)


def test_a_cancelled_run_is_logged_as_cancelled_not_as_running(run_dir: Path) -> None:
    async def main() -> None:
        model = ScriptedModel([call("final_answer", answer="late")], delay=60)
        async with ToolCallingAgent([divide], model, verbosity_level=0) as agent:
            with anyio.move_on_after(0.5):
                await agent.arun("Take your time.")

    anyio.run(main)
    (summary,) = list_runs(run_dir)
    assert summary.state == "cancelled" and summary.duration is not None
    record = read_run(summary.run_id, run_dir)
    assert spans_by_name(record)["invoke_agent ToolCallingAgent"]["status"] == "error"
