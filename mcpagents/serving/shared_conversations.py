"""Conversations kept in a SQLite file that the worker processes of one server share
(`mcpagents serve --workers N --conversation-store FILE`).

A call to a conversation takes the conversation's lease (its row's holder, renewed while the call
runs), reads its memory, and writes the memory back when done: any worker continues any
conversation, one call at a time. A lease whose holder died expires after `lease` seconds. A
CodeAgent's Python variables stay in the process that made them: a call that reaches another
worker continues the memory with fresh variables. As in `Conversations`, a conversation belongs to
the caller who started it: its row is keyed by `owned_name(owner, id)`.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from mcpagents.agents.caller_identity import owned_name
from mcpagents.agents.conversation import Conversation
from mcpagents.agents.conversation_store import (
    DEFAULT_IDLE_EXPIRY,
    DEFAULT_MAX_CONVERSATIONS,
    fresh_conversation,
)
from mcpagents.agents.memory import AgentMemory
from mcpagents.errors import AgentError, ConfigError
from mcpagents.serving.shared_database import SharedDatabase

logger = logging.getLogger("mcpagents.serving")

DEFAULT_LEASE = 30.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    agent TEXT NOT NULL,
    id TEXT NOT NULL,
    memory TEXT,
    version INTEGER NOT NULL,
    last_used REAL NOT NULL,
    holder TEXT,
    held_until REAL,
    PRIMARY KEY (agent, id)
)
"""


@dataclass
class _Local:
    """A conversation this process ran last, kept for its CodeAgent worker while nobody else ran it."""

    conversation: Conversation
    version: int
    last_used: float


