"""The conversations a served agent keeps for callers that pass a `conversation_id`.

Kept in memory only: each is dropped (and its CodeAgent worker stopped) after `idle_expiry`
seconds without a call, and when `max_conversations` are kept, starting another drops the one
idle the longest. Calls to one conversation run one after the other; a call without an id is a
fresh conversation of its own, closed when it ends. A conversation belongs to its owner (the key of
the caller who started it, `Caller.key`): the same id from another owner is another conversation.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

import anyio

from mcpagents.agents.conversation import Conversation
from mcpagents.errors import AgentError, ConfigError

DEFAULT_IDLE_EXPIRY = 30 * 60.0
DEFAULT_MAX_CONVERSATIONS = 100
MAX_ID_CHARACTERS = 200
_MEANING_NONE = frozenset({"", "null", "none", "undefined"})
"""Conversation ids that stand for none: what clients send for an unset field, blank or stringified."""


@dataclass
class _Kept:
    conversation: Conversation = field(default_factory=Conversation)
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    calls: int = 0
    """Calls holding or waiting for the lock: a conversation in use is never dropped."""


class Conversations:
    def __init__(
        self, idle_expiry: float = DEFAULT_IDLE_EXPIRY, max_conversations: int = DEFAULT_MAX_CONVERSATIONS
    ) -> None:
        if idle_expiry <= 0 or max_conversations <= 0:
            raise ConfigError("idle_expiry and max_conversations must be positive")
        self.idle_expiry = idle_expiry
        self.max_conversations = max_conversations
        self._kept: dict[tuple[str, str], _Kept] = {}
        """By owner and id."""

    def __len__(self) -> int:
        return len(self._kept)

    def __contains__(self, conversation_id: str) -> bool:
        """Whether the anonymous caller has a conversation of this id."""
        return ("", conversation_id) in self._kept

    @asynccontextmanager
    async def use(self, conversation_id: str | None, owner: str = "") -> AsyncIterator[Conversation]:
        """`owner`'s conversation to run a call in, held for the call (others with the same id wait)."""
        if conversation_id is None:
            async with fresh_conversation() as conversation:
                yield conversation
            return
        await self._drop_expired()
        dropped: list[_Kept] = []
        kept = self._kept.get((owner, conversation_id))
        if kept is None:
            kept, dropped = self._start((owner, conversation_id))
        kept.calls += 1
        try:
            await _close(dropped)
            async with kept.lock:
                yield kept.conversation
        finally:
            kept.calls -= 1
            kept.last_used = time.monotonic()

    async def aclose(self) -> None:
        kept, self._kept = self._kept, {}
        await _close(list(kept.values()))

    def _start(self, key: tuple[str, str]) -> tuple[_Kept, list[_Kept]]:
        """A new conversation, and the one it displaces when all places are taken. No await here:
        two calls starting one id must share one conversation."""
        dropped = []
        if len(self._kept) >= self.max_conversations:
            idle = [(entry.last_used, key) for key, entry in self._kept.items() if entry.calls == 0]
            if not idle:
                raise AgentError(
                    f"all {self.max_conversations} conversations are in use; try again when one is done"
                )
            dropped.append(self._kept.pop(min(idle)[1]))
        kept = self._kept[key] = _Kept()
        return kept, dropped

    async def _drop_expired(self) -> None:
        now = time.monotonic()
        expired = [
            key
            for key, entry in self._kept.items()
            if entry.calls == 0 and now - entry.last_used > self.idle_expiry
        ]
        await _close([self._kept.pop(key) for key in expired])


def parse_conversation_id(value: str | None) -> str | None:
    """The conversation a call names, or None for a fresh one: also when the id is blank or a word
    standing for a missing value (`null`, `None`, `undefined`), which every caller of a client that
    always sends each field would otherwise share. Raises ValueError for an id over MAX_ID_CHARACTERS."""
    if value is None or value.strip().lower() in _MEANING_NONE:
        return None
    if len(value) > MAX_ID_CHARACTERS:
        raise ValueError(f"has {len(value)} characters; a conversation id has at most {MAX_ID_CHARACTERS}")
    return value


class ConversationStore(Protocol):
    """Where a served agent keeps its conversations: `Conversations` (this process's memory) or
    `SharedConversations` (a file that the workers of a server share)."""

    def use(self, conversation_id: str | None, owner: str = "") -> AbstractAsyncContextManager[Conversation]:
        """The conversation `conversation_id` of `owner` (a `Caller.key`; "": the anonymous caller),
        held for one call; a fresh one for None."""
        ...

    async def aclose(self) -> None: ...

    def __len__(self) -> int: ...


@asynccontextmanager
async def fresh_conversation() -> AsyncIterator[Conversation]:
    """A conversation for one call that names none, closed after it."""
    conversation = Conversation()
    try:
        yield conversation
    finally:
        with anyio.CancelScope(shield=True):
            await conversation.aclose()


async def _close(entries: list[_Kept]) -> None:
    with anyio.CancelScope(shield=True):
        for entry in entries:
            await entry.conversation.aclose()
