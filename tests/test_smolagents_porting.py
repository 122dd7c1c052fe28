"""smolagents programs ported with renames only: each test is one pattern of the smolagents guide,
run for real with a scripted model (docs/porting.md is the table of names)."""

from __future__ import annotations

import json
import sqlite3
import statistics
from pathlib import Path
from typing import Any

import pytest

from mcpagents import (
    ActionStep,
    AgentMemory,
    ChatMessage,
    CodeAgent,
    ConfigError,
    FinalAnswerStep,
    Image,
    LiteLLMModel,
    PlanningStep,
    PythonTool,
    ScriptedModel,
    ToolArgumentError,
    ToolCallingAgent,
    ToolCollection,
    tool,
)
from tests.scripts import Recorder, call, code
from tests.servers.openai_stub import Reply, openai_stub


@tool
def add(a: int, b: int = 1) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


# -- 1. the agents' keywords ---------------------------------------------------------------------------


def test_additional_authorized_imports_add_to_the_defaults() -> None:
    model = ScriptedModel([code("import math, numpy", "final_answer(math.floor(2.5))")])
    agent = CodeAgent([add], model, additional_authorized_imports=["numpy"], verbosity_level=0)
    assert "math" in agent.authorized_imports and "numpy" in agent.authorized_imports
    result = agent.run("Floor 2.5.", return_full_result=True)
    assert result.output == 2
    exactly = CodeAgent([add], ScriptedModel([]), authorized_imports=["numpy"], verbosity_level=0)
    assert exactly.authorized_imports == ("numpy",), "authorized_imports still means exactly these"


def test_executor_type_local_is_ours_and_others_say_what_to_use() -> None:
    CodeAgent([add], ScriptedModel([]), executor_type="local", verbosity_level=0)
    with pytest.raises(ConfigError, match=r"executor_type='docker'.*implement CodeExecutor"):
        CodeAgent([add], ScriptedModel([]), executor_type="docker")


def test_max_print_outputs_length_is_the_output_limit() -> None:
    agent = CodeAgent([add], ScriptedModel([]), max_print_outputs_length=500, verbosity_level=0)
    assert agent.executor_options.output_limit == 500
    with pytest.raises(ConfigError, match="not both"):
        CodeAgent([add], ScriptedModel([]), max_print_outputs_length=5, output_limit=6)


def test_return_full_result_and_stream_outputs_on_the_constructor() -> None:
    agent = ToolCallingAgent(
        [add],
        ScriptedModel([call("final_answer", answer="x"), call("final_answer", answer="y")]),
        return_full_result=True,
        stream_outputs=True,
        verbosity_level=0,
    )
    assert agent.run("Go.").output == "x"
    assert agent.run("Go.", return_full_result=False) == "y"


def test_step_callbacks_by_step_type_and_with_the_agent() -> None:
    seen: list[tuple[str, object]] = []

    def on_action(step: ActionStep, agent: CodeAgent) -> None:
        seen.append(("action", agent))

    agent = ToolCallingAgent(
        [add],
        ScriptedModel(["## Plan\n1. add", call("add", a=1), call("final_answer", answer="2")]),
        planning_interval=5,
        step_callbacks={
            ActionStep: on_action,
            PlanningStep: [lambda step: seen.append(("plan", step.plan))],
            FinalAnswerStep: lambda step: seen.append(("final", step.output)),
        },
        verbosity_level=0,
    )
    agent.run("Add.")
    assert seen == [("plan", "## Plan\n1. add"), ("action", agent), ("action", agent), ("final", "2")]


def test_final_answer_checks_take_the_agent_as_in_smolagents() -> None:
    def is_short(final_answer: Any, memory: AgentMemory, agent: ToolCallingAgent) -> bool:
        assert isinstance(agent, ToolCallingAgent) and isinstance(memory, AgentMemory)
        return len(str(final_answer)) < 5

    model = ScriptedModel([call("final_answer", answer="far too long"), call("final_answer", answer="ok")])
    agent = ToolCallingAgent([add], model, final_answer_checks=[is_short], verbosity_level=0)
    result = agent.run("Answer.", return_full_result=True)
    assert result.output == "ok"
    rejected = result.steps[1]
    assert isinstance(rejected, ActionStep) and "rejected by is_short" in (rejected.error or "")


