"""A conversation: the memory runs share when they continue one another, and the Python state a
CodeAgent keeps between them. An agent has one of its own; a served agent keeps one per
`conversation_id`, so concurrent callers never see each other's steps."""

from __future__ import annotations

from dataclasses import dataclass, field

from mcpagents.agents.memory import AgentMemory
from mcpagents.sandbox.executor import PythonExecutor


@dataclass
class Conversation:
    memory: AgentMemory = field(default_factory=AgentMemory)
    executor: PythonExecutor | None = None
    """A CodeAgent's worker, kept after a run for one that continues it (`reset=False`)."""

    async def aclose(self) -> None:
        """Stop the kept worker, if any; the memory stays readable."""
        executor, self.executor = self.executor, None
        if executor is not None:
            await executor.aclose()
