"""The SQLite MCP server: look into one SQLite database and query it, read-only unless told otherwise.

Run: `python -m mcpagents.servers.sqlite DATABASE` (stdio) or with `--http PORT` (see `launch.py`).
Options: `--writable` adds the `execute` tool (and creates DATABASE when it is missing),
`--max-rows N` caps the rows one query returns (default 1000), `--max-bytes N` the bytes of its
result (default 1 MiB, text counted as UTF-8, blobs as base64), `--timeout S` stops a statement,
building its result included, after S seconds (default 10).

Memory stays bounded whatever the SQL: a reading statement builds no value (a string, a blob, a row of
a table) larger than 16 × --max-bytes, at least 1 MiB (`SQLITE_LIMIT_LENGTH`: `zeroblob`, `randomblob`,
`printf`, `replace`, `group_concat` and the like fail instead, or return NULL where SQLite's own
function does so), and SQLite's heap is limited to 8 times that, at least 64 MiB, so a row of many
large values fails too. Rows are read one at a time, and the result stops, marked `truncated`, at the
first row that does not fit; a first row that alone is too large is an error naming its largest
column. Statements run in a worker process: SQLite stops a statement at the time limit between its
steps, and a worker stuck inside one step (`instr()` of two long strings) is killed at twice the time
limit; the next call starts another.

Read-only is the engine's doing, not a check of the SQL text: the file is opened with `mode=ro`
and `PRAGMA query_only`, and an authorizer lets a statement read tables, call functions and run
reporting pragmas, and nothing else (`query` works this way in both modes). In both modes the
authorizer refuses ATTACH (and so VACUUM, which attaches a file), BEGIN/COMMIT (each call is its own
transaction), pragmas that change settings and the functions `load_extension` and `fts3_tokenizer`;
the attached-database limit is 0, extension loading stays disabled and the schema is not trusted
(`PRAGMA trusted_schema = OFF`). One statement per call. Blobs come back as `{"base64": "..."}`,
and the same shape binds a blob parameter.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from typing_extensions import TypedDict

from .launch import add_transport_options, run
from .workers import WorkerPool, refuse_to_start, serve_lines

MIB = 1024 * 1024
DEFAULT_MAX_ROWS = 1_000
DEFAULT_MAX_BYTES = MIB
DEFAULT_TIMEOUT = 10.0
PROGRESS_CHECK_INSTRUCTIONS = 1_000

# Pragmas that only report: those whose argument names a table, index or check, and settings that
# may be read (a pragma without an argument) but not set.
REPORTING_PRAGMAS = frozenset(
    {
        "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
        "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check", "database_list",
        "collation_list", "function_list", "module_list", "pragma_list", "compile_options",
    }
)  # fmt: skip
READABLE_SETTINGS = frozenset(
    {
        "application_id", "user_version", "schema_version", "data_version", "encoding", "page_size",
        "page_count", "freelist_count", "journal_mode", "auto_vacuum", "foreign_keys",
    }
)  # fmt: skip
# `fts3_tokenizer` hands out (and with two arguments installs) a raw C pointer.
REFUSED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer"})

READING_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE, sqlite3.SQLITE_FUNCTION}
)
WRITING_ACTIONS = {
    sqlite3.SQLITE_INSERT: "INSERT into",
    sqlite3.SQLITE_UPDATE: "UPDATE of",
    sqlite3.SQLITE_DELETE: "DELETE from",
    sqlite3.SQLITE_CREATE_TABLE: "CREATE TABLE",
    sqlite3.SQLITE_CREATE_INDEX: "CREATE INDEX",
    sqlite3.SQLITE_CREATE_VIEW: "CREATE VIEW",
    sqlite3.SQLITE_CREATE_TRIGGER: "CREATE TRIGGER",
    sqlite3.SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE",
    sqlite3.SQLITE_DROP_TABLE: "DROP TABLE",
    sqlite3.SQLITE_DROP_INDEX: "DROP INDEX",
    sqlite3.SQLITE_DROP_VIEW: "DROP VIEW",
    sqlite3.SQLITE_DROP_TRIGGER: "DROP TRIGGER",
    sqlite3.SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE",
    sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE",
    sqlite3.SQLITE_REINDEX: "REINDEX",
    sqlite3.SQLITE_ANALYZE: "ANALYZE",
}


class Blob(TypedDict):
    base64: str
    """The bytes, base64-encoded."""


Value = int | float | str | Blob | None
"""A column value: non-finite floats come back as the strings "inf" and "-inf"."""
Cut = Literal["max_rows", "max_bytes"]
Parameter = str | int | float | bool | Blob | None
Parameters = list[Parameter] | dict[str, Parameter] | None


class Table(TypedDict):
    name: str
    type: Literal["table", "view"]


class Tables(TypedDict):
    tables: list[Table]


class Column(TypedDict):
    name: str
    type: str
    nullable: bool
    default: str | None
    """The default as an SQL expression, e.g. `'draft'` or `CURRENT_TIMESTAMP`."""
    primary_key: bool


class Index(TypedDict):
    name: str
    columns: list[str]
    """Column names in index order; `<expression>` for an indexed expression."""
    unique: bool
    partial: bool


class ForeignKey(TypedDict):
    columns: list[str]
    references_table: str
    references_columns: list[str | None]
    """Null where the reference names no column: the referenced table's primary key."""
    on_update: str
    on_delete: str


