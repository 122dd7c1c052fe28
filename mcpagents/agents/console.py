"""A run on the terminal, rendered with rich: live from its events, or replayed from its memory."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.text import Text

from mcpagents.agents.budgets import ENDINGS
from mcpagents.agents.memory import ActionStep, AgentMemory, FinalAnswerStep, PlanningStep, TaskStep
from mcpagents.agents.results import (
    AgentEvent,
    CodeAction,
    InputRequested,
    ModelDelta,
    RunResult,
    RunState,
    SamplingCall,
    ServerMessage,
    ToolCallFinished,
    ToolCallStarted,
    ToolProgress,
)
from mcpagents.models.messages import ChatMessage

LINE_LIMIT = 120
"""Characters of a one-line item: a tool call's arguments, a tool's result."""
TEXT_LIMIT = 1000
"""Characters of observations, errors and final answers at verbosity level 1 (level 2 shows all)."""

STATE_STYLES: dict[RunState, str] = {
    "success": "green",
    "max_steps_reached": "yellow",
    "max_tool_calls_reached": "yellow",
    "max_tokens_reached": "yellow",
    "max_time_reached": "yellow",
    "error": "red",
}


INDENT = 4
"""Columns a managed agent's run is indented by, per level of nesting, under its manager's."""


class AgentConsole:
    """Prints a run: level 0 nothing, 1 the task, steps (code, tool calls and the progress lines
    they report, such as a managed agent's steps, observations, errors, tokens), plans and final
    answer, 2 also the model's raw output, streamed as it comes, and every progress report."""

    def __init__(self, verbosity_level: int = 1, console: Console | None = None) -> None:
        self.verbosity_level = verbosity_level
        self.console = console if console is not None else Console(stderr=False)
        self._depth = 0  # how deep in managers' runs this run is: its output is indented as much
        self._printing_tools: frozenset[str] = frozenset()
        self._step: int | None = None  # the step whose rule is printed
        self._streamed: int | None = None  # the step whose model output came as deltas
        self._line_open = False  # deltas are written without a newline

    def for_run(self, *, depth: int = 0, printing_tools: frozenset[str] = frozenset()) -> AgentConsole:
        """A console for one run: the same output and level, the run's own state (which step's rule is
        printed), so that concurrent runs of one agent each print their own steps. `depth`: how many
        managers' runs this run is nested in (in this process); `printing_tools`: the tools whose
        runs print themselves (managed agents in this process), whose progress lines would repeat
        them at level 1."""
        run = AgentConsole(self.verbosity_level, self.console)
        run._depth, run._printing_tools = depth, printing_tools
        return run

    def start(self, task: str, agent_name: str, model_id: str, tool_names: list[str]) -> None:
        self._step = self._streamed = None
        tools = ", ".join(tool_names) or "none"
        self._task(task, f"New run: {agent_name}", f"model: {model_id} | tools: {tools}")

    def render(self, event: AgentEvent) -> None:
        if self.verbosity_level <= 0:
            return  # silent: not even the formatting is paid for
        match event:
            case ModelDelta():
                if self.verbosity_level >= 2:
                    self._enter(event.step_number)
                    self._stream(event.text)
                    self._streamed = event.step_number
            case CodeAction():
                self._enter(event.step_number)
                self._code(event.code)
            case ToolCallStarted():
                self._enter(event.step_number)
                self._tool_call(event.name, event.arguments)
            case ToolProgress():
                shown = event.message and event.name not in self._printing_tools
                if shown or self.verbosity_level >= 2:
                    self._enter(event.step_number)
                    self._progress(event)
            case ToolCallFinished():
                self._enter(event.step_number)
                self._tool_outcome(event.name, event.result, event.error)
            case SamplingCall(server=server, usage=usage, text=text):
                self._enter(event.step_number)
                tokens = f"{usage.input_tokens} in, {usage.output_tokens} out"
                line = f"  ↺ {server} sampled the model ({tokens}): {text}"
                self._print(Text(line, style="magenta"), one_line=True)
            case ServerMessage(message=message):
                self._enter(event.step_number)
                self._print(Text(f"  ▸ {message}", style="dim"), one_line=True)
            case InputRequested(server=server, message=message, action=action):
                self._enter(event.step_number)
                self._print(Text(f"  ? {server} asked: {message} → {action}", style="cyan"), one_line=True)
            case PlanningStep():
                self._print(Panel(Text(event.plan), title="Plan", title_align="left", border_style="cyan"))
            case ActionStep():
                self._action(event, with_actions=False)
            case FinalAnswerStep():
                self._final_answer(event.output)
            case RunResult():
                pass  # the agent calls `finish` once the run is over

    def finish(self, result: RunResult) -> None:
        """Prints the run's state, steps, tokens and duration (and why a budget stopped it, or its error)."""
        steps = sum(isinstance(step, ActionStep) for step in result.steps)
        summary = (
            f" | steps: {steps} | total tokens: {result.token_usage.total_tokens:,}"
            f" | duration: {result.timing.duration:.2f} s"
        )
        self._print(Text.assemble("State: ", (result.state, f"bold {STATE_STYLES[result.state]}"), summary))
        if ending := ENDINGS.get(result.state):
            self._print(Text(f"The run was stopped: {ending}.", style="yellow"))
        if result.error:
            self._print(Panel(Text(self._truncate(result.error)), title="Run error", border_style="red"))

    def replay(
        self, memory: AgentMemory, messages: Callable[[AgentMemory], list[ChatMessage]] | None = None
    ) -> None:
        """Prints a finished run from its memory, each action step with its code and tool calls; with
        `messages` (how the agent turns memory into messages), each step's model input before it."""
        self._step = self._streamed = None
        for index, step in enumerate(memory.steps):
            match step:
                case TaskStep():
                    self._step = None  # a task continued with reset=False numbers its steps from 1 again
                    self._task(step.task, "Task")
                case ActionStep():
                    if messages is not None:
                        sent = messages(AgentMemory(memory.system_prompt, memory.steps[:index]))
                        self._enter(step.step_number)
                        self._messages(sent)
                    self._action(step, with_actions=True)
                case PlanningStep() | FinalAnswerStep():
                    self.render(step)

    def _stream(self, text: str) -> None:
        """Writes a model delta where the last one ended, each line indented as the run is."""
        if self._depth:
            margin = " " * (INDENT * self._depth)
            text = text.replace("\n", "\n" + margin)
            if not self._line_open:
                text = margin + text
        self.console.out(text, style="dim", highlight=False, end="")
        self._line_open = True

    def _print(self, renderable: RenderableType, *, one_line: bool = False) -> None:
        """Prints `renderable` (`one_line`: cut to the console's width) after the streamed deltas,
        indented as deep as the run is nested."""
        if self.verbosity_level < 1:
            return
        if self._line_open:
            self.console.out("")
            self._line_open = False
        if self._depth:
            renderable = Padding(renderable, (0, 0, 0, INDENT * self._depth))
        if one_line:
            self.console.print(renderable, no_wrap=True, overflow="ellipsis")
        else:
            self.console.print(renderable)

    def _messages(self, messages: list[ChatMessage]) -> None:
        text = "\n\n".join(f"[{message.role}] {message.text}" for message in messages)
        self._print(
            Panel(Text(text, style="dim"), title="Model input", title_align="left", border_style="dim")
        )

    def _enter(self, step_number: int) -> None:
        if step_number != self._step:
            self._step = step_number
            self._print(Rule(Text(f"Step {step_number}", style="bold"), characters="━", style="yellow"))

    def _task(self, task: str, title: str, subtitle: str | None = None) -> None:
        panel = Panel(
            Text(task, style="bold"),
            title=Text(title),
            title_align="left",
            subtitle=Text(subtitle, overflow="ellipsis") if subtitle else None,
            subtitle_align="left",
            border_style="yellow",
        )
        self._print(panel)

    def _code(self, code: str) -> None:
        syntax = Syntax(code, "python", theme="monokai", word_wrap=True)
        self._print(Panel(syntax, title="Code", title_align="left", border_style="blue"))

    def _tool_call(self, name: str, arguments: Mapping[str, Any]) -> None:
        listed = ", ".join(f"{key}={_format_json(value)}" for key, value in arguments.items())
        line = Text.assemble(("▸ ", "cyan"), (name, "bold"), f"({_one_line(listed)})")
        self._print(line, one_line=True)

    def _progress(self, event: ToolProgress) -> None:
        # A count with nothing to count against (a managed agent counts its events) says nothing
        # a level-1 reader needs.
        if event.total is not None:
            count = f"{event.progress:g}/{event.total:g}"
        else:
            count = f"{event.progress:g}" if self.verbosity_level >= 2 or not event.message else ""
        line = " ".join(part for part in (count, event.message) if part)
        self._print(Text(f"  ⋯ {event.name}: {line}", style="dim"), one_line=True)

    def _tool_outcome(self, name: str, result: Any, error: str | None) -> None:
        if error is not None:
            self._print(Text(f"  ✗ {name} failed: {self._truncate(error)}", style="red"))
        elif self.verbosity_level >= 2:
            self._print(Text(f"  ← {name}: {_one_line(_format_value(result))}", style="dim"), one_line=True)

    def _action(self, step: ActionStep, *, with_actions: bool) -> None:
        self._enter(step.step_number)
        if self.verbosity_level >= 2 and step.model_output and self._streamed != step.step_number:
            self._print(Panel(Text(step.model_output), title="Model output", title_align="left", style="dim"))
        if with_actions:
            if step.code:
                self._code(step.code)
            for call in step.tool_calls:
                self._tool_call(call.name, call.arguments)
                self._tool_outcome(call.name, call.result, call.error)
        if step.observations:
            observations = Text(self._truncate(step.observations))
            self._print(Panel(observations, title="Observations", title_align="left", style="dim"))
        if step.error:
            self._print(
                Panel(Text(self._truncate(step.error)), title="Error", title_align="left", style="red")
            )
        usage = step.usage
        self._print(
            Text(
                f"[Step {step.step_number}: {step.duration:.2f} s | input tokens: {usage.input_tokens:,}"
                f" | output tokens: {usage.output_tokens:,}]",
                style="dim",
            )
        )

    def _final_answer(self, output: Any) -> None:
        answer = Text(self._truncate(_format_value(output)), style="bold")
        self._print(Panel(answer, title="Final answer", title_align="left", border_style="bold green"))

    def _truncate(self, text: str) -> str:
        if self.verbosity_level >= 2 or len(text) <= TEXT_LIMIT:
            return text
        hidden = len(text) - TEXT_LIMIT
        return f"{text[:TEXT_LIMIT]}\n… [{hidden:,} more characters: verbosity level 2 shows all]"


def replay(
    memory: AgentMemory,
    console: Console | None = None,
    verbosity_level: int = 2,
    messages: Callable[[AgentMemory], list[ChatMessage]] | None = None,
) -> None:
    """Prints a finished run from its memory (what `agent.replay()` shows)."""
    AgentConsole(verbosity_level, console).replay(memory, messages)


def _format_value(value: Any) -> str:
    return value if isinstance(value, str) else _format_json(value)


def _format_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _one_line(text: str) -> str:
    text = " ".join(text.splitlines())
    return text if len(text) <= LINE_LIMIT else f"{text[: LINE_LIMIT - 1]}…"
