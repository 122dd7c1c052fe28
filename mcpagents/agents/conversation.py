"""A conversation: the memory runs share when they continue one another, and what an agent type keeps
between them (a CodeAgent: its Python worker, with the variables). An agent has one of its own; a
served agent keeps one per `conversation_id`, so concurrent callers never see each other's steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcpagents.agents.memory import AgentMemory


@dataclass
class Conversation:
    memory: AgentMemory = field(default_factory=AgentMemory)
    state: dict[str, Any] = field(default_factory=dict)
    """What an agent type keeps for a run that continues this one (`reset=False`); a value with an
    `aclose()` method is closed with the conversation."""

    async def aclose(self) -> None:
        """Close and forget what `state` holds; the memory stays readable."""
        kept, self.state = self.state, {}
        for value in kept.values():
            if hasattr(value, "aclose"):
                await value.aclose()
