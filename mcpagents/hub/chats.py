"""Chats of the hub page: a conversation with one agent each, one run at a time, its events turned
into JSON records (`event_record`) as they happen, cancellable, asking the page what servers ask.

A run belongs to the hub, not to the HTTP request that streams it: it runs in the hub's task group
and publishes its records to a memory stream that the request reads. Each turn continues the chat's
`Conversation` (`reset=False`, as a served agent continues a `conversation_id`), so the agent sees
the earlier turns; one agent serves any number of chats, each with its own conversation. A request
that stops reading (the page was closed) cancels its run: nobody is left to see it or to answer.

Records besides the events: `{"type": "run", "run", "chat", "agent"}` first; a `question` (see
`questions`); `{"type": "cancelled"}` or `{"type": "failed", "error"}`; and `{"type": "end"}` last.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from mcpagents.agents.conversation import Conversation
from mcpagents.agents.event_records import event_record
from mcpagents.connections.interaction import Interaction
from mcpagents.errors import MCPAgentsError, UsageError
from mcpagents.hub.questions import PageQuestions

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent

logger = logging.getLogger(__name__)

MAX_CHATS = 100
"""Chats kept at once; beyond, the one idle the longest is forgotten (its conversation closed)."""


class ChatBusy(Exception):
    """The chat's previous run is still going: a conversation takes one turn at a time."""


class ChatRun:
    """One turn of a chat: the agent's run on a task, published as records to `records`."""

    def __init__(self, chat: Chat) -> None:
        self.id = secrets.token_hex(8)
        self.chat = chat
        self.scope = anyio.CancelScope()
        self._send, self.records = anyio.create_memory_object_stream[dict[str, Any]](math.inf)
        self.questions = PageQuestions(self.publish)

    def publish(self, record: dict[str, Any]) -> None:
        with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._send.send_nowait(record)  # unless the page stopped reading: then the run is being cancelled

    def cancel(self) -> None:
        self.scope.cancel()

    async def execute(self, task: str) -> None:
        agent = self.chat.agent
        interaction = Interaction(elicitation=self.questions)
        with self._send:
            self.publish({"type": "run", "run": self.id, "chat": self.chat.id, "agent": agent.name})
            with self.scope:
                try:
                    events = agent.arun(
                        task,
                        stream=True,
                        reset=False,
                        conversation=self.chat.conversation,
                        interaction=interaction,
                    )
                    async for event in events:
                        self.publish(event_record(event))
                except MCPAgentsError as error:
                    self.publish({"type": "failed", "error": f"agent {agent.name!r} could not run: {error}"})
                except Exception as error:
                    logger.exception("agent %r failed", agent.name)
                    self.publish({"type": "failed", "error": f"{type(error).__name__}: {error}"})
            if self.scope.cancelled_caught:
                self.publish({"type": "cancelled"})
            self.publish({"type": "end"})


@dataclass
class Chat:
    id: str
    agent: MultiStepAgent
    conversation: Conversation = field(default_factory=Conversation)
    run: ChatRun | None = None


class Chats:
    """The hub's chats and their runs. Use `running()` around serving: runs need its task group."""

    def __init__(self, agents: Sequence[MultiStepAgent]) -> None:
        self.agents = {str(agent.name): agent for agent in agents}
        self._chats: dict[str, Chat] = {}  # oldest first: a chat moves to the end when it runs
        self._tasks: TaskGroup | None = None

    def new(self, agent: str) -> Chat:
        """A new chat with the agent named `agent` (`KeyError` if there is none)."""
        chat = Chat(secrets.token_hex(8), self.agents[agent])
        self._chats[chat.id] = chat
        idle = [old for old in self._chats.values() if old.run is None and old is not chat]
        for old in idle[: max(0, len(self._chats) - MAX_CHATS)]:
            del self._chats[old.id]
            self._spawn(old.conversation.aclose)
        return chat

    def get(self, chat_id: str) -> Chat:
        """The chat `chat_id` (`KeyError` if there is none)."""
        return self._chats[chat_id]

    def start(self, chat: Chat, task: str) -> ChatRun:
        """Start the chat's next turn; `ChatBusy` while its previous one runs."""
        if chat.run is not None:
            raise ChatBusy(f"chat {chat.id} is still running: wait for its answer, or cancel it")
        run = chat.run = ChatRun(chat)
        self._chats[chat.id] = self._chats.pop(chat.id)

        async def execute() -> None:
            try:
                await run.execute(task)
            finally:
                chat.run = None

        self._spawn(execute)
        return run

    def cancel_all(self) -> None:
        """Cancel every running turn (the hub is stopping): their streams end at once."""
        for chat in self._chats.values():
            if chat.run is not None:
                chat.run.cancel()

    def _spawn(self, function: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._tasks is None:
            raise UsageError("the hub's chats are not running: use `async with chats.running():`")
        self._tasks.start_soon(function)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Runs may start inside; on the way out they are cancelled, and conversations and agents closed."""
        try:
            async with anyio.create_task_group() as tasks:
                self._tasks = tasks
                try:
                    yield
                finally:
                    self._tasks = None
                    tasks.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                for chat in self._chats.values():
                    await chat.conversation.aclose()
                for agent in self.agents.values():
                    await agent.aclose()
