"""The bundled SQLite server over stdio: it describes and queries a database; in read-only mode the
engine refuses every write, ATTACH, dangerous pragma and function, and the files stay as they were."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from mcpagents import StdioServer, ToolCollection, ToolError
from mcpagents.errors import MCPServerError
from mcpagents.servers.sqlite import Limits, build_server
from tests.conftest import inspector

SERVER_MODULE = "mcpagents.servers.sqlite"
RUNAWAY = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"


def sqlite_server(database: Path, *flags: str) -> StdioServer:
    return StdioServer(sys.executable, ["-m", SERVER_MODULE, str(database), *flags], name="sqlite")


def create_library(path: Path) -> Path:
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
            CREATE TABLE books (
                id INTEGER PRIMARY KEY,
                author_id INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
                title TEXT NOT NULL,
                status TEXT DEFAULT 'draft',
                cover BLOB
            );
            CREATE INDEX books_by_title ON books (title);
            CREATE VIEW titles AS SELECT title FROM books;
            INSERT INTO authors (name) VALUES ('Ursula'), ('Stanisław');
            INSERT INTO books (author_id, title, cover) VALUES
                (1, 'The Dispossessed', x'89504e47'), (1, 'Lathe of Heaven', NULL), (2, 'Solaris', NULL);
            """
        )
    connection.close()
    return path


def snapshot(directory: Path) -> dict[str, str]:
    """Every file in `directory` with a hash of its bytes: a change, a new file or a deleted one shows."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(directory.iterdir())}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A directory of its own for the test's database files (tmp_path also holds the server logs)."""
    directory = tmp_path / "data"
    directory.mkdir()
    return directory


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_library(tmp_path_factory.mktemp("library") / "library.sqlite3")


@pytest.fixture(scope="module")
def readonly(library: Path) -> Iterator[ToolCollection]:
    with ToolCollection.from_mcp(sqlite_server(library, "--max-rows", "5", "--timeout", "1")) as tools:
        yield tools


def test_read_only_mode_offers_read_only_tools(readonly: ToolCollection) -> None:
    assert sorted(tool.name for tool in readonly) == ["describe_table", "list_tables", "query"]
    assert all(tool.read_only and tool.idempotent for tool in readonly)
    assert all(tool.output_schema is not None for tool in readonly)


def test_tables_and_views_are_listed_and_described(readonly: ToolCollection) -> None:
    assert readonly["list_tables"]() == {
        "tables": [
            {"name": "authors", "type": "table"},
            {"name": "books", "type": "table"},
            {"name": "titles", "type": "view"},
        ]
    }
    books = readonly["describe_table"](table="Books")
    assert books["name"] == "books" and books["type"] == "table" and books["row_count"] == 3
    assert books["sql"].startswith("CREATE TABLE books")
    assert books["primary_key"] == ["id"]
    columns = {column["name"]: column for column in books["columns"]}
    assert list(columns) == ["id", "author_id", "title", "status", "cover"]
    assert columns["title"] == {
        "name": "title",
        "type": "TEXT",
        "nullable": False,
        "default": None,
        "primary_key": False,
    }
    assert columns["status"]["default"] == "'draft'" and columns["status"]["nullable"]
    assert books["indexes"] == [
        {"name": "books_by_title", "columns": ["title"], "unique": False, "partial": False}
    ]
    assert books["foreign_keys"] == [
        {
            "columns": ["author_id"],
            "references_table": "authors",
            "references_columns": ["id"],
            "on_update": "NO ACTION",
            "on_delete": "CASCADE",
        }
    ]
    view = readonly["describe_table"](table="titles")
    assert view["type"] == "view" and view["row_count"] == 3 and view["indexes"] == []


def test_describing_an_unknown_table_names_the_known_ones(readonly: ToolCollection) -> None:
    with pytest.raises(ToolError, match="no table or view named 'shelves'; the database has: authors, books"):
        readonly["describe_table"](table="shelves")


def test_queries_take_parameters_and_return_json_safe_values(readonly: ToolCollection) -> None:
    result = readonly["query"](
        sql="SELECT title, cover FROM books WHERE author_id = ? ORDER BY id", parameters=[1]
    )
    assert result == {
        "columns": ["title", "cover"],
        "rows": [["The Dispossessed", {"base64": "iVBORw=="}], ["Lathe of Heaven", None]],
        "row_count": 2,
        "truncated": False,
        "truncated_by": None,
    }
    named = readonly["query"](
        sql="SELECT :blob = x'0001', 1e999, length(:text)",
        parameters={"blob": {"base64": "AAE="}, "text": "Solaris"},
    )
    assert named["rows"] == [[1, "inf", 7]]


