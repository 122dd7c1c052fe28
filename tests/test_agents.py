"""The agent loop, with scripted models and real MCP servers behind the tools."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

from mcpagents import (
    ActionStep,
    ChatMessage,
    CodeAction,
    CodeAgent,
    LiteLLMModel,
    ModelDelta,
    ModelError,
    RunResult,
    ScriptedModel,
    StdioServer,
    ToolCallFinished,
    ToolCallingAgent,
    ToolCallStarted,
    ToolCollection,
    ToolProgress,
    tool,
)
from mcpagents.agents.memory import AgentMemory, FinalAnswerStep, TaskStep
from tests.conftest import calc, late_server, peer
from tests.scripts import Recorder, call, code
from tests.servers.openai_stub import Reply, openai_stub


@pytest.fixture(scope="module")
def tools() -> Iterator[ToolCollection]:
    with ToolCollection.from_mcp(calc(name="calc")) as collection:
        yield collection


def test_a_code_agent_run_returns_the_output_and_the_full_result(tools: ToolCollection) -> None:
    model = ScriptedModel(
        [code("r = divide(a=17, b=5)", "print(r)"), code("final_answer(r['quotient'] + add(a=1))")]
    )
    agent = CodeAgent(tools, model, verbosity_level=0)
    result = agent.run("What is 17 // 5 plus 3?", return_full_result=True)
    assert isinstance(result, RunResult)
    assert (result.output, result.state, result.error) == (6, "success", None)
    kinds = [type(step).__name__ for step in result.steps]
    assert kinds == ["TaskStep", "ActionStep", "ActionStep", "FinalAnswerStep"]
    first, second = result.steps[1], result.steps[2]
    assert isinstance(first, ActionStep) and isinstance(second, ActionStep)
    assert first.observations == "Execution logs:\n{'quotient': 3, 'remainder': 2}"
    assert [(c.name, c.arguments, c.result) for c in first.tool_calls] == [
        ("divide", {"a": 17, "b": 5}, {"quotient": 3, "remainder": 2})
    ]
    assert result.token_usage == first.usage + second.usage
    assert result.step_token_usage == [first.usage, second.usage]
    assert len(result.timing.steps) == 2 and result.timing.duration >= sum(result.timing.steps)
    assert result.messages[0].role == "system" and result.messages[1].text == "What is 17 // 5 plus 3?"
    assert (
        CodeAgent(tools, ScriptedModel([code("final_answer('plain')")]), verbosity_level=0).run("x")
        == "plain"
    )


def test_a_tool_calling_agent_runs_calls_concurrently(tools: ToolCollection) -> None:
    both = {
        "tool_calls": [
            {"name": "rendezvous", "arguments": {"parties": 2}},
            {"name": "rendezvous", "arguments": {"parties": 2}},
        ]
    }
    recorder = Recorder(both, call("final_answer", answer="met twice"))
    agent = ToolCallingAgent(tools, recorder.model, verbosity_level=0)
    result = agent.run("Meet.", return_full_result=True)
    assert result.output == "met twice"
    step = result.steps[1]
    assert isinstance(step, ActionStep)
    assert [(c.result, c.error) for c in step.tool_calls] == [("met", None), ("met", None)]
    second = recorder.requests[1]
    assert [m.role for m in second[-3:]] == ["assistant", "tool", "tool"], "results go back as tool messages"
    assert second[-1].text == "met" and second[-1].tool_call_id == step.tool_calls[1].id
    definitions = {d.name: d for d in recorder.tools[0] or []}
    assert definitions["add"].parameters["required"] == ["a"], "optional parameters stay optional"
    assert definitions["final_answer"].parameters["required"] == ["answer"]


def test_streaming_yields_events_as_they_happen(tools: ToolCollection) -> None:
    model = ScriptedModel([code("print(add(a=1, b=1))"), code("final_answer('two')")])
    events = list(CodeAgent(tools, model, verbosity_level=0).run("Add.", stream=True))
    kinds = [type(event).__name__ for event in events]
    assert kinds == [
        "ModelDelta", "CodeAction", "ToolCallStarted", "ToolCallFinished", "ActionStep",
        "ModelDelta", "CodeAction", "ActionStep", "FinalAnswerStep", "RunResult",
    ]  # fmt: skip
    assert events[2] == ToolCallStarted(1, "add", {"a": 1, "b": 1})
    assert events[3] == ToolCallFinished(1, "add", result=2)
    assert isinstance(events[0], ModelDelta) and events[0].text.startswith("Doing it.")
    assert isinstance(events[1], CodeAction) and events[1].code == "print(add(a=1, b=1))"
    assert isinstance(events[-1], RunResult) and events[-1].output == "two"


@pytest.mark.anyio
async def test_async_streaming_and_awaiting(tools: ToolCollection) -> None:
    model = ScriptedModel([call("add", a=2, b=2), call("final_answer", answer="4")])
    agent = ToolCallingAgent(tools, model, verbosity_level=0)
    events = [event async for event in agent.arun("Add.", stream=True)]
    assert [type(e).__name__ for e in events][-3:] == ["ActionStep", "FinalAnswerStep", "RunResult"]
    assert (
        await ToolCallingAgent(
            tools, ScriptedModel([call("final_answer", answer="x")]), verbosity_level=0
        ).arun("Answer.")
        == "x"
    )


@pytest.mark.anyio
async def test_a_server_that_joins_later_is_in_the_next_run(tmp_path: Path) -> None:
    gate, joined = tmp_path / "gate", anyio.Event()
    tools = ToolCollection(
        [calc(name="calc"), late_server(gate)], patience=0, on_tools_changed=lambda _: joined.set()
    )
    recorder = Recorder(code("final_answer('before')"), code("final_answer(late())"))
    async with CodeAgent(tools, recorder.model, verbosity_level=0) as agent:
        assert await agent.arun("Before.") == "before"
        gate.touch()
        with anyio.fail_after(30):
            await joined.wait()
        assert await agent.arun("After.") == "here at last"
    before, after = (messages[0].text for messages in recorder.requests)
    assert "def add(" in before and "def late(" not in before
    assert "def late(" in after, "a run takes the tools there are when it starts"


def test_reset_false_continues_the_conversation_and_the_python_state(tools: ToolCollection) -> None:
    recorder = Recorder(code("kept = 20", "final_answer(kept)"), code("final_answer(kept + 1)"))
    agent = CodeAgent(tools, recorder.model, verbosity_level=0)
    assert agent.run("First task") == 20
    assert agent.run("Second task", reset=False) == 21
    texts = [message.text for message in recorder.requests[1]]
    assert "First task" in texts and "Second task" in texts and "Final answer: 20" in texts


def test_a_fresh_run_forgets(tools: ToolCollection) -> None:
    recorder = Recorder(code("kept = 1", "final_answer(kept)"), code("final_answer(kept)"), "gave up")
    agent = CodeAgent(tools, recorder.model, verbosity_level=0, max_steps=1)
    agent.run("First")
    result = agent.run("Second", return_full_result=True)
    assert "NameError" in str(result.steps[1].error)  # type: ignore[union-attr]
    assert "First" not in [m.text for m in recorder.requests[1]]


def test_planning_happens_at_the_start_and_every_n_steps(tools: ToolCollection) -> None:
    recorder = Recorder(
        "## Facts known\nnone\n## Facts to find\nthe sum\n## Plan\n1. add",
        call("add", a=1, b=1),
        call("add", a=2, b=2),
        "## Plan\n1. answer",
        call("final_answer", answer="done"),
    )
    steps: list[object] = []
    agent = ToolCallingAgent(
        tools, recorder.model, planning_interval=2, step_callbacks=[steps.append], verbosity_level=0
    )
    result = agent.run("Add twice.", return_full_result=True)
    assert [type(s).__name__ for s in result.steps] == [
        "TaskStep", "PlanningStep", "ActionStep", "ActionStep",
        "PlanningStep", "ActionStep", "FinalAnswerStep",
    ]  # fmt: skip
    assert recorder.requests[0][-1].text.startswith("Before acting, make a plan")
    assert recorder.requests[3][-1].text.startswith("Here is where you stand after 2 steps")
    assert recorder.tools[0] is None and recorder.tools[3] is None, "plans are made without tools"
    assert [type(s).__name__ for s in steps] == [
        "PlanningStep",
        "ActionStep",
        "ActionStep",
        "PlanningStep",
        "ActionStep",
    ]


def test_final_answer_checks_reject_with_a_reason_fed_back(tools: ToolCollection) -> None:
    def must_be_positive(answer: Any, memory: AgentMemory) -> bool | str:
        return True if answer > 0 else "the answer must be positive"

    recorder = Recorder(call("final_answer", answer=-1), call("final_answer", answer=3))
    agent = ToolCallingAgent(tools, recorder.model, final_answer_checks=[must_be_positive], verbosity_level=0)
    result = agent.run("Pick.", return_full_result=True)
    assert result.output == 3
    rejected = result.steps[1]
    assert isinstance(rejected, ActionStep) and not rejected.is_final_answer
    assert rejected.error is not None
    assert rejected.error.startswith(
        "The final answer was rejected by must_be_positive: the answer must be positive"
    )
    assert any("must be positive" in m.text for m in recorder.requests[1])


class Person(BaseModel):
    name: str
    age: int


def test_an_output_schema_validates_and_shapes_the_answer(tools: ToolCollection) -> None:
    recorder = Recorder(
        call("final_answer", answer={"name": "Ann"}), call("final_answer", answer={"name": "Ann", "age": 30})
    )
    agent = ToolCallingAgent(tools, recorder.model, output_schema=Person, verbosity_level=0)
    result = agent.run("Who?", return_full_result=True)
    assert result.output == Person(name="Ann", age=30)
    assert "does not match the required output schema" in str(result.steps[1].error)  # type: ignore[union-attr]
    assert recorder.tools[0] is not None
    final = next(d for d in recorder.tools[0] if d.name == "final_answer")
    assert final.parameters["properties"]["answer"]["required"] == ["name", "age"]


def test_running_out_of_steps_asks_for_the_best_answer(tools: ToolCollection) -> None:
    recorder = Recorder(call("add", a=1), call("add", a=2), "My best answer is 3.")
    result = ToolCallingAgent(tools, recorder.model, max_steps=2, verbosity_level=0).run(
        "Add.", return_full_result=True
    )
    assert (result.state, result.output) == ("max_steps_reached", "My best answer is 3.")
    assert recorder.requests[2][-1].text.startswith("You ran out of steps (2)")
    assert recorder.tools[2] is None


def test_errors_in_a_step_become_observations(tools: ToolCollection) -> None:
    recorder = Recorder(
        "I forgot the code block.",
        code("x = undefined_name"),
        code("divide(a=1, b=0)"),
        code("final_answer('recovered')"),
    )
    result = CodeAgent(tools, recorder.model, verbosity_level=0).run("Go.", return_full_result=True)
    assert result.output == "recovered"
    errors = [step.error for step in result.steps if isinstance(step, ActionStep)]
    assert errors[0] is not None and errors[0].startswith("Your output had no code block.")
    assert "NameError: name 'undefined_name' is not defined" in str(errors[1])
    assert "ToolCallError: tool 'divide' on server 'calc' failed: cannot divide by zero" in str(errors[2])
    assert recorder.requests[3][-1].text.startswith("Observation: (no output)\nError:\nTraceback")


def test_tool_calling_errors_become_observations(tools: ToolCollection) -> None:
    recorder = Recorder("no call", call("nonexistent"), call("add", a="x"), call("final_answer", answer="ok"))
    result = ToolCallingAgent(tools, recorder.model, verbosity_level=0).run("Go.", return_full_result=True)
    assert result.output == "ok"
    steps = [step for step in result.steps if isinstance(step, ActionStep)]
    assert steps[0].error == "You called no tool. Call a tool, or call final_answer(answer=...) to answer."
    assert str(steps[1].tool_calls[0].error).startswith(
        "there is no tool named 'nonexistent'; the tools are: add,"
    )
    assert steps[2].tool_calls[0].error == "add(): argument 'a' must be integer, got string \"x\""
    assert recorder.requests[3][-1].text == "Error: add(): argument 'a' must be integer, got string \"x\""


def test_an_unreachable_model_ends_the_run_with_an_error(tools: ToolCollection) -> None:
    def unreachable(messages: list[ChatMessage], definitions: Any) -> str:
        raise ModelError("model 'x' is unreachable after 5 attempts", model="x")

    agent = CodeAgent(tools, ScriptedModel(unreachable), verbosity_level=0)
    result = agent.run("Go.", return_full_result=True)
    assert (result.state, result.error, result.output) == (
        "error",
        "model 'x' is unreachable after 5 attempts",
        None,
    )
    with pytest.raises(ModelError, match="model 'x' is unreachable after 5 attempts") as raised:
        agent.run("Go.")
    assert raised.value.model == "x", "what ended the run, raised as it was"


def test_verbosity_zero_prints_nothing(tools: ToolCollection, capsys: pytest.CaptureFixture[str]) -> None:
    CodeAgent(tools, ScriptedModel([code("final_answer(1)")]), verbosity_level=0).run("Go.")
    assert capsys.readouterr().out == ""
    CodeAgent(tools, ScriptedModel([code("final_answer(1)")]), verbosity_level=1).run("Go.")
    assert "Final answer" in capsys.readouterr().out


def test_results_and_memory_round_trip_through_json(tools: ToolCollection) -> None:
    agent = CodeAgent(
        tools, ScriptedModel([code("print(add(a=1))"), code("final_answer({'n': 3})")]), verbosity_level=0
    )
    result = agent.run("Go.", return_full_result=True)
    again = RunResult.from_json(result.to_json())
    assert (again.output, again.state, again.token_usage, again.timing) == (
        result.output, result.state, result.token_usage, result.timing,
    )  # fmt: skip
    assert [type(s) for s in again.steps] == [type(s) for s in result.steps]
    assert again.steps[1].tool_calls[0].result == 3  # type: ignore[union-attr]
    memory = AgentMemory.from_json(agent.memory.to_json())
    assert memory.system_prompt == agent.memory.system_prompt
    assert isinstance(memory.steps[0], TaskStep) and isinstance(memory.steps[-1], FinalAnswerStep)


def test_replay_prints_the_last_run(tools: ToolCollection, capsys: pytest.CaptureFixture[str]) -> None:
    agent = CodeAgent(
        tools, ScriptedModel([code("print(add(a=40))"), code("final_answer('42!')")]), verbosity_level=0
    )
    agent.run("Replay me.")
    agent.replay()
    shown = capsys.readouterr().out
    for text in ("Replay me.", "print(add(a=40))", "add(a=40)", "42!"):
        assert text in shown


def test_additional_args_reach_the_model_and_the_code(tools: ToolCollection) -> None:
    recorder = Recorder(code("final_answer(additional_args['n'] * 2)"))
    agent = CodeAgent(tools, recorder.model, verbosity_level=0)
    assert agent.run("Double n.", additional_args={"n": 21}) == 42
    assert '"n": 21' in recorder.requests[0][1].text


def test_the_code_prompt_shows_typed_signatures(tools: ToolCollection) -> None:
    prompt = CodeAgent(tools, ScriptedModel([]), verbosity_level=0).system_prompt(tools.tools)
    assert "class Division(TypedDict):\n    quotient: int\n    remainder: int" in prompt
    assert "def divide(a: int, b: int) -> Division:" in prompt
    assert 'def convert(value: float, unit: Literal["c", "f"], note: str | None = None) -> str:' in prompt
    assert "parallel([(tool, " in prompt and "map_tool(tool, " in prompt


@pytest.mark.anyio
async def test_cancelling_a_run_stops_its_tool_calls(tools: ToolCollection) -> None:
    agent = CodeAgent(tools, ScriptedModel([code("hang()")]), verbosity_level=0)
    with anyio.move_on_after(30) as guard:
        async for event in agent.arun("Hang.", stream=True):
            if isinstance(event, ToolProgress):  # `hang` reports "started" once it runs
                break
    assert not guard.cancelled_caught
    assert await tools["cancelled"].acall(at_least=1) >= 1, "the server saw the MCP request cancelled"


@pytest.mark.anyio
async def test_cancelling_a_run_stops_its_code() -> None:
    agent = CodeAgent(model=ScriptedModel([code("while True:", "    pass")]), verbosity_level=0)
    with anyio.move_on_after(1) as scope:
        await agent.arun("Spin.")
    assert scope.cancelled_caught
    await agent.aclose()


def test_tools_given_as_collections_and_functions(tools: ToolCollection) -> None:
    @tool
    def shout(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    unopened = ToolCollection.from_mcp(StdioServer(sys.executable, ["-m", "mcp_server_time"], name="time"))
    model = ScriptedModel(
        [code("now = get_current_time(timezone='UTC')", "final_answer(shout(add(a=1) and 'ok'))")]
    )
    with CodeAgent([tools, unopened, shout], model, verbosity_level=0) as agent:
        assert agent.run("Go.") == "OK"
        assert unopened.connected, "opened by the agent on first use"
    assert not unopened.connected, "closed with the agent"
    assert tools.connected, "an open collection is left to its owner"


def test_managed_agents_are_tools_with_progress(tools: ToolCollection) -> None:
    child = ToolCallingAgent(
        tools,
        ScriptedModel([call("add", a=20, b=1), call("final_answer", answer="21")]),
        name="adder",
        description="Adds numbers.",
        verbosity_level=0,
    )
    boss_model = ScriptedModel([code("report = adder(task='Add 20 and 1')", "final_answer(report)")])
    boss = CodeAgent(model=boss_model, managed_agents=[child], verbosity_level=0)
    events = list(boss.run("Delegate.", stream=True))
    result = events[-1]
    assert isinstance(result, RunResult)
    assert (
        result.output["answer"] == "21"
        and result.output["state"] == "success"
        and result.output["steps"] == 2
    )
    progress = [event.message for event in events if isinstance(event, ToolProgress)]
    assert progress == ["step 1: calling add(a=20, b=1)", "step 1 done", "step 2 done"]
    prompt = boss.system_prompt(boss.toolbox.tools())
    assert (
        "def adder(task: str, context: str | None = None, conversation_id: str | None = None)"
        " -> AdderResult:" in prompt
    )
    boss.close()


def test_npm_reference_server_tools_from_code() -> None:
    everything = ToolCollection.from_mcp(
        StdioServer(peer("mcp-server-everything"), ["stdio"], name="everything")
    )
    model = ScriptedModel(
        [code("final_answer([get_sum(a=2, b=3), get_structured_content(location='Chicago')])")]
    )
    with CodeAgent(everything, model, verbosity_level=0) as agent:
        total, weather = agent.run("Use the reference server.")
    assert total == "The sum of 2 and 3 is 5."
    assert set(weather) == {"temperature", "conditions", "humidity"}


def test_the_embedded_model_answers_a_one_step_tool_task(tools: ToolCollection) -> None:
    from mcpagents import LocalModel

    only_add = ToolCollection.from_mcp(calc(name="math"), include=["add"])
    with ToolCallingAgent(only_add, LocalModel(), max_steps=4, verbosity_level=0) as agent:
        result = agent.run("What is 12 plus 30?", return_full_result=True)
    assert (result.state, result.output) == ("success", "42")
    first = result.steps[1]
    assert isinstance(first, ActionStep)
    assert [(c.name, c.arguments, c.result) for c in first.tool_calls] == [("add", {"a": 12, "b": 30}, 42)]


def test_text_instead_of_a_tool_call_is_corrected(tools: ToolCollection) -> None:
    model = ScriptedModel(
        [{"tool_calls": [{"name": "add", "arguments": {}}]}, "just text", call("final_answer", answer="fine")]
    )
    result = ToolCallingAgent(tools, model, verbosity_level=0).run("Go.", return_full_result=True)
    steps = [step for step in result.steps if isinstance(step, ActionStep)]
    assert result.output == "fine"
    assert "missing required argument 'a'" in str(steps[0].tool_calls[0].error)
    assert steps[1].error == "You called no tool. Call a tool, or call final_answer(answer=...) to answer."


@pytest.mark.parametrize(
    "output",
    [
        "Thought: add them.\n<code>\nfinal_answer(add(a=1, b=2))\n</code>",
        "Adding.\n```py\nfinal_answer(add(a=1, b=2))\n```\nDone.",
        "Adding.\n```python\nfinal_answer(add(a=1, b=2))",  # the closing fence cut off
    ],
)
def test_code_blocks_are_found_in_every_common_style(tools: ToolCollection, output: str) -> None:
    agent = CodeAgent(tools, ScriptedModel([output]), verbosity_level=0)
    assert agent.run("Add 1 and 2.") == 3


@pytest.mark.anyio
async def test_cancelling_a_run_stops_its_model_call(tools: ToolCollection) -> None:
    with openai_stub(Reply(delay=120)) as stub:
        model = LiteLLMModel("openai/stub", api_base=stub.url, api_key="none", timeout=300)
        agent = ToolCallingAgent(tools, model, verbosity_level=0)
        with anyio.fail_after(30):  # far less than the model's 120 s answer
            async with anyio.create_task_group() as group:
                group.start_soon(partial(agent.arun, "Add 1 and 2."))
                await anyio.to_thread.run_sync(stub.received.wait)
                group.cancel_scope.cancel()
    assert len(stub.requests) == 1, "a cancelled call is not retried"
