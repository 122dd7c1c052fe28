"""The conversations a served agent keeps: continuation, one call at a time, a cap, idle expiry."""

from __future__ import annotations

import anyio
import pytest

from mcpagents.agents import conversation_store as module
from mcpagents.agents.conversation_store import Conversations, parse_conversation_id
from mcpagents.errors import AgentError

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(module.time, "monotonic", clock)
    return clock


async def test_an_id_gives_back_its_conversation_and_none_gives_a_fresh_one() -> None:
    kept = Conversations()
    async with kept.use("c1") as first:
        pass
    async with kept.use("c1") as again, kept.use(None) as fresh:
        assert again is first and fresh is not first
    assert "c1" in kept and len(kept) == 1


@pytest.mark.parametrize("absent", [None, "", " ", "\t\n", "null", "NULL", " None ", "undefined"])
def test_ids_that_stand_for_none_name_no_conversation(absent: str | None) -> None:
    assert parse_conversation_id(absent) is None


def test_an_id_is_taken_as_given_up_to_its_length_cap() -> None:
    assert parse_conversation_id(" c1") == " c1"
    assert parse_conversation_id("n" * 200) == "n" * 200
    with pytest.raises(ValueError, match="has 201 characters; a conversation id has at most 200"):
        parse_conversation_id("n" * 201)


async def test_calls_to_one_conversation_take_turns() -> None:
    kept = Conversations()
    order: list[str] = []
    first_inside = anyio.Event()

    async def first() -> None:
        async with kept.use("c1"):
            order.append("first in")
            first_inside.set()
            await anyio.wait_all_tasks_blocked()
            order.append("first out")

    async def second() -> None:
        await first_inside.wait()
        async with kept.use("c1"):
            order.append("second in")

    async with anyio.create_task_group() as group:
        group.start_soon(first)
        group.start_soon(second)
    assert order == ["first in", "first out", "second in"]


async def test_a_full_store_drops_the_conversation_idle_longest(clock: Clock) -> None:
    kept = Conversations(max_conversations=2)
    for name in ("old", "recent"):
        async with kept.use(name):
            clock.now += 1
    async with kept.use("new"):
        assert "old" not in kept and "recent" in kept and "new" in kept


async def test_a_full_store_of_busy_conversations_refuses_another() -> None:
    kept = Conversations(max_conversations=2)
    async with kept.use("a"), kept.use("b"):
        with pytest.raises(AgentError, match="all 2 conversations are in use"):
            async with kept.use("c"):
                pass
    assert sorted(name for name in ("a", "b", "c") if name in kept) == ["a", "b"]


async def test_idle_conversations_expire(clock: Clock) -> None:
    kept = Conversations(idle_expiry=60)
    async with kept.use("stale"):
        pass
    async with kept.use("busy"):
        clock.now += 61
        async with kept.use("fresh"):
            assert "stale" not in kept, "idle for more than 60 s"
            assert "busy" in kept, "a conversation in use never expires"