class SharedConversations:
    """The store of `Conversations`, in a SQLite file instead of this process's memory."""

    def __init__(
        self,
        path: str | Path,
        agent: str,
        idle_expiry: float = DEFAULT_IDLE_EXPIRY,
        max_conversations: int = DEFAULT_MAX_CONVERSATIONS,
        *,
        lease: float = DEFAULT_LEASE,
    ) -> None:
        if idle_expiry <= 0 or max_conversations <= 0 or lease <= 0:
            raise ConfigError("idle_expiry, max_conversations and lease must be positive")
        self.path = Path(path)
        self.agent = agent
        """Whose conversations these are: the agents of a server share one file."""
        self.idle_expiry = idle_expiry
        self.max_conversations = max_conversations
        self.lease = lease
        self._database = SharedDatabase(self.path, _SCHEMA)
        self._local: dict[str, _Local] = {}

    def __len__(self) -> int:
        (count,) = self._query("SELECT COUNT(*) FROM conversations WHERE agent = ?", self.agent)[0]
        return int(count)

    def __contains__(self, conversation_id: str) -> bool:
        """Whether the anonymous caller has a conversation of this id."""
        row = owned_name("", conversation_id)
        return bool(self._query("SELECT 1 FROM conversations WHERE agent = ? AND id = ?", self.agent, row))

    @asynccontextmanager
    async def use(self, conversation_id: str | None, owner: str = "") -> AsyncIterator[Conversation]:
        """`owner`'s conversation to run a call in, held for the call (other calls with the id
        wait, in any process)."""
        if conversation_id is None:
            async with fresh_conversation() as fresh:
                yield fresh
            return
        row = owned_name(owner, conversation_id)
        holder = uuid.uuid4().hex
        memory, version = await self._acquire(row, holder)
        conversation: Conversation | None = None
        try:
            conversation = await self._conversation(row, memory, version)
            async with anyio.create_task_group() as renewals:
                renewals.start_soon(self._renew, row, holder)
                try:
                    yield conversation
                finally:
                    renewals.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._give_back(row, holder, conversation, memory)

    async def _give_back(
        self, conversation_id: str, holder: str, conversation: Conversation | None, memory: str | None
    ) -> None:
        """Save the conversation (`memory` unchanged if it could not be read) and end the lease."""
        saved_memory = conversation.memory.to_json() if conversation is not None else memory
        saved = await anyio.to_thread.run_sync(self._release, conversation_id, holder, saved_memory)
        if conversation is None:
            return
        if saved is None:
            logger.warning(
                "conversation %r: its lease ran out during a call, whose steps are lost", conversation_id
            )
            await conversation.aclose()
        else:
            self._local[conversation_id] = _Local(conversation, saved, time.monotonic())

    async def aclose(self) -> None:
        local, self._local = self._local, {}
        with anyio.CancelScope(shield=True):
            for entry in local.values():
                await entry.conversation.aclose()
        self._database.close()

    # -- this process's copies ---------------------------------------------------------------------------

    async def _conversation(self, conversation_id: str, memory: str | None, version: int) -> Conversation:
        """This process's copy if it is the latest (it keeps a CodeAgent's variables), else one read
        from the store. Copies idle too long go."""
        now = time.monotonic()
        idle = [key for key, entry in self._local.items() if now - entry.last_used > self.idle_expiry]
        dropped = [self._local.pop(key) for key in idle if key != conversation_id]
        local = self._local.pop(conversation_id, None)
        if local is not None and local.version != version:  # another process ran it since
            dropped.append(local)
            local = None
        with anyio.CancelScope(shield=True):
            for entry in dropped:
                await entry.conversation.aclose()
        if local is not None:
            return local.conversation
        return Conversation(memory=AgentMemory.from_json(memory) if memory else AgentMemory())

    # -- the file ----------------------------------------------------------------------------------------

    async def _acquire(self, conversation_id: str, holder: str) -> tuple[str | None, int]:
        pause = 0.02
        while (taken := await anyio.to_thread.run_sync(self._try_acquire, conversation_id, holder)) is None:
            await anyio.sleep(pause)  # another call holds it, maybe in another process: ask again
            pause = min(pause * 2, 0.5)
        return taken

    def _try_acquire(self, conversation_id: str, holder: str) -> tuple[str | None, int] | None:
        """`(memory, version)` with the lease taken, or None while someone else holds it."""
        now = time.time()
        with self._database.transaction() as database:
            database.execute(
                "DELETE FROM conversations WHERE agent = ? AND (holder IS NULL OR held_until < ?)"
                " AND last_used < ?",
                (self.agent, now, now - self.idle_expiry),
            )
            row = database.execute(
                "SELECT memory, version, holder, held_until FROM conversations WHERE agent = ? AND id = ?",
                (self.agent, conversation_id),
            ).fetchone()
            if row is not None and row[2] is not None and row[3] >= now:
                return None
            if row is None:
                self._make_room(database, now)
                database.execute(
                    "INSERT INTO conversations VALUES (?, ?, NULL, 0, ?, ?, ?)",
                    (self.agent, conversation_id, now, holder, now + self.lease),
                )
                return None, 0
            database.execute(
                "UPDATE conversations SET holder = ?, held_until = ? WHERE agent = ? AND id = ?",
                (holder, now + self.lease, self.agent, conversation_id),
            )
            return row[0], int(row[1])

    def _make_room(self, database: sqlite3.Connection, now: float) -> None:
        (count,) = database.execute(
            "SELECT COUNT(*) FROM conversations WHERE agent = ?", (self.agent,)
        ).fetchone()
        if count < self.max_conversations:
            return
        idle = database.execute(
            "SELECT id FROM conversations WHERE agent = ? AND (holder IS NULL OR held_until < ?)"
            " ORDER BY last_used LIMIT 1",
            (self.agent, now),
        ).fetchone()
        if idle is None:
            raise AgentError(
                f"all {self.max_conversations} conversations are in use; try again when one is done"
            )
        database.execute("DELETE FROM conversations WHERE agent = ? AND id = ?", (self.agent, idle[0]))

    async def _renew(self, conversation_id: str, holder: str) -> None:
        while True:
            await anyio.sleep(self.lease / 3)
            await anyio.to_thread.run_sync(
                self._query,
                "UPDATE conversations SET held_until = ? WHERE agent = ? AND id = ? AND holder = ?",
                time.time() + self.lease,
                self.agent,
                conversation_id,
                holder,
            )

    def _release(self, conversation_id: str, holder: str, memory: str | None) -> int | None:
        """Save the memory and give the lease back: the new version, or None if the lease was lost."""
        with self._database.transaction() as database:
            saved = database.execute(
                "UPDATE conversations SET memory = ?, version = version + 1, last_used = ?, holder = NULL,"
                " held_until = NULL WHERE agent = ? AND id = ? AND holder = ?",
                (memory, time.time(), self.agent, conversation_id, holder),
            )
            if saved.rowcount == 0:
                return None
            (version,) = database.execute(
                "SELECT version FROM conversations WHERE agent = ? AND id = ?", (self.agent, conversation_id)
            ).fetchone()
            return int(version)

    def _query(self, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
        with self._database.transaction() as database:
            return database.execute(sql, parameters).fetchall()
