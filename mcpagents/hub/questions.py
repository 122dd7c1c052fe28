"""The questions a run's tool servers ask (MCP elicitation), put to the person at the hub page.

A question goes to the page as a record of the run's stream — `{"type": "question", "id", "server",
"message", "mode", "schema", "url"}` — and the run waits until the page posts the answer back
(`answer`) or the run is cancelled: a person may take their time, and the page's Cancel button
stops a run nobody will answer. A form's values are checked against its schema before they go to
the server, so a wrong value is refused to the page, which may correct it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import mcp_types

from mcpagents.connections.interaction import ElicitationRequest, accepted, declined
from mcpagents.tools.arguments import ArgumentChecker

Action = Literal["accept", "decline", "cancel"]
ACTIONS: tuple[Action, ...] = ("accept", "decline", "cancel")


@dataclass
class _Waiting:
    request: ElicitationRequest
    answered: anyio.Event = field(default_factory=anyio.Event)
    result: mcp_types.ElicitResult | None = None


class PageQuestions:
    """An elicitation handler that publishes each question as a record and waits for its answer."""

    def __init__(self, publish: Callable[[dict[str, Any]], None]) -> None:
        self._publish = publish
        self._waiting: dict[str, _Waiting] = {}

    async def __call__(self, request: ElicitationRequest) -> mcp_types.ElicitResult:
        question_id = secrets.token_hex(8)
        waiting = self._waiting[question_id] = _Waiting(request)
        self._publish(
            {
                "type": "question",
                "id": question_id,
                "server": request.server,
                "message": request.message,
                "mode": request.mode,
                "schema": request.schema,
                "url": request.url,
            }
        )
        try:
            await waiting.answered.wait()
        finally:
            del self._waiting[question_id]
        assert waiting.result is not None
        return waiting.result

    def answer(self, question_id: str, action: Action, content: Mapping[str, Any] | None = None) -> None:
        """Answer a waiting question: `KeyError` if none has that id, `ToolArgumentError` (naming
        the field) if `content` does not fit an accepted form."""
        waiting = self._waiting[question_id]
        request = waiting.request
        if action == "accept":
            values = dict(content or {})
            if request.mode == "form":
                values = ArgumentChecker(f"the form of {request.server}", request.schema).check(values)
            result = accepted(values) if request.mode == "form" else mcp_types.ElicitResult(action="accept")
        elif action == "decline":
            result = declined("the person at the hub page declined to answer")
        else:
            result = mcp_types.ElicitResult(action="cancel")
        waiting.result = result
        waiting.answered.set()