def test_prompt_templates_override_the_system_and_planning_prompts() -> None:
    recorder = Recorder("my plan", code("final_answer(add(a=1))"))
    agent = CodeAgent(
        [add],
        recorder.model,
        planning_interval=3,
        instructions="Be brief.",
        prompt_templates={
            "system_prompt": "You are terse.\n{{ tools }}\n"
            "Imports: {{authorized_imports}}. {{custom_instructions}}",
            "planning": {"initial_plan": "Plan for: {{ task }} ({{remaining_steps}} steps left)"},
        },
        verbosity_level=0,
    )
    assert agent.run("Add one.") == 2
    system, plan_question = recorder.requests[0][0].text, recorder.requests[0][-1].text
    assert system.startswith("You are terse.\nTools are Python functions")
    assert "def add(a: int, b: int = 1) -> int:" in system and system.endswith("Be brief.")
    assert plan_question == "Plan for: Add one. (20 steps left)"


def test_prompt_templates_changed_after_construction_apply_from_the_next_run() -> None:
    recorder = Recorder("a plan", code("final_answer(1)"), code("final_answer(2)"))
    agent = CodeAgent([add], recorder.model, verbosity_level=0)
    agent.prompt_templates["planning"] = {"initial_plan": "{{ remaining_steps }} steps for {{ task }}"}
    agent.planning_interval = 5
    assert agent.run("First.", max_steps=4) == 1
    assert recorder.requests[0][-1].text == "4 steps for First.", "the run's own max_steps"
    agent.prompt_templates["system_prompt"] = "Only this. {{ nope }}"
    with pytest.raises(ConfigError, match=r"unknown variable \{\{ nope \}\}"):
        agent.run("Second.")
    agent.prompt_templates["system_prompt"] = "Only this."
    agent.planning_interval = None
    assert agent.run("Third.") == 2
    assert recorder.requests[-1][0].text == "Only this."