def test_rows_are_capped_by_the_server_and_per_call(readonly: ToolCollection) -> None:
    series = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 12) SELECT i FROM n"
    capped = readonly["query"](sql=series)
    assert capped["rows"] == [[1], [2], [3], [4], [5]] and capped["row_count"] == 5 and capped["truncated"]
    assert capped["truncated_by"] == "max_rows"
    assert readonly["query"](sql=series, max_rows=2)["rows"] == [[1], [2]]
    assert readonly["query"](sql=series, max_rows=500)["row_count"] == 5
    assert readonly["query"](sql="SELECT 1", max_rows=1)["truncated"] is False


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("INSERT INTO books (author_id, title) VALUES (1, 'x')", "read-only: INSERT into books"),
        ("UPDATE books SET title = 'x'", "read-only: UPDATE of books"),
        ("DELETE FROM books", "read-only: DELETE from books"),
        ("DROP TABLE books", "read-only"),
        ("CREATE TABLE evil (a)", "read-only"),
        ("CREATE INDEX evil ON books (status)", "read-only"),
        ("ALTER TABLE books ADD COLUMN evil", "read-only"),
        ("WITH doomed AS (SELECT id FROM books) DELETE FROM books WHERE id IN doomed", "DELETE from books"),
        ("WITH x(a) AS (SELECT 'x') INSERT INTO books (author_id, title) SELECT 1, a FROM x", "INSERT into"),
        ("REPLACE INTO authors (id, name) VALUES (1, 'x')", "INSERT into authors"),
        (
            "UPDATE sqlite_master SET sql = 'x' WHERE name = 'books'",
            "table sqlite_master may not be modified",
        ),
        ("PRAGMA writable_schema = ON", "PRAGMA writable_schema is not allowed"),
        ("PRAGMA query_only = OFF", "PRAGMA query_only is not allowed"),
        ("PRAGMA user_version = 7", "PRAGMA user_version may be read but not set"),
        ("PRAGMA journal_mode = WAL", "PRAGMA journal_mode may be read but not set"),
        ("SELECT load_extension('/no/such/extension')", "load_extension() is not allowed"),
        ("SELECT fts3_tokenizer('simple')", "fts3_tokenizer() is not allowed"),
        ("BEGIN IMMEDIATE", "each call runs as its own transaction"),
        ("SELECT 1; DELETE FROM books", "You can only execute one statement at a time"),
        ("SELECT 1; SELECT 2", "You can only execute one statement at a time"),
    ],
)
def test_read_only_refuses_writes_and_leaves_the_files_alone(
    readonly: ToolCollection, library: Path, sql: str, message: str
) -> None:
    before = snapshot(library.parent)
    with pytest.raises(ToolError, match="failed:") as raised:
        readonly["query"](sql=sql)
    assert message in str(raised.value)
    assert snapshot(library.parent) == before
    assert readonly["query"](sql="SELECT count(*) FROM books")["rows"] == [[3]]


@pytest.mark.parametrize(
    "statement", ["ATTACH DATABASE '{target}' AS evil", "VACUUM INTO '{target}'", "VACUUM"]
)
def test_no_statement_creates_another_file(readonly: ToolCollection, library: Path, statement: str) -> None:
    target = library.parent / "created.sqlite3"
    before = snapshot(library.parent)
    with pytest.raises(ToolError, match="ATTACH and VACUUM are not allowed"):
        readonly["query"](sql=statement.format(target=target))
    assert not target.exists()
    assert snapshot(library.parent) == before


def test_a_runaway_query_is_stopped_at_the_time_limit(readonly: ToolCollection) -> None:
    with pytest.raises(ToolError, match="the statement ran longer than 1 s and was stopped"):
        readonly["query"](sql=RUNAWAY)
    assert readonly["query"](sql="SELECT count(*) FROM authors")["rows"] == [[2]]


def server_processes(database: Path) -> dict[int, int]:
    """The server's processes for `database` (the server and its worker): their peak memory in MiB."""
    peaks = {}
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
            if SERVER_MODULE.encode() in command and str(database).encode() in command:
                status = (entry / "status").read_text()
                peaks[int(entry.name)] = int(status.split("VmHWM:")[1].split()[0]) // 1024
        except (OSError, ValueError, IndexError):  # not a process, or one that ended meanwhile
            continue
    return peaks


