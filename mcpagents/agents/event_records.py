"""A run's events as JSON data: what run logs keep and what the hub page streams.

Each record is a dict with a `type` (`model_delta`, `code`, `tool_call`, `tool_progress`,
`tool_result`, `sampling`, `server_message`, `input_requested`, `planning`, `action`,
`final_answer`, `result`) and the event's fields; images become `{"type": "image", "mime_type",
"data"}` with base64 data.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mcpagents.agents.memory import ActionStep, FinalAnswerStep, PlanningStep, step_to_dict
from mcpagents.agents.results import (
    AgentEvent,
    CodeAction,
    InputRequested,
    ModelDelta,
    RunResult,
    SamplingCall,
    ServerMessage,
    ToolCallFinished,
    ToolCallStarted,
    ToolProgress,
)
from mcpagents.json_data import to_json

EVENT_TYPES: dict[type, str] = {
    ModelDelta: "model_delta",
    CodeAction: "code",
    ToolCallStarted: "tool_call",
    ToolProgress: "tool_progress",
    ToolCallFinished: "tool_result",
    SamplingCall: "sampling",
    ServerMessage: "server_message",
    InputRequested: "input_requested",
}


def event_record(event: AgentEvent) -> dict[str, Any]:
    """`event` as JSON data with its `type` first."""
    if isinstance(event, PlanningStep | ActionStep | FinalAnswerStep):
        # JSON data (tool calls' arguments come as JSON, their results are kept as JSON data), but
        # for the answer, which may be anything
        data = step_to_dict(event)
        for key in _GIVEN_VALUES.intersection(data):
            data[key] = to_json(data[key])
        return {"type": data.pop("kind"), **data}
    if isinstance(event, RunResult):  # its steps came as their own records
        return {"type": "result", **to_json(event.outcome())}
    kind = type(event)
    names = _FIELDS.get(kind) or _FIELDS.setdefault(kind, tuple(f.name for f in dataclasses.fields(event)))
    return {"type": EVENT_TYPES[kind], **{name: to_json(getattr(event, name)) for name in names}}


_GIVEN_VALUES = frozenset({"final_answer", "output"})
"""A step's values that may be anything (content objects, bytes): made JSON data like tool results."""

_FIELDS: dict[type, tuple[str, ...]] = {}
"""Each event type's field names, found once (a run records thousands of events)."""
