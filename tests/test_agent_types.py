"""Writing an agent type from the public API: the hooks of `MultiStepAgent`, a `RunContext`, a code
executor of one's own, spec files that name types of other packages (entry points), and one console
per run."""

from __future__ import annotations

import inspect
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest
import yaml
from rich.console import Console

from mcpagents import (
    CodeAgent,
    ConfigError,
    ExecutorOptions,
    MultiStepAgent,
    ScriptedModel,
    StepResult,
    ToolCollection,
    load_agent,
    register_agent_type,
)
from mcpagents.agents import registry
from mcpagents.agents.base import AgentOptions
from mcpagents.agents.console import AgentConsole
from mcpagents.agents.registry import ENTRY_POINT_GROUP
from mcpagents.sandbox.interface import SandboxTool
from tests.agent_types.plan_and_execute import PlanAndExecuteAgent
from tests.conftest import CALC_SERVER, calc

PLAN = json.dumps({"calls": [{"tool": "add", "arguments": {"a": 20, "b": 22}}]})


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package that declares PlanAndExecuteAgent under the entry-point group, as pip installs one."""
    dist_info = tmp_path / "site" / "plan_and_execute_agent-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: plan-and-execute-agent\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nplan_and_execute = tests.agent_types.plan_and_execute:PlanAndExecuteAgent\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))


def spec(folder: Path, **keys: Any) -> Path:
    path = folder / "planner.yaml"
    path.write_text(yaml.safe_dump({"name": "planner", "description": "Plans, then does.", **keys}))
    return path


def test_a_third_party_agent_type_runs_from_a_spec(tmp_path: Path, installed_plugin: None) -> None:
    (tmp_path / "script.yaml").write_text(yaml.safe_dump([PLAN, "42"]))
    path = spec(
        tmp_path,
        type="plan_and_execute",
        model="scripted:script.yaml",
        mcpServers={"calc": {"command": sys.executable, "args": [str(CALC_SERVER)]}},
    )
    with load_agent(path, verbosity_level=0) as agent:
        assert type(agent) is PlanAndExecuteAgent
        result = agent.run("What is 20 + 22?", return_full_result=True)
    assert (result.output, result.state) == ("42", "success")
    assert [(call.name, call.result) for call in result.steps[1].tool_calls] == [("add", 42)]


def test_spec_types_are_checked_against_the_registry(tmp_path: Path, installed_plugin: None) -> None:
    with pytest.raises(
        ConfigError, match=r"type: expected code or plan_and_execute or tool_calling, got 'plan'"
    ):
        load_agent(spec(tmp_path, type="plan"))
    with pytest.raises(ConfigError, match=r"executor: only for types that run code \(a plan_and_execute"):
        load_agent(spec(tmp_path, type="plan_and_execute", executor={"step_timeout": 5}))


def test_types_registered_by_a_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_registered", {})  # the type is this test's only

    class Echo(PlanAndExecuteAgent):
        pass

    register_agent_type("echo_planner", Echo)
    (tmp_path / "script.yaml").write_text(yaml.safe_dump(['{"calls": []}', "nothing to do"]))
    with load_agent(
        spec(tmp_path, type="echo_planner", model="scripted:script.yaml"), verbosity_level=0
    ) as agent:
        assert type(agent) is Echo
        assert agent.run("Anything?") == "nothing to do"
    with pytest.raises(TypeError, match="must be a subclass of MultiStepAgent"):
        register_agent_type("wrong", dict)  # type: ignore[arg-type]


def test_agent_options_are_the_keywords_of_every_agent() -> None:
    keywords = [
        name
        for name, parameter in inspect.signature(MultiStepAgent.__init__).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert keywords == list(AgentOptions.__annotations__)


class RecordingExecutor:
    """A code executor of one's own (here: one that answers without running anything)."""

    made: ClassVar[list[RecordingExecutor]] = []

    def __init__(self, tools: Sequence[SandboxTool], options: ExecutorOptions) -> None:
        self.tools = [tool.name for tool in tools]
        self.options = options
        self.code: list[str] = []
        self.closed = False
        RecordingExecutor.made.append(self)

    async def start(self) -> None:
        pass

    async def run(self, code: str) -> StepResult:
        self.code.append(code)
        return StepResult(stdout="ran elsewhere", final_answer="done elsewhere", has_final_answer=True)

    async def define(self, **values: Any) -> None:
        pass

    async def aclose(self) -> None:
        self.closed = True


def test_executor_options_are_checked_by_name() -> None:
    with pytest.raises(
        ConfigError, match=r"executor_kwargs: unknown option 'step_timout'; the options are mode,"
    ):
        CodeAgent(executor_kwargs={"step_timout": 5})
    assert CodeAgent(executor_kwargs={"disk_mb": 9}, step_timeout=3).executor_options == ExecutorOptions(
        disk_mb=9, step_timeout=3
    )


def test_a_code_agent_runs_its_code_in_the_executor_it_is_given() -> None:
    with ToolCollection.from_mcp(calc(name="calc")) as tools:
        agent = CodeAgent(
            tools,
            ScriptedModel(["```python\nfinal_answer(add(1, 2))\n```"]),
            executor=RecordingExecutor,
            step_timeout=7,
            verbosity_level=0,
        )
        assert agent.run("Add.") == "done elsewhere"
        (made,) = RecordingExecutor.made
        assert made.code == ["final_answer(add(1, 2))"]
        assert "add" in made.tools and made.options.step_timeout == 7
        assert not made.closed, "kept for a run that continues the conversation"
        agent.close()
    assert made.closed


@pytest.mark.anyio
async def test_concurrent_runs_of_one_agent_each_print_their_own_steps() -> None:
    output = io.StringIO()
    answers = ["```python\nx = 1\n```", "```python\nfinal_answer(x)\n```"]
    agent = CodeAgent(model=ScriptedModel(answers, per_conversation=True), verbosity_level=1)
    agent.console = AgentConsole(1, Console(file=output, width=100))
    async with anyio.create_task_group() as group:
        for _ in range(2):
            group.start_soon(agent.arun, "Count.")
    await agent.aclose()
    rules = [line.strip("━ ") for line in output.getvalue().splitlines() if line.startswith("━")]
    assert sorted(rules) == ["Step 1", "Step 1", "Step 2", "Step 2"], output.getvalue()
