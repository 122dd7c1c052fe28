"""What the tests' scripted models answer: a step of code, a tool call, and a model that also keeps
what it was sent."""

from __future__ import annotations

from typing import Any

from mcpagents import ChatMessage, ScriptedModel, ToolDefinition


def code(*lines: str) -> str:
    """A CodeAgent model's answer: a sentence, then the lines as one code block."""
    return "Doing it.\n```python\n" + "\n".join(lines) + "\n```"


def call(name: str, **arguments: Any) -> dict[str, Any]:
    """A ToolCallingAgent model's answer: one call of tool `name`."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


class Recorder:
    """A scripted model that also keeps every request it was sent: the messages and the tools."""

    def __init__(self, *responses: Any) -> None:
        self.requests: list[list[ChatMessage]] = []
        self.tools: list[list[ToolDefinition] | None] = []
        remaining = list(responses)

        def answer(messages: list[ChatMessage], tools: list[ToolDefinition] | None) -> Any:
            self.requests.append(messages)
            self.tools.append(tools)
            return remaining.pop(0)

        self.model = ScriptedModel(answer)
