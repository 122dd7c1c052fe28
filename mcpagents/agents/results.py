"""What a run produced: `RunResult`, and the events a streamed run yields as they happen."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mcpagents.agents.budgets import BudgetState
from mcpagents.agents.memory import (
    ActionStep,
    FinalAnswerStep,
    PlanningStep,
    Step,
    step_from_dict,
    step_to_dict,
)
from mcpagents.connections.interaction import LogMessage
from mcpagents.models.messages import ChatMessage, TokenUsage

RunState = Literal["success", "max_steps_reached", BudgetState, "error"]
"""How a run ended: a final answer, out of steps, a `Budget` used up, or an error."""


@dataclass(frozen=True)
class Timing:
    """Wall-clock time of a run (epoch seconds) and of each of its planning and action steps."""

    start: float
    end: float
    steps: tuple[float, ...] = ()

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class RunResult:
    """The whole story of a run: `agent.run(task, return_full_result=True)`.

    `state` is `success`, `max_steps_reached` or `max_tool_calls_reached` (the output is the model's
    best answer from memory), `max_tokens_reached` or `max_time_reached` (no output: asking for one
    would overspend), or `error` (the run could not go on: `error` says why, and `exception` is what
    was raised).
    """

    output: Any
    state: RunState
    steps: list[Step]
    token_usage: TokenUsage
    timing: Timing
    messages: list[ChatMessage] = field(default_factory=list)
    error: str | None = None
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    """What ended a run in state `error` (a `ModelError`); not kept by `to_dict`."""

    @property
    def step_token_usage(self) -> list[TokenUsage]:
        """Tokens of each planning and action step, in order."""
        return [step.usage for step in self.steps if isinstance(step, PlanningStep | ActionStep)]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.outcome(),
            "steps": [step_to_dict(step) for step in self.steps],
            "messages": [message.to_dict() for message in self.messages],
        }

    def outcome(self) -> dict[str, Any]:
        """How the run ended: `to_dict()` without the steps and messages."""
        return {
            "output": self.output,
            "state": self.state,
            "error": self.error,
            "token_usage": {
                "input_tokens": self.token_usage.input_tokens,
                "output_tokens": self.token_usage.output_tokens,
            },
            "timing": {"start": self.timing.start, "end": self.timing.end, "steps": list(self.timing.steps)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        timing = data["timing"]
        return cls(
            output=data.get("output"),
            state=data["state"],
            steps=[step_from_dict(step) for step in data.get("steps", [])],
            token_usage=TokenUsage(**data["token_usage"]),
            timing=Timing(timing["start"], timing["end"], tuple(timing.get("steps", ()))),
            messages=[ChatMessage.from_dict(message) for message in data.get("messages", [])],
            error=data.get("error"),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str)

    @classmethod
    def from_json(cls, text: str) -> RunResult:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class ModelDelta:
    """A piece of the model's output as it streams in."""

    step_number: int
    text: str


@dataclass(frozen=True)
class CodeAction:
    """The code a CodeAgent is about to run."""

    step_number: int
    code: str


@dataclass(frozen=True)
class ToolCallStarted:
    step_number: int
    name: str
    arguments: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class ToolCallFinished:
    step_number: int
    name: str
    result: Any = None
    error: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class ToolProgress:
    """A progress report from a running tool (a managed agent reports its steps this way)."""

    step_number: int
    name: str
    progress: float
    total: float | None
    message: str | None


@dataclass(frozen=True)
class SamplingCall:
    """A tool server had the agent's model complete a prompt (MCP sampling); its tokens count in
    the step's usage."""

    step_number: int
    server: str
    usage: TokenUsage
    text: str


@dataclass(frozen=True)
class ServerMessage:
    """A log message a tool server sent while the run was calling it."""

    step_number: int
    message: LogMessage


@dataclass(frozen=True)
class InputRequested:
    """A tool server (or the agent, through `ask_user`) asked for input, and how it was answered."""

    step_number: int
    server: str
    message: str
    action: str


AgentEvent = (
    ModelDelta
    | CodeAction
    | ToolCallStarted
    | ToolProgress
    | ToolCallFinished
    | SamplingCall
    | ServerMessage
    | InputRequested
    | PlanningStep
    | ActionStep
    | FinalAnswerStep
    | RunResult
)
"""What `run(task, stream=True)` yields: deltas and tool calls as they happen, each step once it is
complete, the final answer, and the `RunResult` last."""