@pytest.mark.parametrize(
    ("templates", "message"),
    [
        ({"system_prompt": "{% for t in tools %}{% endfor %}"}, r"Jinja statements .* are not supported"),
        ({"planning": {"initial_plan": "{%- if x %}"}}, r"Jinja statements .* are not supported"),
        ({"system_prompt": "{{ nope }}"}, r"unknown variable \{\{ nope \}\}; the variables are"),
        ({"managed_agent": {"task": "Do {{task}}"}}, r"'managed_agent'\] is not supported"),
        ({"planning": {"update_plan_pre_messages": "x"}}, "put the whole prompt"),
    ],
)
def test_unsupported_prompt_templates_say_what_to_do(templates: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CodeAgent(
            [add], ScriptedModel([code("final_answer(1)")]), prompt_templates=templates, verbosity_level=0
        ).run("x")


@pytest.mark.parametrize(
    "keyword", ["add_base_tools", "max_tool_threads", "logger", "code_block_tags", "timeout"]
)
def test_smolagents_keywords_not_supported_here_say_what_to_use(keyword: str) -> None:
    smolagents_only: dict[str, Any] = {keyword: True}
    with pytest.raises(ConfigError, match=f"{keyword}= \\(a smolagents option\\) is not supported: "):
        ToolCallingAgent([add], ScriptedModel([]), **smolagents_only)
    with pytest.raises(ConfigError, match="only a CodeAgent takes executor_kwargs"):
        ToolCallingAgent([add], ScriptedModel([]), executor_kwargs={})  # type: ignore[call-arg]


# -- 2. Tool subclasses and single tools ---------------------------------------------------------------


class WeatherTool(PythonTool):  # smolagents: `class WeatherTool(Tool)`
    name = "weather"
    description = "Today's weather in a city."
    inputs = {  # noqa: RUF012 - smolagents' class attributes, as written there
        "city": {"type": "string", "description": "The city."},
        "unit": {"type": "string", "description": "C or F.", "nullable": True},
    }
    output_type = "string"

    def __init__(self) -> None:
        super().__init__()
        self.setups = 0

    def setup(self) -> None:
        self.setups += 1
        self.table = {"Paris": 21}

    def forward(self, city: str, unit: str | None = None) -> str:
        return f"{self.table[city]} {unit or 'C'}"


def test_a_tool_subclass_with_forward_is_served_like_a_tool_function() -> None:
    weather = WeatherTool()
    model = ScriptedModel(
        [code("print(weather(city='Paris'))", "final_answer(weather(city='Paris', unit='F'))")]
    )
    agent = CodeAgent(tools=[weather, add], model=model, verbosity_level=0)
    result = agent.run("Weather in Paris?", return_full_result=True)
    assert result.output == "21 F"
    assert "def weather(city: str, unit: str | None = None) -> str:" in result.messages[0].text
    assert weather.setups == 1, "setup() runs once, before the first call"
    assert weather(city="Paris") == "21 C", "the instance stays callable"


def test_a_tool_subclass_whose_inputs_do_not_match_forward_is_refused() -> None:
    class Broken(WeatherTool):
        def forward(self, town: str) -> str:  # type: ignore[override]
            return town

    with pytest.raises(ConfigError, match=r"forward\(\) takes \['town'\] but inputs are \['city', 'unit'\]"):
        ToolCallingAgent([Broken()], ScriptedModel([]))


class DatabaseQueryTool(PythonTool):  # the guide's stateful tool: __init__ arguments, a lazy setup
    name = "database_query"
    description = "Run a SELECT on the customers table (id, name, email)."
    inputs = {  # noqa: RUF012
        "query": {"type": "string", "description": "A SELECT query."},
        "order": {"type": "string", "enum": ["asc", "desc"], "description": "Row order."},
        "limit": {"type": "integer", "description": "At most this many rows (default 10)."},
    }
    output_type = "array"

    def __init__(self, path: str) -> None:  # no super().__init__() needed
        self.path = path

    def setup(self) -> None:
        self.connection = sqlite3.connect(self.path, check_same_thread=False)
        self.connection.execute("create table customers (id, name, email)")
        self.connection.execute("insert into customers values (1, 'Ann', 'ann@gmail.com')")

    def forward(self, query: str, order: str = "asc", limit: int = 10) -> list[dict[str, Any]]:
        cursor = self.connection.execute(f"{query} order by id {order} limit {limit}")
        return [dict(zip([c[0] for c in cursor.description], row, strict=True)) for row in cursor]


def test_the_guides_stateful_tool_with_defaults_and_an_enum() -> None:
    model = ScriptedModel(
        [call("database_query", query="select name from customers"), call("final_answer", answer="Ann")]
    )
    agent = ToolCallingAgent([DatabaseQueryTool(":memory:")], model, verbosity_level=0)
    result = agent.run("Who are our customers?", return_full_result=True)
    assert result.output == "Ann"
    step = result.steps[1]
    assert isinstance(step, ActionStep) and step.tool_calls[0].result == [{"name": "Ann"}]
    with agent:
        schema = agent.toolbox.tools()[0].input_schema
    assert schema["required"] == ["query"] and schema["properties"]["order"]["enum"] == ["asc", "desc"]


class AnalysisTool(PythonTool):  # the guide's structured output
    name = "perform_analysis"
    description = "Analyse data and return structured results."
    inputs = {"data": {"type": "array", "description": "Numbers to analyse."}}  # noqa: RUF012
    output_type = "object"
    output_schema = {  # noqa: RUF012
        "type": "object",
        "properties": {"mean": {"type": "number"}, "max": {"type": "number"}},
        "required": ["mean", "max"],
    }

    def forward(self, data: list[float]) -> dict[str, float]:
        return {"mean": statistics.mean(data), "max": max(data)}


def test_a_tool_with_an_output_schema_shows_its_shape_to_a_code_agent() -> None:
    recorder = Recorder(code("final_answer(perform_analysis(data=[1, 2, 6])['mean'])"))
    agent = CodeAgent([AnalysisTool()], recorder.model, verbosity_level=0)
    assert agent.run("Analyse [1, 2, 6].") == 3
    system = recorder.requests[0][0].text
    assert "class PerformAnalysisResult(TypedDict):\n    mean: float\n    max: float" in system
    assert "def perform_analysis(data: list[Any]) -> PerformAnalysisResult:" in system


def test_single_tools_of_a_collection_are_accepted() -> None:
    @tool
    def subtract(a: int, b: int) -> int:
        """Subtract b from a.

        Args:
            a: A number.
            b: Another.
        """
        return a - b

    with ToolCollection.from_mcp([add, subtract]) as collection:
        agent = ToolCallingAgent([collection["subtract"]], ScriptedModel([]), verbosity_level=0)
        assert [t.name for t in agent.toolbox.tools()] == ["subtract"]
        everything = ToolCallingAgent([*collection.tools], ScriptedModel([]), verbosity_level=0)
        assert sorted(t.name for t in everything.toolbox.tools()) == ["add", "subtract"]
        model = ScriptedModel([call("add", a=1, b=2), call("final_answer", answer="3")])
        assert ToolCallingAgent(collection["add"], model, verbosity_level=0).run("1+2?") == "3"


# -- 3. calling, replaying, summaries, the tree, the code ----------------------------------------------


def test_an_agent_is_called_like_a_function() -> None:
    agent = ToolCallingAgent([add], ScriptedModel([call("final_answer", answer="hi")]), verbosity_level=0)
    assert agent("Say hi.") == "hi"


def test_replay_detailed_and_the_steps_of_a_second_task(capsys: pytest.CaptureFixture[str]) -> None:
    model = ScriptedModel([code("print(add(a=1))"), code("final_answer(2)"), code("final_answer(3)")])
    agent = CodeAgent([add], model, verbosity_level=0)
    agent.run("First.")
    agent.run("Second.", reset=False)
    capsys.readouterr()
    agent.replay()
    plain = capsys.readouterr().out
    assert plain.count(" Step 1 ━") == 2, "the second task's step 1 has its header too"
    agent.replay(detailed=True)
    detailed = capsys.readouterr().out
    assert detailed.count("Model input") == 3 and "[system] You solve tasks" in detailed


def test_a_managed_agent_provides_a_summary_of_its_run() -> None:
    helper = ToolCallingAgent(
        [add],
        ScriptedModel([call("add", a=20, b=1), call("final_answer", answer="21")]),
        name="helper",
        description="Adds.",
        provide_run_summary=True,
        verbosity_level=0,
    )
    recorder = Recorder(call("helper", task="Add 20 and 1."), call("final_answer", answer="done"))
    manager = ToolCallingAgent(model=recorder.model, managed_agents=[helper], verbosity_level=0)
    with manager:
        assert manager.run("Delegate.") == "done"
    answer = json.loads(recorder.requests[1][-1].text)
    assert answer["answer"] == "21"
    assert answer["summary"].startswith('Step 1: add({"a": 20, "b": 1}) -> 21')


def test_visualize_prints_the_tree_of_agents_and_tools(capsys: pytest.CaptureFixture[str]) -> None:
    helper = ToolCallingAgent([add], ScriptedModel([]), name="helper", description="Adds.")
    manager = CodeAgent([WeatherTool()], ScriptedModel([]), name="boss", managed_agents=[helper])
    with manager:
        manager.visualize()
    out = capsys.readouterr().out
    for expected in (
        "boss (CodeAgent)",
        "weather: Today's weather",
        "managed agents",
        "helper (ToolCallingAgent)",
        "add: Add two numbers.",
    ):
        assert expected in out


def test_return_full_code_joins_the_code_of_the_steps() -> None:
    model = ScriptedModel([code("x = add(a=1)"), "no code here", code("final_answer(x)")])
    agent = CodeAgent([add], model, verbosity_level=0)
    assert agent.run("Go.") == 2
    assert agent.return_full_code() == "x = add(a=1)\n\nfinal_answer(x)"
    assert agent.memory.return_full_code() == agent.return_full_code(), "smolagents' own spelling"


def test_tools_take_positional_arguments_required_first() -> None:
    @tool
    def power(base: int = 2, exponent: int = 1, *, label: str) -> str:
        """Raise a number to a power.

        Args:
            base: The base.
            exponent: The exponent.
            label: What to call it.
        """
        return f"{label}={base**exponent}"

    with ToolCollection.from_mcp([add, power]) as tools:
        assert tools["add"](1, 2) == 3
        assert tools["power"]("x", 3, 2) == "x=9", "required `label` first, then the others in order"
        with pytest.raises(ToolArgumentError, match="both by position and by name"):
            tools["add"](1, a=2)
        with pytest.raises(ToolArgumentError, match=r"add\(\) takes 2 arguments \(a, b\) but 3"):
            tools["add"](1, 2, 3)


# -- 4. images -----------------------------------------------------------------------------------------


def test_pil_images_and_paths_go_with_the_task(tmp_path: Path) -> None:
    from PIL import Image as pil

    picture = pil.new("RGB", (4, 4), "red")
    path = tmp_path / "photo.jpg"
    picture.save(path)
    recorder = Recorder(call("final_answer", answer="red"))
    agent = ToolCallingAgent([add], recorder.model, verbosity_level=0)
    assert agent.run("What colour?", images=[picture, path]) == "red"
    parts = recorder.requests[0][1].content
    assert isinstance(parts, list) and [type(part) for part in parts] == [str, Image, Image]
    assert isinstance(parts[1], Image) and parts[1].data.startswith(b"\x89PNG")
    assert isinstance(parts[2], Image) and parts[2].mime_type == "image/jpeg"
    assert agent.memory.to_json()  # the images are kept as Images, serialisable


def test_step_callbacks_add_screenshots_as_observations_images() -> None:
    class Screenshot:  # anything with PIL's save(fp, format): Pillow is not needed
        def save(self, fp: Any, format: str | None = None) -> None:
            fp.write(b"\x89PNG screenshot")

    def take_screenshot(step: ActionStep, agent: CodeAgent) -> None:
        for previous in agent.memory.action_steps:
            if previous.step_number < step.step_number - 1:
                previous.observations_images = None  # as smolagents' web browser example does
        step.observations_images = [Screenshot()]

    seen: list[list[ChatMessage]] = []

    def answer(messages: list[ChatMessage], tools: Any) -> str:
        seen.append(messages)
        return code("print(1)") if len(seen) < 4 else code("final_answer('seen')")

    model = ScriptedModel(answer, media=("image",))
    agent = CodeAgent([add], model, step_callbacks=[take_screenshot], verbosity_level=0)
    assert agent.run("Browse.") == "seen"
    shown = [part for message in seen[3] if isinstance(message.content, list) for part in message.content]
    assert [part.data for part in shown if isinstance(part, Image)] == [b"\x89PNG screenshot"] * 2
    kept = AgentMemory.from_json(agent.memory.to_json()).action_steps
    assert kept[0].observations_images == [] and kept[3].observations_images == [Image(b"\x89PNG screenshot")]


def test_a_pil_image_reaches_a_litellm_model_as_an_image_url() -> None:
    from PIL import Image as pil

    with openai_stub(Reply(text="```python\nfinal_answer('red')\n```")) as stub:
        model = LiteLLMModel("openai/stub", api_base=stub.url, api_key="none", media=("image",))
        agent = CodeAgent([add], model, verbosity_level=0)
        assert agent.run("What colour?", images=[pil.new("RGB", (2, 2), "red")]) == "red"
    (user,) = [message for message in stub.requests[0]["messages"] if message["role"] == "user"]
    assert user["content"][1]["image_url"]["url"].startswith("data:image/png;base64,iVBOR")