VALUE_LIMIT = "a value would be larger than the 16,777,216 bytes this server lets SQLite build"
MEMORY_LIMIT = "the statement needed more than the 134,217,728 bytes of memory this server lets SQLite use"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT zeroblob(200000000)", VALUE_LIMIT),
        ("SELECT randomblob(200000000)", VALUE_LIMIT),
        ("SELECT length(hex(zeroblob(10000000)))", VALUE_LIMIT),
        ("SELECT replace(hex(zeroblob(1000)), '0', hex(zeroblob(5000000)))", VALUE_LIMIT),
        (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 200)"
            " SELECT group_concat(hex(zeroblob(100000))) FROM n",
            VALUE_LIMIT,
        ),
        ("SELECT " + ", ".join(["zeroblob(15000000)"] * 20), MEMORY_LIMIT),
    ],
)
def test_values_too_large_to_build_are_refused_with_memory_bounded(
    readonly: ToolCollection, library: Path, sql: str, message: str
) -> None:
    # Before SQLite's limits were set, the first of these took the server to 2.1 GB, with no answer in 60 s.
    with pytest.raises(ToolError) as refused:
        readonly["query"].call_with({"sql": sql}, timeout=30)
    assert message in str(refused.value)
    assert readonly["query"](sql="SELECT count(*) FROM books")["rows"] == [[3]]
    assert max(server_processes(library).values()) < 400


def test_results_are_capped_in_bytes(library: Path) -> None:
    with ToolCollection.from_mcp(sqlite_server(library, "--max-bytes", "1000")) as tools:
        query = tools["query"]
        capped = query(
            sql="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)"
            " SELECT printf('%.*c', 100, 'x') FROM n"
        )
        assert capped["row_count"] == 10 and capped["truncated_by"] == "max_bytes" and capped["truncated"]
        assert query(sql="SELECT zeroblob(600)")["rows"] == [[{"base64": "A" * 800}]]  # 814 bytes as base64
        with pytest.raises(ToolError) as refused:
            query(sql="SELECT 1 AS small, printf('%.*c', 5000, 'x') AS big")
        assert (
            "the first row takes 5,001 bytes, more than a result may hold (1,000 bytes, --max-bytes);"
            " its largest value is column 'big' (5,000 bytes): select less of it" in str(refused.value)
        )
        assert query(sql="SELECT substr(printf('%.*c', 5000, 'x'), 1, 3)")["rows"] == [["xxx"]]
        # At least 1 MiB may be built, so that a stored value can still be cut or measured.
        with pytest.raises(ToolError, match="larger than the 1,048,576 bytes this server lets SQLite build"):
            query(sql="SELECT length(zeroblob(2000000))")


def test_a_statement_stuck_inside_one_step_is_killed_at_twice_the_time_limit(library: Path) -> None:
    # instr() of two long strings is one step of SQLite's, quadratic: about 80 s here.
    stuck = "SELECT instr(printf('%.*c', 4000000, 'a'), printf('%.*c', 2000000, 'a') || 'b')"
    with ToolCollection.from_mcp(sqlite_server(library, "--timeout", "1")) as tools:
        assert tools["query"](sql="SELECT 1")["rows"] == [[1]]
        before = set(server_processes(library))
        with pytest.raises(ToolError, match="the statement ran longer than 1 s and was stopped"):
            tools["query"].call_with({"sql": stuck}, timeout=20)
        assert tools["query"](sql="SELECT count(*) FROM authors")["rows"] == [[2]]
        assert tools["list_tables"]()["tables"][0] == {"name": "authors", "type": "table"}
        after = set(server_processes(library))
    assert len(before - after) == 1  # the stuck worker is gone, a new one answered
    assert len(after - before) == 1


def test_a_writing_statement_stays_within_the_memory_limit(data: Path) -> None:
    with ToolCollection.from_mcp(sqlite_server(data / "new.sqlite3", "--writable")) as tools:
        tools["execute"](sql="CREATE TABLE t (v)")
        with pytest.raises(ToolError, match=MEMORY_LIMIT):
            tools["execute"].call_with({"sql": "INSERT INTO t VALUES (randomblob(300000000))"}, timeout=30)
        assert tools["execute"](sql="INSERT INTO t VALUES (1)") == {"rows_affected": 1, "last_row_id": 1}


@pytest.mark.parametrize("flags", [["--max-bytes", "0"], ["--max-rows", "0"], ["--timeout", "inf"]])
def test_bad_limits_stop_the_server_with_a_clear_message(library: Path, flags: list[str]) -> None:
    command = [sys.executable, "-m", SERVER_MODULE, str(library), *flags]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert (
        "--max-rows and --max-bytes must be at least 1, and --timeout a finite number of seconds above 0"
        in done.stderr
    )


