"""Budgets: what one run of an agent may spend (tool calls, model tokens, wall time), in all and in
each step, and the meter that keeps a run within them.

* **Tool calls** count as they start, calls in flight included, whoever makes them: the model, the
  model's code, several at once (`parallel`, `map_tool`). A call past the run's or the step's
  budget is refused before it reaches its server, with an error the model reads (in code, a
  `ToolCallError`). Once the run's calls are used up, the run ends after that step in state
  `max_tool_calls_reached`, with the model's best answer from what it learned: one more model call,
  without tools, as when the steps run out.
* **Tokens**, input and output, of every call of the agent's model in the run (steps, plans,
  sampling for tool servers) count from each response's usage. A provider reports usage after the
  call, so the run ends after the step whose call reached `max_tokens` (that step still acts: its
  answer is paid for, and may be the final one), in state `max_tokens_reached` and without asking
  for an answer, which would spend more. `max_output_tokens_per_step` is each model call's
  `max_tokens`: the provider stops the model's answer there.
* **Wall time**: at `max_seconds` after the run started (once the agent's servers are open), the run
  is stopped wherever it is (the model call, the code, the tool calls in flight are cancelled) and
  ends in state `max_time_reached`, without an answer. A step past `max_seconds_per_step` is stopped
  the same way, and the run goes on: the model reads that the step was stopped. (A `CodeAgent`'s
  `step_timeout` is another limit: the code's own time in a step, tool calls and the model call not
  counted.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Literal

import anyio

from mcpagents.errors import ConfigError, ToolError

if TYPE_CHECKING:
    from mcpagents.models.messages import TokenUsage

BudgetState = Literal["max_tool_calls_reached", "max_tokens_reached", "max_time_reached"]
"""How a run that a budget ended ends (a `RunState`)."""

ENDINGS: Mapping[str, str] = {
    "max_tool_calls_reached": "its tool calls were used up; the output is its best answer from what"
    " it learned",
    "max_tokens_reached": "its tokens were used up; it has no answer",
    "max_time_reached": "its time ran out; it has no answer",
}
"""Why a run a budget ended has the output it has, for people (the console, `mcpagents run`)."""

UNANSWERED: frozenset[str] = frozenset({"max_tokens_reached", "max_time_reached"})
"""The states of runs that end without an answer: asking the model for one would overspend."""


@dataclass(frozen=True)
class Budget:
    """What one run may spend; None is no limit (see the module for how each is kept).

    `MultiStepAgent(budget=...)` is an agent's; `run(..., budget=...)` replaces it for one run.
    """

    max_tool_calls: int | None = None
    """Tool calls of the whole run, its code's included."""
    max_tokens: int | None = None
    """Input and output tokens of the agent's model over the whole run."""
    max_seconds: float | None = None
    """Wall time of the whole run."""
    max_tool_calls_per_step: int | None = None
    """Tool calls of one step: those past it are refused, and the run goes on."""
    max_output_tokens_per_step: int | None = None
    """Tokens the model may write in one step (each model call's `max_tokens`)."""
    max_seconds_per_step: float | None = None
    """Wall time of one step, the model call included: a step past it is stopped, and the run goes on."""

    def __post_init__(self) -> None:
        for limit in fields(self):
            value = getattr(self, limit.name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
            ):
                raise ConfigError(f"Budget.{limit.name} must be a positive number or None, not {value!r}")


class RunBudget:
    """One run's budget and what the run has spent of it (`RunContext.budget`)."""

    def __init__(self, limits: Budget) -> None:
        self.limits = limits
        self.tool_calls = 0
        self.tokens = 0
        self.step_tool_calls = 0
        self.deadline = math.inf if limits.max_seconds is None else anyio.current_time() + limits.max_seconds
        """When the run is stopped, on the event loop's clock (`anyio.current_time()`)."""

    def start_step(self) -> None:
        self.step_tool_calls = 0

    def take_tool_call(self, tool: str) -> None:
        """Count a tool call about to start, or raise the `ToolError` that refuses it."""
        limits = self.limits
        if limits.max_tool_calls is not None and self.tool_calls >= limits.max_tool_calls:
            raise ToolError(
                f"{tool}() was not called: this run's budget of {limits.max_tool_calls} tool calls"
                " (max_tool_calls) is used up; answer from what you have",
                tool=tool,
            )
        if (
            limits.max_tool_calls_per_step is not None
            and self.step_tool_calls >= limits.max_tool_calls_per_step
        ):
            raise ToolError(
                f"{tool}() was not called: this step's budget of {limits.max_tool_calls_per_step} tool"
                " calls (max_tool_calls_per_step) is used up; make further calls in the next step",
                tool=tool,
            )
        self.tool_calls += 1
        self.step_tool_calls += 1

    def count_tokens(self, usage: TokenUsage) -> None:
        self.tokens += usage.total_tokens

    def output_tokens(self, requested: int | None) -> int | None:
        """The `max_tokens` of a model call that asked for `requested`, within the step's budget."""
        cap = self.limits.max_output_tokens_per_step
        return requested if cap is None else min(cap, requested or cap)

    def spent(self) -> BudgetState | None:
        """The budget the run has used up, if any (the time budget ends a run without being asked)."""
        if self.limits.max_tokens is not None and self.tokens >= self.limits.max_tokens:
            return "max_tokens_reached"
        if self.limits.max_tool_calls is not None and self.tool_calls >= self.limits.max_tool_calls:
            return "max_tool_calls_reached"
        return None

    def step_stopped(self) -> str:
        """What the model reads of a step stopped at the step's time budget."""
        return (
            f"This step was stopped: it ran past its time budget of {self.limits.max_seconds_per_step:g} s"
            " (max_seconds_per_step), and what it was running was cancelled (code that was stopped"
            " loses its variables: define again what you need). Take smaller steps."
        )

    def run_stopped(self) -> str:
        """What the model reads (in a conversation that goes on) of the step the run's deadline stopped."""
        return (
            "This step was stopped, and the run with it: the run's time budget of"
            f" {self.limits.max_seconds:g} s (max_seconds) ran out."
        )
