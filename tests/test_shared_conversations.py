"""Conversations in a SQLite file shared by processes: each store object here stands for a worker
(its own connection to the file, its own copies), as `serve --workers N --conversation-store` has."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import anyio
import pytest

from mcpagents.agents.conversation import Conversation
from mcpagents.agents.memory import TaskStep
from mcpagents.errors import AgentError
from mcpagents.serving.shared_conversations import SharedConversations

pytestmark = pytest.mark.anyio


def tasks(conversation: Conversation) -> list[str]:
    return [step.task for step in conversation.memory.steps if isinstance(step, TaskStep)]


async def test_a_conversation_continues_in_another_worker(tmp_path: Path) -> None:
    first, second = (SharedConversations(tmp_path / "c.db", "helper") for _ in range(2))
    async with first.use("c1") as conversation:
        conversation.memory.steps.append(TaskStep("add 1 and 2"))
    async with second.use("c1") as conversation:
        assert tasks(conversation) == ["add 1 and 2"]
        conversation.memory.steps.append(TaskStep("recall"))
    async with first.use("c1") as again:
        assert tasks(again) == ["add 1 and 2", "recall"], "the first worker's copy is stale: read again"
    async with first.use("c1") as kept:
        assert kept is again, "nobody ran it since: this worker's copy (and a CodeAgent's variables) is kept"
    assert "c1" in second and len(second) == 1
    assert (tmp_path / "c.db").stat().st_mode & 0o777 == 0o600, "what callers said: for this user only"
    await first.aclose()
    await second.aclose()


async def test_calls_to_one_conversation_take_turns_across_workers(tmp_path: Path) -> None:
    first, second = (SharedConversations(tmp_path / "c.db", "helper") for _ in range(2))
    order: list[str] = []
    inside = anyio.Event()

    async def hold() -> None:
        async with first.use("c1"):
            order.append("first in")
            inside.set()
            await anyio.sleep(0.3)
            order.append("first out")

    async def wait_then_enter() -> None:
        await inside.wait()
        async with second.use("c1"):
            order.append("second in")

    async with anyio.create_task_group() as group:
        group.start_soon(hold)
        group.start_soon(wait_then_enter)
    assert order == ["first in", "first out", "second in"]


async def test_the_lease_of_a_worker_that_died_expires(tmp_path: Path) -> None:
    store = SharedConversations(tmp_path / "c.db", "helper", lease=0.5)
    assert "c1" not in store  # creates the file
    with sqlite3.connect(tmp_path / "c.db") as database:  # a call whose worker was killed mid-run
        database.execute(
            "INSERT INTO conversations VALUES ('helper', 'c1', NULL, 3, ?, 'dead-worker', ?)",
            (time.time(), time.time() + 0.5),
        )
    started = time.monotonic()
    with anyio.fail_after(5):
        async with store.use("c1") as conversation:
            waited = time.monotonic() - started
            assert conversation.memory.steps == []
    assert waited >= 0.3, "it waited for the lease to run out"
    await store.aclose()


async def test_agents_sharing_a_file_keep_their_own_conversations(tmp_path: Path) -> None:
    helper, writer = (
        SharedConversations(tmp_path / "c.db", "helper"),
        SharedConversations(tmp_path / "c.db", "writer"),
    )
    async with helper.use("c1") as conversation:
        conversation.memory.steps.append(TaskStep("helper's task"))
    async with writer.use("c1") as conversation:
        assert tasks(conversation) == []
    assert len(helper) == 1 and len(writer) == 1


async def test_a_full_store_drops_the_idlest_and_refuses_when_all_are_busy(tmp_path: Path) -> None:
    first, second = (SharedConversations(tmp_path / "c.db", "helper", max_conversations=2) for _ in range(2))
    async with first.use("old"):
        pass
    async with second.use("recent"):
        pass
    async with first.use("new"):
        assert "old" not in second and "recent" in second and "new" in second
        async with second.use("recent"):
            with pytest.raises(AgentError, match="all 2 conversations are in use"):
                async with second.use("another"):
                    pass


async def test_idle_conversations_expire(tmp_path: Path) -> None:
    store = SharedConversations(tmp_path / "c.db", "helper", idle_expiry=0.2)
    async with store.use("stale"):
        pass
    async with store.use("busy"):
        await anyio.sleep(0.3)
        async with store.use("fresh"):
            assert "stale" not in store, "idle for longer than 0.2 s"
            assert "busy" in store, "a conversation in use never expires"