class TableDescription(TypedDict):
    name: str
    type: Literal["table", "view"]
    sql: str | None
    """The CREATE statement."""
    columns: list[Column]
    primary_key: list[str]
    indexes: list[Index]
    foreign_keys: list[ForeignKey]
    row_count: int | None
    """Null when counting took longer than the statement time limit."""


class QueryResult(TypedDict):
    columns: list[str]
    rows: list[list[Value]]
    row_count: int
    """The number of rows returned."""
    truncated: bool
    """More rows followed than the result could hold."""
    truncated_by: Cut | None
    """Which limit cut the result short: the rows allowed, or the server's byte limit (then select
    fewer or shorter columns, e.g. with `substr()` or `length()`)."""


class ExecuteResult(TypedDict):
    rows_affected: int
    last_row_id: int
    """The rowid of the last row an INSERT added through this server (SQLite's `last_insert_rowid()`;
    0 before the first)."""


class Guard:
    """The authorizer: allows reading, and writing to the database's own tables when `writable`.

    SQLite calls it for every action of a statement while compiling it; `refusal` keeps the reason
    for the last denial, since SQLite itself only says "not authorized".
    """

    def __init__(self, *, writable: bool) -> None:
        self.writable = writable
        self.refusal: str | None = None

    def __call__(
        self, action: int, first: str | None, second: str | None, database: str | None, trigger: str | None
    ) -> int:
        refusal = self._refusal(action, first, second)
        if refusal is None:
            return sqlite3.SQLITE_OK
        self.refusal = self.refusal or refusal
        return sqlite3.SQLITE_DENY

    def _refusal(self, action: int, first: str | None, second: str | None) -> str | None:
        if action == sqlite3.SQLITE_FUNCTION and second in REFUSED_FUNCTIONS:
            return f"the function {second}() is not allowed"
        if action in READING_ACTIONS:
            return None
        if action == sqlite3.SQLITE_PRAGMA:
            return _pragma_refusal((first or "").lower(), second)
        # SQLite asks this when it first sets up an eponymous virtual table (`pragma_table_info(...)`,
        # `dbstat`) on a connection. No statement can change sqlite_master itself: that would take
        # PRAGMA writable_schema, which is refused.
        if action == sqlite3.SQLITE_UPDATE and first == "sqlite_master":
            return None
        if action in WRITING_ACTIONS:
            if self.writable:
                return None
            target = second if action == sqlite3.SQLITE_ALTER_TABLE else first
            return f"the database is open read-only: {WRITING_ACTIONS[action]} {target} is not allowed"
        if action == sqlite3.SQLITE_ATTACH:
            return "ATTACH and VACUUM are not allowed: this server works on its one database file"
        if action in (sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT):
            return "BEGIN, COMMIT and SAVEPOINT are not allowed: each call runs as its own transaction"
        if not self.writable:
            return "the database is open read-only: only reading statements are allowed"
        return "this statement is not allowed here (temporary objects, DETACH and the like)"