def test_a_lone_surrogate_is_refused_in_process(library: Path) -> None:
    """No JSON parser lets a lone surrogate through to a server; an in-process client can send one."""

    async def call() -> tuple[CallToolResult, CallToolResult]:
        async with Client(build_server(library, writable=False, limits=Limits())) as client:
            refused = await client.call_tool("query", {"sql": "SELECT ?", "parameters": ["\ud800"]})
            return refused, await client.call_tool("query", {"sql": "SELECT count(*) FROM books"})

    refused, answered = anyio.run(call)
    assert refused.is_error and isinstance(refused.content[0], TextContent)
    assert (
        "the SQL or a parameter is not valid text: '\\ud800' is a lone surrogate" in refused.content[0].text
    )
    assert answered.structured_content is not None and answered.structured_content["rows"] == [[3]]


def test_a_missing_database_is_an_error_and_is_not_created(data: Path) -> None:
    missing = data / "missing.sqlite3"
    with pytest.raises(MCPServerError, match="does not exist; it is opened read-only"):
        ToolCollection.from_mcp(sqlite_server(missing)).connect()
    assert not missing.exists()


def test_a_file_that_is_not_a_database_is_refused_at_start(data: Path) -> None:
    bogus = data / "notes.txt"
    bogus.write_text("not a database, just text that is long enough to have a header" * 10)
    before = snapshot(data)
    with pytest.raises(MCPServerError, match=r"cannot open .*: SQLite: file is not a database"):
        ToolCollection.from_mcp(sqlite_server(bogus)).connect()
    assert snapshot(data) == before


def test_writable_mode_creates_the_database_and_executes(data: Path) -> None:
    database = data / "new.sqlite3"
    with ToolCollection.from_mcp(sqlite_server(database, "--writable")) as tools:
        assert database.exists()
        execute = tools["execute"]
        assert (
            not execute.read_only and execute.annotations is not None and execute.annotations.destructive_hint
        )
        assert execute(sql="CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, data BLOB)") == {
            "rows_affected": 0,
            "last_row_id": 0,
        }
        added = execute(
            sql="INSERT INTO notes (body, data) VALUES (?, ?)", parameters=["one", {"base64": "AP8="}]
        )
        assert added == {"rows_affected": 1, "last_row_id": 1}
        assert execute(sql="INSERT INTO notes (body) VALUES (:b) RETURNING id", parameters={"b": "two"}) == {
            "rows_affected": 1,
            "last_row_id": 2,
        }
        assert execute(sql="UPDATE notes SET body = upper(body)")["rows_affected"] == 2
        assert tools["query"](sql="SELECT body, data FROM notes ORDER BY id")["rows"] == [
            ["ONE", {"base64": "AP8="}],
            ["TWO", None],
        ]
        assert tools["describe_table"](table="notes")["row_count"] == 2


def test_writable_mode_keeps_query_read_only_and_refuses_the_dangerous_parts(data: Path) -> None:
    database = create_library(data / "library.sqlite3")
    with ToolCollection.from_mcp(sqlite_server(database, "--writable")) as tools:
        before = snapshot(data)
        with pytest.raises(ToolError, match="read-only: DELETE from books"):
            tools["query"](sql="DELETE FROM books")
        refusals = {
            f"ATTACH DATABASE '{data / 'other.sqlite3'}' AS other": "ATTACH and VACUUM are not allowed",
            f"VACUUM INTO '{data / 'copy.sqlite3'}'": "ATTACH and VACUUM are not allowed",
            "PRAGMA writable_schema = ON": "PRAGMA writable_schema is not allowed",
            "UPDATE sqlite_master SET sql = 'x'": "table sqlite_master may not be modified",
            "SELECT load_extension('/no/such/extension')": "load_extension() is not allowed",
            "BEGIN": "each call runs as its own transaction",
            "DELETE FROM books; DROP TABLE authors": "You can only execute one statement at a time",
        }
        for sql, message in refusals.items():
            with pytest.raises(ToolError, match="failed:") as raised:
                tools["execute"](sql=sql)
            assert message in str(raised.value)
        assert snapshot(data) == before
        with pytest.raises(ToolError, match="SQLite: no such table: nowhere"):
            tools["execute"](sql="INSERT INTO nowhere VALUES (1)")


def test_the_inspector_queries_the_database(library: Path, tmp_path: Path) -> None:
    called = inspector(
        sys.executable,
        "-m",
        SERVER_MODULE,
        str(library),
        "--method",
        "tools/call",
        "--tool-name",
        "query",
        "--tool-arg",
        "sql=SELECT name FROM authors ORDER BY id",
        home=tmp_path,
    )
    assert called["isError"] is False
    assert called["structuredContent"] == {
        "columns": ["name"],
        "rows": [["Ursula"], ["Stanisław"]],
        "row_count": 2,
        "truncated": False,
        "truncated_by": None,
    }
