"""Step callbacks, in both of smolagents' spellings: a list (called with each planning and action
step) or a dict `{StepType: callback or [callbacks]}` (called with steps of that type, subclasses
included, the final answer step too). A callback with an `agent` parameter (or `**kwargs`) is
called as smolagents calls it, `callback(step, agent=agent)`; others with the step alone."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mcpagents.agents.memory import ActionStep, PlanningStep, Step

StepCallback = Callable[..., object]
"""`(step)` or `(step, agent)`; may be async."""

StepCallbacksArgument = Sequence[StepCallback] | Mapping[type[Step], StepCallback | Sequence[StepCallback]]


def takes_agent(function: Callable[..., Any]) -> bool:
    """Whether smolagents would hand `function` the agent (`agent=`): it names it or takes `**kwargs`."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: the step alone
        return False
    return any(p.name == "agent" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


class StepCallbacks:
    """The callbacks of an agent, each with the step types it is for."""

    def __init__(self, callbacks: StepCallbacksArgument) -> None:
        self.registered: list[tuple[tuple[type[Step], ...], StepCallback]] = []
        if isinstance(callbacks, Mapping):
            for step_type, given in callbacks.items():
                for callback in [given] if callable(given) else list(given):
                    self.registered.append(((step_type,), callback))
        else:
            self.registered = [((PlanningStep, ActionStep), callback) for callback in callbacks]

    async def call(self, step: Step, agent: object) -> None:
        for types, callback in self.registered:
            if isinstance(step, types):
                outcome = callback(step, agent=agent) if takes_agent(callback) else callback(step)
                if inspect.isawaitable(outcome):
                    await outcome
