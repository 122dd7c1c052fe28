"""AgentConsole: what a run looks like on the terminal at each verbosity level, live and replayed."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from mcpagents import CodeAgent, ScriptedModel, ToolCallingAgent, tool
from mcpagents.agents.console import AgentConsole, replay
from mcpagents.agents.memory import (
    ActionStep,
    AgentMemory,
    FinalAnswerStep,
    PlanningStep,
    TaskStep,
    ToolCallRecord,
)
from mcpagents.agents.results import (
    AgentEvent,
    CodeAction,
    ModelDelta,
    RunResult,
    Timing,
    ToolCallFinished,
    ToolCallStarted,
    ToolProgress,
)
from mcpagents.models.messages import TokenUsage
from tests.scripts import call, code

TASK = "What is the weather in Paris?"
CODE = 'weather = get_weather(city="Paris", days=2)\nprint(weather)'
FOOTER_1 = "[Step 1: 1.23 s | input tokens: 12,345 | output tokens: 56]"
FOOTER_2 = "[Step 2: 0.50 s | input tokens: 13,000 | output tokens: 1,024]"


def make_console(verbosity_level: int, width: int = 100) -> tuple[AgentConsole, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    return AgentConsole(verbosity_level, console), out


def run_events() -> list[AgentEvent]:
    """A streamed two-step CodeAgent run: a plan, code calling a tool, then an answer."""
    step_1 = ActionStep(
        1,
        model_output="Thought: I will look it up.",
        code=CODE,
        observations="Sunny, 18 °C",
        usage=TokenUsage(12_345, 56),
        duration=1.234,
    )
    step_2 = ActionStep(
        2,
        model_output="Thought: I can answer now.",
        is_final_answer=True,
        final_answer="Sunny, 18 °C",
        usage=TokenUsage(13_000, 1_024),
        duration=0.5,
    )
    return [
        PlanningStep("1. Look up the weather\n2. Answer"),
        ModelDelta(1, "Thought: I will "),
        ModelDelta(1, "look it up."),
        CodeAction(1, CODE),
        ToolCallStarted(1, "get_weather", {"city": "Paris", "days": 2}, id="c1"),
        ToolProgress(1, "get_weather", 1, 2, "fetching forecast"),
        ToolCallFinished(1, "get_weather", {"temp": 18}, id="c1"),
        step_1,
        step_2,
        FinalAnswerStep("Sunny, 18 °C"),
        RunResult("Sunny, 18 °C", "success", [step_1, step_2], TokenUsage(25_345, 1_080), Timing(100, 102.5)),
    ]


def render_run(agent_console: AgentConsole) -> None:
    """What an agent does: `start`, every event as it comes (the `RunResult` last), then `finish`."""
    events = run_events()
    agent_console.start(TASK, "weather_agent", "gpt-test", ["get_weather", "search"])
    for event in events:
        agent_console.render(event)
    result = events[-1]
    assert isinstance(result, RunResult)
    agent_console.finish(result)


def assert_in_order(text: str, *parts: str) -> None:
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, f"{part!r} not found after position {position} in:\n{text}"
        position = found + len(part)


def small_memory() -> AgentMemory:
    return AgentMemory(
        "You are a helpful agent.",
        [
            TaskStep(TASK),
            PlanningStep("1. Look up the weather"),
            ActionStep(
                1,
                model_output="Thought: I will look it up.",
                code=CODE,
                tool_calls=[ToolCallRecord("get_weather", {"city": "Paris"}, "c1", result={"temp": 18})],
                observations="Sunny, 18 °C",
                usage=TokenUsage(12_345, 56),
                duration=1.234,
            ),
            ActionStep(
                2,
                model_output="Thought: search for more.",
                tool_calls=[ToolCallRecord("search", {"q": "Paris"}, "c2", error="timed out after 5 s")],
                error="NameError: name 'forecast' is not defined",
                usage=TokenUsage(13_000, 1_024),
                duration=0.5,
            ),
            FinalAnswerStep("Sunny, 18 °C"),
        ],
    )


def test_level_0_prints_nothing() -> None:
    agent_console, out = make_console(0)
    render_run(agent_console)
    agent_console.render(ToolCallFinished(1, "search", error="boom"))
    replay(small_memory(), agent_console.console, verbosity_level=0)
    assert out.getvalue() == ""


def test_level_1_shows_task_steps_code_tool_calls_observations_and_final_answer() -> None:
    agent_console, out = make_console(1)
    render_run(agent_console)
    text = out.getvalue()
    assert_in_order(
        text,
        "New run: weather_agent",
        TASK,
        "model: gpt-test | tools: get_weather, search",
        "Plan",
        "2. Answer",
        "━ Step 1 ━",
        'weather = get_weather(city="Paris", days=2)',
        "print(weather)",
        '▸ get_weather(city="Paris", days=2)\n',
        "⋯ get_weather: 1/2 fetching forecast",  # a progress line under its call
        "Observations",
        "Sunny, 18 °C",
        FOOTER_1,
        "━ Step 2 ━",
        FOOTER_2,
        "Final answer",
        "Sunny, 18 °C",
        "State: success | steps: 2 | total tokens: 26,425 | duration: 2.50 s",
    )
    assert text.count("━ Step 1 ━") == 1
    assert text.count("State: success") == 1
    # The code and tool calls shown as they happened are not shown again with the completed step.
    assert text.count("print(weather)") == 1
    assert text.count("▸ get_weather") == 1
    # Debug details are for level 2.
    assert "Thought" not in text
    assert "←" not in text


def test_level_2_streams_deltas_and_shows_model_output_and_progress() -> None:
    agent_console, out = make_console(2)
    render_run(agent_console)
    text = out.getvalue()
    assert_in_order(
        text,
        "━ Step 1 ━",
        "━\nThought: I will look it up.\n",
        "Code",
        '▸ get_weather(city="Paris", days=2)',
        "⋯ get_weather: 1/2 fetching forecast",
        '← get_weather: {"temp": 18}',
        FOOTER_1,
        "━ Step 2 ━",
        "Model output",
        "Thought: I can answer now.",
        FOOTER_2,
    )
    # Step 1's output came as deltas: it is not printed again when the step completes.
    assert text.count("Thought: I will look it up.") == 1


def test_long_observations_are_truncated_at_level_1_only() -> None:
    observations = "\n".join(f"row {i}" for i in range(300))
    step = ActionStep(1, observations=observations)
    hidden = len(observations) - 1000

    agent_console, out = make_console(1)
    agent_console.render(step)
    assert "row 0" in out.getvalue()
    assert "row 299" not in out.getvalue()
    assert f"… [{hidden:,} more characters: verbosity level 2 shows all]" in out.getvalue()

    agent_console, out = make_console(2)
    agent_console.render(step)
    assert "row 299" in out.getvalue()
    assert "more characters" not in out.getvalue()


def test_tool_call_arguments_are_cut_to_one_line() -> None:
    arguments = {"query": "word " * 50, "note": "two\nlines"}
    agent_console, out = make_console(1, width=300)
    agent_console.render(ToolCallStarted(1, "search", arguments))
    line = out.getvalue().splitlines()[-1]
    assert line.startswith('▸ search(query="word word')
    assert line.endswith("…)")
    assert len(line) == len("▸ search()") + 120

    narrow_console, out = make_console(1, width=60)
    narrow_console.render(ToolCallStarted(1, "search", arguments))
    assert [len(line) for line in out.getvalue().splitlines()[1:]] == [60]


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        ("Sunny, 18 °C", "│ Sunny, 18 °C "),
        ({"ville": "Zürich", "temps": [18, 19]}, '{"ville": "Zürich", "temps": [18, 19]}'),
        ([1, None, True], "[1, null, true]"),
    ],
)
def test_final_answers_are_strings_as_is_and_compact_json_otherwise(output: Any, shown: str) -> None:
    agent_console, out = make_console(1)
    agent_console.render(FinalAnswerStep(output))
    assert_in_order(out.getvalue(), "Final answer", shown)


def test_tool_errors_are_red_and_step_errors_in_a_red_panel() -> None:
    out = io.StringIO()
    colored = Console(file=out, width=100, color_system="standard", force_terminal=True)
    agent_console = AgentConsole(1, colored)
    agent_console.render(ToolCallFinished(1, "search", error="HTTP 503"))
    agent_console.render(ActionStep(1, error="NameError: name 'x' is not defined"))
    text = out.getvalue()
    assert "\x1b[31m  ✗ search failed: HTTP 503" in text
    assert_in_order(text, "Error", "\x1b[31mNameError: name 'x' is not defined")


def test_content_is_printed_verbatim_not_as_markup() -> None:
    agent_console, out = make_console(1)
    agent_console.start("[bold]bold?[/bold]", "[agent]", "model", [])
    agent_console.render(ActionStep(1, observations="[red]not red[/red]"))
    text = out.getvalue()
    assert_in_order(text, "New run: [agent]", "[bold]bold?[/bold]", "tools: none", "[red]not red[/red]")


def test_header_subtitle_is_one_line_cut_to_the_width() -> None:
    agent_console, out = make_console(1, width=60)
    agent_console.start(TASK, "agent", "gpt-test", [f"tool_{i}" for i in range(30)])
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("╰─ model: gpt-test | tools: tool_0, tool_1")
    assert last.endswith("…─╯")
    assert len(last) == 60


def test_finish_shows_the_state_and_the_run_error() -> None:
    result = RunResult(
        None, "error", [ActionStep(1)], TokenUsage(1_200, 90), Timing(10, 12.5), error="model unreachable"
    )
    agent_console, out = make_console(1)
    agent_console.finish(result)
    assert_in_order(
        out.getvalue(),
        "State: error | steps: 1 | total tokens: 1,290 | duration: 2.50 s",
        "Run error",
        "model unreachable",
    )


def test_replay_prints_every_step_of_a_memory() -> None:
    memory = AgentMemory.from_json(small_memory().to_json())
    out = io.StringIO()
    replay(memory, Console(file=out, width=100, color_system=None, force_terminal=False))
    assert_in_order(
        out.getvalue(),
        "Task",
        TASK,
        "Plan",
        "1. Look up the weather",
        "━ Step 1 ━",
        "Thought: I will look it up.",
        'weather = get_weather(city="Paris", days=2)',
        '▸ get_weather(city="Paris")',
        '← get_weather: {"temp": 18}',
        "Observations",
        "Sunny, 18 °C",
        FOOTER_1,
        "━ Step 2 ━",
        "Thought: search for more.",
        '▸ search(q="Paris")',
        "✗ search failed: timed out after 5 s",
        "Error",
        "NameError: name 'forecast' is not defined",
        FOOTER_2,
        "Final answer",
        "Sunny, 18 °C",
    )


def test_default_console_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    AgentConsole().start(TASK, "agent", "model", ["search"])
    captured = capsys.readouterr()
    assert TASK in captured.out
    assert captured.err == ""


def test_a_managed_agent_in_this_process_prints_its_run_indented_under_its_managers_call() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Adds two numbers."""
        return a + b

    out = io.StringIO()
    shared = Console(file=out, width=100, color_system=None, force_terminal=False)
    child = ToolCallingAgent(
        [add],
        ScriptedModel([call("add", a=20, b=1), call("final_answer", answer="21")]),
        name="adder",
        description="Adds numbers.",
    )
    boss = CodeAgent(
        model=ScriptedModel([code("final_answer(adder(task='Add 20 and 1')['answer'])")]),
        name="boss",
        managed_agents=[child],
    )
    child.console = AgentConsole(1, shared)
    boss.console = AgentConsole(1, shared)
    with boss:
        assert boss.run("Delegate.") == "21"
    lines = out.getvalue().splitlines()
    assert_in_order(out.getvalue(), "New run: boss", "▸ adder(", "New run: adder", "▸ add(a=20, b=1)")
    child_lines = lines[next(i for i, line in enumerate(lines) if "New run: adder" in line) :]
    child_lines = child_lines[: next(i for i, line in enumerate(child_lines) if "State: success" in line) + 1]
    assert all(line.startswith("    ") for line in child_lines), "\n".join(child_lines)
    boss_lines = [line for line in lines if line not in child_lines]
    assert any(line.startswith("▸ adder(") for line in boss_lines)
    # The child's steps are printed by the child: the manager does not repeat them as progress lines.
    assert not any("⋯ adder" in line for line in boss_lines), "\n".join(boss_lines)


def test_a_managed_agent_that_prints_nothing_shows_its_steps_as_progress_lines_under_the_call() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Adds two numbers."""
        return a + b

    child = ToolCallingAgent(
        [add],
        ScriptedModel([call("add", a=20, b=1), call("final_answer", answer="21")]),
        name="adder",
        description="Adds numbers.",
        verbosity_level=0,
    )
    boss = CodeAgent(
        model=ScriptedModel([code("final_answer(adder(task='Add 20 and 1')['answer'])")]),
        managed_agents=[child],
    )
    boss.console, out = make_console(1)
    with boss:
        boss.run("Delegate.")
    assert_in_order(
        out.getvalue(),
        "▸ adder(task=",
        "  ⋯ adder: step 1: calling add(a=20, b=1)",
        "  ⋯ adder: step 1 done",
        "  ⋯ adder: step 2 done",
        "Final answer",
    )
