"""What an agent remembers of a run: the task, its plans and its steps, serialisable to JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mcpagents.errors import ConfigError
from mcpagents.models.messages import ChatMessage, TokenUsage
from mcpagents.tools.image import Image, ImageInput


@dataclass
class ToolCallRecord:
    """One tool call of a step: what was asked, and what came back (a result or an error)."""

    name: str
    arguments: dict[str, Any]
    id: str | None = None
    result: Any = None
    error: str | None = None
    size: int | None = None
    """For a result longer than the agent's `result_limit`: its length in characters (`result`
    then holds its start)."""


@dataclass
class TaskStep:
    task: str
    images: list[Image] = field(default_factory=list)
    kind: Literal["task"] = "task"


@dataclass
class PlanningStep:
    """A plan: the facts known, the facts to find, and the steps to take."""

    plan: str
    usage: TokenUsage = field(default_factory=TokenUsage)
    started: float = 0.0
    duration: float = 0.0
    kind: Literal["planning"] = "planning"


@dataclass
class ActionStep:
    """One step of the loop: the model's output, the action taken (code or tool calls), and what the
    model will observe next (results, output, or the error to correct)."""

    step_number: int
    model_output: str = ""
    code: str | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    observations: str = ""
    error: str | None = None
    final_answer: Any = None
    is_final_answer: bool = False
    usage: TokenUsage = field(default_factory=TokenUsage)
    started: float = 0.0
    duration: float = 0.0
    observations_images: list[ImageInput] | None = field(default_factory=list)
    """Images the model sees with this step's observations: smolagents' name, which step callbacks
    fill with screenshots (PIL images, paths or `Image`s) and empty (None too) to drop old ones."""
    kind: Literal["action"] = "action"


@dataclass
class FinalAnswerStep:
    output: Any
    kind: Literal["final_answer"] = "final_answer"


Step = TaskStep | PlanningStep | ActionStep | FinalAnswerStep


@dataclass
class AgentMemory:
    """The system prompt and the steps of the conversation so far (`reset=False` keeps them)."""

    system_prompt: str = ""
    steps: list[Step] = field(default_factory=list)

    def reset(self) -> None:
        self.steps.clear()

    @property
    def action_steps(self) -> list[ActionStep]:
        return [step for step in self.steps if isinstance(step, ActionStep)]

    def return_full_code(self) -> str:
        """The code of the steps, joined: the whole program a CodeAgent wrote (smolagents' name)."""
        return "\n\n".join(step.code for step in self.action_steps if step.code)

    def to_dict(self) -> dict[str, Any]:
        return {"system_prompt": self.system_prompt, "steps": [step_to_dict(step) for step in self.steps]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentMemory:
        return cls(
            str(data.get("system_prompt", "")), [step_from_dict(step) for step in data.get("steps", [])]
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str)

    @classmethod
    def from_json(cls, text: str) -> AgentMemory:
        return cls.from_dict(json.loads(text))


def step_to_dict(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = dict(step.__dict__)
    if isinstance(step, TaskStep):
        data["images"] = _images_to_dicts(list(step.images))
    if isinstance(step, PlanningStep | ActionStep):
        data["usage"] = {"input_tokens": step.usage.input_tokens, "output_tokens": step.usage.output_tokens}
    if isinstance(step, ActionStep):
        data["tool_calls"] = [dict(call.__dict__) for call in step.tool_calls]
        data["observations_images"] = _images_to_dicts(step.observations_images or [])
    return data


def _images_to_dicts(images: list[ImageInput]) -> list[Any]:
    return [ChatMessage("user", [Image.of(image)]).to_dict()["content"][0] for image in images]


def _images_from_dicts(parts: list[Any]) -> list[Image]:
    content = ChatMessage.from_dict({"role": "user", "content": parts}).content
    return [part for part in content if isinstance(part, Image)]


def step_from_dict(data: Mapping[str, Any]) -> Step:
    fields = {key: value for key, value in data.items() if key != "kind"}
    if "usage" in fields:
        fields["usage"] = TokenUsage(**fields["usage"])
    match data.get("kind"):
        case "task":
            fields["images"] = _images_from_dicts(list(fields.get("images") or []))
            return TaskStep(**fields)
        case "planning":
            return PlanningStep(**fields)
        case "action":
            fields["tool_calls"] = [ToolCallRecord(**call) for call in fields.get("tool_calls", [])]
            fields["observations_images"] = _images_from_dicts(list(fields.get("observations_images") or []))
            return ActionStep(**fields)
        case "final_answer":
            return FinalAnswerStep(**fields)
    raise ConfigError(f"unknown step kind {data.get('kind')!r}")
