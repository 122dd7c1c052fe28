"""The agent types a spec file may name (`type: code`): mcpagents' own, and those of other packages.

A package adds a type under the entry-point group `mcpagents.agent_types`; in its pyproject.toml:

    [project.entry-points."mcpagents.agent_types"]
    plan_and_execute = "my_package.agents:PlanAndExecuteAgent"

or, in a program, with `register_agent_type("plan_and_execute", PlanAndExecuteAgent)`. A type is a
subclass of `MultiStepAgent` (see its hooks); a spec builds it with the keywords of `MultiStepAgent`
(`tools`, `model`, `name`, `instructions`, `max_steps`, ...), plus `executor_options` when the spec
has an `executor` section (for types that take them, like `CodeAgent`).
"""

from __future__ import annotations

import inspect
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from mcpagents.errors import ConfigError

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent

ENTRY_POINT_GROUP = "mcpagents.agent_types"

_registered: dict[str, type[MultiStepAgent]] = {}


def register_agent_type(name: str, agent_class: type[MultiStepAgent]) -> None:
    """Let spec files name `agent_class` as `type: NAME`."""
    from mcpagents.agents.base import MultiStepAgent

    if not (inspect.isclass(agent_class) and issubclass(agent_class, MultiStepAgent)):
        raise TypeError(f"agent type {name!r} must be a subclass of MultiStepAgent, not {agent_class!r}")
    _registered[name] = agent_class


def agent_type_names() -> list[str]:
    """Every name a spec may give as `type`."""
    return sorted({"code", "tool_calling", *_registered, *(point.name for point in _entry_points())})


def agent_type(name: str) -> type[MultiStepAgent]:
    """The class of the agent type `name` (`ConfigError` when no package provides it)."""
    from mcpagents.agents.base import MultiStepAgent

    if name == "code":
        from mcpagents.agents.code_agent import CodeAgent

        return CodeAgent
    if name == "tool_calling":
        from mcpagents.agents.tool_calling_agent import ToolCallingAgent

        return ToolCallingAgent
    if name in _registered:
        return _registered[name]
    for point in _entry_points():
        if point.name == name:
            try:
                loaded = point.load()
            except Exception as error:
                raise ConfigError(
                    f"agent type {name!r} ({point.value}, from {ENTRY_POINT_GROUP}) cannot be loaded: {error}"
                ) from error
            if not (inspect.isclass(loaded) and issubclass(loaded, MultiStepAgent)):
                raise ConfigError(f"agent type {name!r} ({point.value}) is not a subclass of MultiStepAgent")
            return loaded
    raise ConfigError(f"unknown agent type {name!r}: the types are {', '.join(agent_type_names())}")


def takes_executor_options(agent_class: type[MultiStepAgent]) -> bool:
    """Whether the type runs code with a code executor (its constructor takes `executor_options`)."""
    return "executor_options" in inspect.signature(agent_class).parameters


def _entry_points() -> list[EntryPoint]:
    return list(entry_points(group=ENTRY_POINT_GROUP))