def _pragma_refusal(name: str, argument: str | None) -> str | None:
    if name in REPORTING_PRAGMAS or (name in READABLE_SETTINGS and argument is None):
        return None
    if name in READABLE_SETTINGS:
        return f"PRAGMA {name} may be read but not set"
    allowed = ", ".join(sorted(REPORTING_PRAGMAS | READABLE_SETTINGS))
    return f"PRAGMA {name} is not allowed; allowed are {allowed}"


@dataclass(frozen=True)
class Limits:
    """What one call may take: the rows and bytes of a result, the seconds of a statement."""

    rows: int = DEFAULT_MAX_ROWS
    result_bytes: int = DEFAULT_MAX_BYTES
    seconds: float = DEFAULT_TIMEOUT

    @property
    def value_bytes(self) -> int:
        """The largest value SQLite may build when reading: more than a result holds, so that a stored value
        somewhat too large to return can still be measured or cut (`length()`, `substr()`)."""
        return max(16 * self.result_bytes, MIB)

    @property
    def memory_bytes(self) -> int:
        """SQLite's heap limit for the process: room for a few values of the largest size."""
        return max(64 * MIB, 8 * self.value_bytes)


def limit_memory(limits: Limits) -> None:
    """Limits the heap of every SQLite connection of this process (it is the server's own process)."""
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.execute(f"PRAGMA hard_heap_limit = {limits.memory_bytes}")


