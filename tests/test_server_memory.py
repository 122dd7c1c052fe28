"""The bundled memory server over stdio: JSON values and notes that survive restarts, found by key,
tag and search; one file shared by two servers and many concurrent calls loses no write."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcpagents import StdioServer, ToolCollection, ToolError
from mcpagents.errors import ToolArgumentError
from mcpagents.servers.memory import MemoryStore, build_server
from tests.conftest import inspector

SERVER_MODULE = "mcpagents.servers.memory"


def memory_server(database: Path, name: str = "memory") -> StdioServer:
    return StdioServer(sys.executable, ["-m", SERVER_MODULE, "--db", str(database)], name=name)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """Where the store goes: its directory does not exist yet."""
    return tmp_path / "state" / "memory.sqlite3"


@pytest.fixture
def memory(database: Path) -> Iterator[ToolCollection]:
    with ToolCollection.from_mcp(memory_server(database)) as tools:
        yield tools


def test_the_tools_say_what_they_change(memory: ToolCollection) -> None:
    tools = {tool.name: tool for tool in memory}
    assert sorted(tools) == ["add_note", "delete", "delete_note", "get", "list_keys", "put", "search"]
    assert [name for name, tool in tools.items() if tool.read_only] == ["get", "list_keys", "search"]
    destructive = [
        name for name, tool in tools.items() if tool.annotations and tool.annotations.destructive_hint
    ]
    assert sorted(destructive) == ["delete", "delete_note", "put"]
    assert not tools["add_note"].idempotent and tools["put"].idempotent
    assert all(tool.output_schema is not None for tool in memory)


@pytest.mark.parametrize(
    "value",
    [{"theme": "dark", "sizes": [12, 14.5]}, ["a", 1, None, True], "Grüße, 世界", 42, 0.5, None, False],
)
def test_any_json_value_round_trips(memory: ToolCollection, value: Any) -> None:
    stored = memory["put"](key="some/key", value=value, tags=["t"])
    assert stored["value"] == value and stored["created_at"] == stored["updated_at"]
    assert memory["get"](key="some/key") == stored


def test_replacing_a_value_keeps_its_creation_time_and_tags(memory: ToolCollection) -> None:
    first = memory["put"](key="user/theme", value="dark", tags=["prefs", "ui", "prefs"])
    assert first["tags"] == ["prefs", "ui"]
    assert first["created_at"].endswith("Z") and "T" in first["created_at"]
    second = memory["put"](key="user/theme", value="light")
    assert second["value"] == "light" and second["tags"] == ["prefs", "ui"]
    assert second["created_at"] == first["created_at"] and second["updated_at"] >= first["updated_at"]
    assert memory["put"](key="user/theme", value="light", tags=[])["tags"] == []


def test_keys_are_listed_by_prefix_and_tag(memory: ToolCollection) -> None:
    memory["put"](key="user/name", value="Ada", tags=["profile"])
    memory["put"](key="user/theme", value="dark", tags=["prefs"])
    memory["put"](key="project/deadline", value="Friday", tags=["work", "prefs"])
    listed = memory["list_keys"]()
    assert [entry["key"] for entry in listed["keys"]] == ["project/deadline", "user/name", "user/theme"]
    assert listed["truncated"] is False and listed["keys"][0]["tags"] == ["work", "prefs"]
    assert [entry["key"] for entry in memory["list_keys"](prefix="user/")["keys"]] == [
        "user/name",
        "user/theme",
    ]
    assert [entry["key"] for entry in memory["list_keys"](tag="prefs")["keys"]] == [
        "project/deadline",
        "user/theme",
    ]
    assert memory["list_keys"](prefix="user/", tag="work")["keys"] == []
    assert memory["list_keys"](prefix="%")["keys"] == []


def test_search_finds_keys_values_tags_and_notes(memory: ToolCollection) -> None:
    memory["put"](key="project/deadline", value={"due": "Friday", "what": "quarterly report"}, tags=["work"])
    memory["put"](key="user/theme", value="dark", tags=["preferences"])
    note = memory["add_note"](text="Ada prefers short summaries.", tags=["style"])
    memory["add_note"](text="The quarterly numbers look fine.")
    assert note["id"] >= 1 and note["tags"] == ["style"] and note["created_at"].endswith("Z")

    def found(query: str) -> tuple[list[str], list[str]]:
        result = memory["search"](query=query)
        return [entry["key"] for entry in result["entries"]], [n["text"] for n in result["notes"]]

    assert found("deadline") == (["project/deadline"], [])
    assert found("report fri") == (["project/deadline"], [])
    assert found("preferences") == (["user/theme"], [])
    assert found("summaries") == ([], ["Ada prefers short summaries."])
    assert found("style") == ([], ["Ada prefers short summaries."])
    assert found("quarterly") == (["project/deadline"], ["The quarterly numbers look fine."])
    assert found("quarterly ada") == ([], [])
    assert found('"report" (*') == (["project/deadline"], [])
    assert found("report OR monday") == ([], [])  # every word counts; none is FTS5 syntax
    assert len(memory["search"](query="quarterly", limit=1)["notes"]) == 1


def test_deleting_entries_and_notes(memory: ToolCollection) -> None:
    memory["put"](key="temporary", value=1)
    note = memory["add_note"](text="forget me")
    assert memory["delete"](key="temporary") == {"deleted": True}
    assert memory["delete"](key="temporary") == {"deleted": False}
    assert memory["delete_note"](id=note["id"]) == {"deleted": True}
    assert memory["delete_note"](id=note["id"]) == {"deleted": False}
    assert memory["search"](query="forget") == {"entries": [], "notes": []}
    with pytest.raises(ToolError, match="nothing is stored under the key 'temporary'"):
        memory["get"](key="temporary")


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("put", {"key": "  ", "value": 1}, "the key is empty"),
        ("put", {"key": "k" * 201, "value": 1}, "the limit is 200"),
        ("put", {"key": "big", "value": "x" * 100_000}, "the limit is 100000"),
        ("put", {"key": "k", "value": 1, "tags": ["ok", " "]}, "a tag is empty"),
        ("add_note", {"text": "\n"}, "the note is empty"),
        ("search", {"query": "*** ()"}, "has no words to search for"),
    ],
)
def test_bad_input_is_refused_clearly(
    memory: ToolCollection, tool: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolError, match="failed:") as raised:
        memory[tool](**arguments)
    assert message in str(raised.value)
    assert memory["list_keys"]()["keys"] == []


def test_search_limits_are_checked_before_sending(memory: ToolCollection) -> None:
    with pytest.raises(ToolArgumentError):
        memory["search"](query="x", limit=0)


def test_memory_persists_across_restarts(database: Path) -> None:
    with ToolCollection.from_mcp(memory_server(database)) as tools:
        stored = tools["put"](key="user/name", value={"first": "Ada"}, tags=["profile"])
        tools["add_note"](text="Met Ada at the conference.", tags=["people"])
    with ToolCollection.from_mcp(memory_server(database)) as tools:
        assert tools["get"](key="user/name") == stored
        assert [note["text"] for note in tools["search"](query="conference")["notes"]] == [
            "Met Ada at the conference."
        ]
        assert tools["list_keys"](tag="profile")["keys"][0]["key"] == "user/name"


def test_the_default_store_lives_under_xdg_state_home(tmp_path: Path) -> None:
    state = tmp_path / "xdg-state"
    server = StdioServer(sys.executable, ["-m", SERVER_MODULE], env={"XDG_STATE_HOME": str(state)})
    with ToolCollection.from_mcp(server) as tools:
        tools["put"](key="where", value="here")
    with sqlite3.connect(state / "mcpagents" / "memory.sqlite3") as connection:
        assert connection.execute("SELECT key, value FROM entries").fetchall() == [("where", '"here"')]
    connection.close()


@pytest.mark.anyio
async def test_two_servers_and_many_concurrent_calls_lose_no_write(database: Path) -> None:
    writes_per_server, notes_per_server = 60, 20
    servers = [memory_server(database, name="first"), memory_server(database, name="second")]
    async with ToolCollection.from_mcp(servers) as tools:

        async def write(server: str, number: int) -> None:
            key = f"{server}/{number:03}"
            stored = await tools[f"{server}__put"].acall(key=key, value={"n": number}, tags=[server])
            assert stored["value"] == {"n": number}
            other = "second" if server == "first" else "first"
            assert (await tools[f"{other}__get"].acall(key=key))["value"] == {"n": number}

        async def note(server: str, number: int) -> None:
            await tools[f"{server}__add_note"].acall(text=f"note {number} from {server}", tags=["shared"])

        async with anyio.create_task_group() as group:
            for number in range(writes_per_server):
                for server in ("first", "second"):
                    group.start_soon(write, server, number)
                    if number < notes_per_server:
                        group.start_soon(note, server, number)

        for server in ("first", "second"):
            listed = await tools[f"{server}__list_keys"].acall()
            assert len(listed["keys"]) == 2 * writes_per_server
            found = await tools[f"{server}__search"].acall(query="note", limit=100)
            assert len(found["notes"]) == 2 * notes_per_server
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("SELECT count(*) FROM entries").fetchone() == (2 * writes_per_server,)
    connection.close()


def test_search_without_fts5_and_an_index_built_later(tmp_path: Path) -> None:
    path = tmp_path / "plain.sqlite3"
    with ToolCollection.from_mcp(build_server(MemoryStore(path, full_text=False))) as tools:
        tools["put"](key="project/deadline", value="quarterly report, Friday", tags=["work_items"])
        tools["add_note"](text="100% done with the draft")
        assert [e["key"] for e in tools["search"](query="REPORT friday")["entries"]] == ["project/deadline"]
        assert tools["search"](query="work_items")["entries"][0]["key"] == "project/deadline"
        assert tools["search"](query="work_xtems")["entries"] == []
        assert [n["text"] for n in tools["search"](query="100 draft")["notes"]] == [
            "100% done with the draft"
        ]
        assert tools["search"](query="report monday") == {"entries": [], "notes": []}
    with ToolCollection.from_mcp(build_server(MemoryStore(path, full_text=True))) as tools:
        assert [e["key"] for e in tools["search"](query="quarterly")["entries"]] == ["project/deadline"]
        assert len(tools["search"](query="draft")["notes"]) == 1


def test_the_inspector_reads_what_was_put(database: Path, tmp_path: Path) -> None:
    with ToolCollection.from_mcp(memory_server(database)) as tools:
        tools["put"](key="greeting", value={"text": "hello"}, tags=["demo"])
    called = inspector(
        sys.executable,
        "-m",
        SERVER_MODULE,
        "--db",
        str(database),
        "--method",
        "tools/call",
        "--tool-name",
        "get",
        "--tool-arg",
        "key=greeting",
        home=tmp_path,
    )
    assert called["isError"] is False
    assert called["structuredContent"]["value"] == {"text": "hello"}
    assert called["structuredContent"]["tags"] == ["demo"]