class Database:
    """One connection to the database file, serving one statement at a time within its time limit;
    when it reads, no value it builds is larger than `limits.value_bytes`."""

    def __init__(self, path: Path, *, writable: bool, limits: Limits) -> None:
        self.limits = limits
        self._guard = Guard(writable=writable)
        self._lock = threading.Lock()
        self._deadline = math.inf
        uri = f"{path.resolve().as_uri()}?mode={'rwc' if writable else 'ro'}"
        self._connection = sqlite3.connect(
            uri, uri=True, timeout=limits.seconds, isolation_level=None, check_same_thread=False
        )
        if hasattr(self._connection, "enable_load_extension"):
            self._connection.enable_load_extension(False)
        if not writable:
            self._connection.execute("PRAGMA query_only = ON")
            self._connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits.value_bytes)
        self._connection.execute("PRAGMA trusted_schema = OFF")
        self._connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        self._connection.set_authorizer(self._guard)
        self._connection.set_progress_handler(self._past_deadline, PROGRESS_CHECK_INSTRUCTIONS)
        # Text that is not UTF-8 would fail the whole query; a replacement character is more useful.
        self._connection.text_factory = lambda data: data.decode("utf-8", errors="replace")
        with self.statement("SELECT count(*) FROM sqlite_master") as cursor:
            cursor.fetchall()

    @contextmanager
    def statement(self, sql: str, parameters: Parameters = None) -> Iterator[sqlite3.Cursor]:
        """Run one statement and yield its cursor; errors (also while fetching) become `ToolError`s."""
        with self._lock:
            self._guard.refusal = None
            self._deadline = time.monotonic() + self.limits.seconds
            cursor = self._connection.cursor()
            try:
                yield cursor.execute(sql, _bound(parameters))
            except sqlite3.Error as error:
                raise self._explained(error) from None
            except UnicodeEncodeError as error:  # only an in-process client can send a lone surrogate
                raise ToolError(
                    f"the SQL or a parameter is not valid text: {error.object[error.start]!r} is a lone"
                    " surrogate, not a character"
                ) from None
            except MemoryError:  # SQLite's heap limit: SQLITE_NOMEM
                raise ToolError(
                    f"the statement needed more than the {self.limits.memory_bytes:,} bytes of memory this"
                    " server lets SQLite use, and was stopped"
                ) from None
            finally:
                cursor.close()
                self._deadline = math.inf

    def rows(self, cursor: sqlite3.Cursor, row_limit: int) -> tuple[list[list[Value]], Cut | None]:
        """The rows of `cursor`, read one at a time, as many as `row_limit` and the byte limit allow,
        within the statement's time limit; and which limit cut them short."""
        rows: list[list[Value]] = []
        size = 0
        for row in cursor:
            if time.monotonic() > self._deadline:
                raise self._timed_out()
            if len(rows) == row_limit:
                return rows, "max_rows"
            sizes = [_size(value) for value in row]
            if size + sum(sizes) > self.limits.result_bytes:
                if rows:
                    return rows, "max_bytes"
                raise self._row_too_large(cursor, sizes)
            rows.append([_value(value) for value in row])
            size += sum(sizes)
        return rows, None

    def _row_too_large(self, cursor: sqlite3.Cursor, sizes: list[int]) -> ToolError:
        largest = max(range(len(sizes)), key=sizes.__getitem__)
        column = cursor.description[largest][0] if cursor.description else str(largest + 1)
        return ToolError(
            f"the first row takes {sum(sizes):,} bytes, more than a result may hold"
            f" ({self.limits.result_bytes:,} bytes, --max-bytes); its largest value is column {column!r}"
            f" ({sizes[largest]:,} bytes): select less of it, e.g. with substr() or length()"
        )

    def close(self) -> None:
        self._connection.close()

    def _past_deadline(self) -> bool:
        return time.monotonic() > self._deadline

    def _timed_out(self) -> ToolError:
        return ToolError(f"the statement ran longer than {self.limits.seconds:g} s and was stopped")

    def _explained(self, error: sqlite3.Error) -> ToolError:
        if self._guard.refusal:
            return ToolError(f"refused: {self._guard.refusal}")
        code = getattr(error, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_INTERRUPT:
            return self._timed_out()
        if code == sqlite3.SQLITE_TOOBIG:
            return ToolError(
                f"a value would be larger than the {self.limits.value_bytes:,} bytes this server lets SQLite"
                " build when reading (16 × --max-bytes); select a part of it with substr()"
            )
        return ToolError(f"SQLite: {error}")


def _bound(parameters: Parameters) -> Sequence[object] | dict[str, object]:
    if parameters is None:
        return ()
    if isinstance(parameters, dict):
        return {name: _parameter(value) for name, value in parameters.items()}
    return [_parameter(value) for value in parameters]


def _parameter(value: Parameter) -> object:
    if isinstance(value, dict):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except ValueError:
            raise ToolError('a blob parameter must be {"base64": "..."} with valid base64') from None
    return value


def _value(value: object) -> Value:
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    assert value is None or isinstance(value, int | float | str)
    return value


def _size(value: object) -> int:
    """About how many bytes `value` takes in a result: text as UTF-8, a blob as base64."""
    if isinstance(value, bytes):
        return 4 * ((len(value) + 2) // 3) + len('{"base64": ""}')
    if isinstance(value, str):
        return len(value.encode())
    return len(str(value))


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


READING = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
WRITING = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
)


class Tools:
    """The tools' work on the database's connections; it runs in the worker process (`serve_worker`)."""

    def __init__(self, path: Path, *, writable: bool, limits: Limits) -> None:
        self.limits = limits
        self.writer = Database(path, writable=True, limits=limits) if writable else None  # creates the file
        self.reader = Database(path, writable=False, limits=limits)

    def close(self) -> None:
        self.reader.close()
        if self.writer is not None:
            self.writer.close()

    def call(self, tool: str, arguments: dict[str, Any]) -> object:
        if tool not in TOOLS or (tool == "execute" and self.writer is None):
            raise ToolError(f"no tool named {tool!r}")
        return getattr(self, tool)(**arguments)

    def list_tables(self) -> Tables:
        with self.reader.statement(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        ) as cursor:
            return {"tables": [{"name": name, "type": kind} for name, kind in cursor]}

    def describe_table(self, table: str) -> TableDescription:
        reader = self.reader
        with reader.statement(
            "SELECT name, type, sql FROM sqlite_master"
            " WHERE type IN ('table', 'view') AND name = ? COLLATE NOCASE",
            [table],
        ) as cursor:
            found = cursor.fetchone()
        if found is None:
            known = ", ".join(entry["name"] for entry in self.list_tables()["tables"]) or "none"
            raise ToolError(f"no table or view named {table!r}; the database has: {known}")
        name, kind, sql = found
        with reader.statement(
            'SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_xinfo(?) ORDER BY cid', [name]
        ) as cursor:
            described = cursor.fetchall()
        columns: list[Column] = [
            {
                "name": column,
                "type": declared,
                "nullable": not notnull,
                "default": default,
                "primary_key": key > 0,
            }
            for column, declared, notnull, default, key in described
        ]
        key_positions = {column: key for column, _, _, _, key in described if key > 0}
        return {
            "name": name,
            "type": kind,
            "sql": sql,
            "columns": columns,
            "primary_key": sorted(key_positions, key=key_positions.__getitem__),
            "indexes": _indexes(reader, name),
            "foreign_keys": _foreign_keys(reader, name),
            "row_count": _row_count(reader, name),
        }

    def query(self, sql: str, parameters: Parameters = None, max_rows: int | None = None) -> QueryResult:
        limit = self.limits.rows if max_rows is None else max(1, min(max_rows, self.limits.rows))
        with self.reader.statement(sql, parameters) as cursor:
            columns = [column[0] for column in cursor.description or ()]
            rows, cut = self.reader.rows(cursor, limit)
        return {
            "columns": columns,
            "rows": rows,
            "row_count": len(rows),
            "truncated": cut is not None,
            "truncated_by": cut,
        }

    def execute(self, sql: str, parameters: Parameters = None) -> ExecuteResult:
        assert self.writer is not None
        with self.writer.statement(sql, parameters) as cursor:
            for _ in cursor:  # an `INSERT ... RETURNING` is only done once its rows are read (not kept)
                pass
            return {"rows_affected": max(cursor.rowcount, 0), "last_row_id": cursor.lastrowid or 0}


TOOLS = frozenset({"list_tables", "describe_table", "query", "execute"})


def serve_worker(settings: str) -> None:
    """The worker process (see `workers.serve_lines`): opens the database as `settings` (JSON) say,
    then answers one request a line, `{"tool": ..., "arguments": {...}}`."""
    options = json.loads(settings)
    limits = Limits(**options["limits"])
    limit_memory(limits)
    try:
        tools = Tools(Path(options["path"]), writable=options["writable"], limits=limits)
    except (sqlite3.Error, ToolError) as error:
        refuse_to_start(f"cannot open the database: {error}")
        return
    serve_lines(lambda request: tools.call(request["tool"], request["arguments"]), (ToolError,))


def statements(path: Path, *, writable: bool, limits: Limits) -> WorkerPool:
    """The worker process running a server's statements, one at a time. SQLite checks the time limit
    between the steps of a statement; one step can run far longer (`instr()` of two long strings,
    `printf('%.*c', 2147483647, 'x')`), so past twice the time limit the worker is killed."""
    settings = json.dumps({"path": str(path), "writable": writable, "limits": asdict(limits)})
    return WorkerPool(
        [sys.executable, "-c", WORKER, settings],
        size=1,
        kill_after=2 * limits.seconds,
        timeout_error=f"the statement ran longer than {limits.seconds:g} s and was stopped",
        what="database",
        max_reply_bytes=16 * limits.result_bytes + MIB,
    )


WORKER = "import sys; from mcpagents.servers.sqlite import serve_worker; serve_worker(sys.argv[1])"


def build_server(path: Path, *, writable: bool, limits: Limits) -> MCPServer:
    """The server for the database at `path`; with `writable`, the file is created when missing. The
    database is opened here once, so that a file that is not one fails at once; the statements run in
    a worker process (see `Worker`)."""
    Tools(path, writable=writable, limits=limits).close()
    worker = statements(path, writable=writable, limits=limits)
    mode = "read-write" if writable else "read-only"
    server = MCPServer(
        "sqlite",
        instructions=f"The SQLite database {path.name} ({mode}): list_tables, describe_table, then query"
        + (", and execute to change it." if writable else "."),
    )

    @server.tool(annotations=READING)
    async def list_tables() -> Tables:
        """List the tables and views of the database."""
        tables: Tables = await worker.ask({"tool": "list_tables", "arguments": {}})
        return tables

    @server.tool(annotations=READING)
    async def describe_table(table: str) -> TableDescription:
        """Describe a table or view: its columns (type, nullability, default, primary key), indexes,
        foreign keys, CREATE statement and row count.

        Args:
            table: The table's or view's name (case-insensitive).
        """
        description: TableDescription = await worker.ask(
            {"tool": "describe_table", "arguments": {"table": table}}
        )
        return description

    @server.tool(annotations=READING)
    async def query(sql: str, parameters: Parameters = None, max_rows: int | None = None) -> QueryResult:
        """Run one read-only SQL statement (SELECT, WITH ... SELECT, a reporting PRAGMA) and return
        its rows. Writing, ATTACH, transactions and several statements at once are refused.

        Args:
            sql: One SQL statement; use `?` or `:name` placeholders for values.
            parameters: The placeholders' values: a list for `?`, an object for `:name`;
                `{"base64": "..."}` for a blob.
            max_rows: Return at most this many rows (never more than the server's limit).
        """
        result: QueryResult = await worker.ask(
            {"tool": "query", "arguments": {"sql": sql, "parameters": parameters, "max_rows": max_rows}}
        )
        return result

    if writable:

        @server.tool(annotations=WRITING)
        async def execute(sql: str, parameters: Parameters = None) -> ExecuteResult:
            """Run one SQL statement that changes the database (INSERT, UPDATE, DELETE, CREATE, DROP,
            ALTER, ...) and commit it. ATTACH, VACUUM, transactions and setting pragmas are refused.

            Args:
                sql: One SQL statement; use `?` or `:name` placeholders for values.
                parameters: The placeholders' values: a list for `?`, an object for `:name`;
                    `{"base64": "..."}` for a blob.
            """
            result: ExecuteResult = await worker.ask(
                {"tool": "execute", "arguments": {"sql": sql, "parameters": parameters}}
            )
            return result

    return server


def _indexes(database: Database, table: str) -> list[Index]:
    with database.statement(
        'SELECT name, "unique", partial FROM pragma_index_list(?) ORDER BY name', [table]
    ) as cursor:
        listed = cursor.fetchall()
    indexes: list[Index] = []
    for name, unique, partial in listed:
        with database.statement("SELECT name FROM pragma_index_info(?) ORDER BY seqno", [name]) as cursor:
            columns = [column or "<expression>" for (column,) in cursor]
        indexes.append({"name": name, "columns": columns, "unique": bool(unique), "partial": bool(partial)})
    return indexes


def _foreign_keys(database: Database, table: str) -> list[ForeignKey]:
    keys: dict[int, ForeignKey] = {}
    with database.statement(
        'SELECT id, "table", "from", "to", on_update, on_delete'
        " FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        [table],
    ) as cursor:
        for key, parent, column, parent_column, on_update, on_delete in cursor:
            entry = keys.setdefault(
                key,
                {
                    "columns": [],
                    "references_table": parent,
                    "references_columns": [],
                    "on_update": on_update,
                    "on_delete": on_delete,
                },
            )
            entry["columns"].append(column)
            entry["references_columns"].append(parent_column)
    return list(keys.values())


def _row_count(database: Database, table: str) -> int | None:
    try:
        with database.statement(f"SELECT count(*) FROM {_quoted(table)}") as cursor:
            (count,) = cursor.fetchone()
    except ToolError:
        return None
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("database", type=Path, help="the SQLite database file")
    parser.add_argument(
        "--writable", action="store_true", help="offer `execute`, and create DATABASE when it is missing"
    )
    parser.add_argument(
        "--max-rows", type=int, default=DEFAULT_MAX_ROWS, metavar="N",
        help=f"the most rows one query returns (default {DEFAULT_MAX_ROWS})",
    )  # fmt: skip
    parser.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, metavar="N",
        help=f"the most bytes one query's result holds (default {DEFAULT_MAX_BYTES:,})",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
        help=f"stop a statement after S seconds (default {DEFAULT_TIMEOUT:g})",
    )  # fmt: skip
    add_transport_options(parser)
    options = parser.parse_args()
    if options.max_rows < 1 or options.max_bytes < 1 or not 0 < options.timeout < math.inf:
        parser.error(
            "--max-rows and --max-bytes must be at least 1, and --timeout a finite number of seconds above 0"
        )
    limits = Limits(rows=options.max_rows, result_bytes=options.max_bytes, seconds=options.timeout)
    database: Path = options.database
    if not options.writable and not database.is_file():
        sys.exit(f"sqlite: {database} does not exist; it is opened read-only (--writable creates it)")
    try:
        server = build_server(database, writable=options.writable, limits=limits)
    except (sqlite3.Error, ToolError) as error:
        sys.exit(f"sqlite: cannot open {database}: {error}")
    run(server, options)


if __name__ == "__main__":
    main()
