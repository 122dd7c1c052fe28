"""The memory MCP server: an agent's long-term memory in one SQLite file. JSON values are kept under
keys, free-text notes under numbers; both carry tags and timestamps, and both can be searched.

Run: `python -m mcpagents.servers.memory [--db PATH]` (stdio) or with `--http PORT` (see `launch.py`).
The file defaults to `$XDG_STATE_HOME/mcpagents/memory.sqlite3` (`~/.local/state/mcpagents/...`
without XDG_STATE_HOME) and is created on first use.

Several servers may share one file, and each serves concurrent calls: the file is in WAL mode (readers
never wait), every write is one `BEGIN IMMEDIATE` transaction, and a busy file is waited for (up to
15 s) rather than reported as locked. Search uses SQLite's FTS5 when SQLite has it
(every word of the query must start a word of the entry or note; best matches first), else `LIKE`
(every word must appear somewhere; newest first).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field
from typing_extensions import TypedDict

from .launch import add_transport_options, run

BUSY_TIMEOUT = 15.0
MAX_KEY_CHARACTERS = 200
MAX_TEXT_CHARACTERS = 100_000
"""The longest note, and the longest value once written as JSON."""
MAX_TAGS = 20
MAX_LISTED_KEYS = 1_000

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL,  -- JSON
    tags TEXT NOT NULL,   -- a JSON array of strings
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at TEXT NOT NULL
);
COMMIT;
"""

# External-content FTS5 indexes, kept in step with their tables by triggers (the SQLite manual's
# pattern). A 'rebuild' indexes rows written before the index existed.
FULL_TEXT_SCHEMA = """
BEGIN IMMEDIATE;
CREATE VIRTUAL TABLE IF NOT EXISTS entries_search
    USING fts5(key, value, tags, content='entries', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS entries_search_insert AFTER INSERT ON entries BEGIN
    INSERT INTO entries_search (rowid, key, value, tags) VALUES (new.id, new.key, new.value, new.tags);
END;
CREATE TRIGGER IF NOT EXISTS entries_search_delete AFTER DELETE ON entries BEGIN
    INSERT INTO entries_search (entries_search, rowid, key, value, tags)
        VALUES ('delete', old.id, old.key, old.value, old.tags);
END;
CREATE TRIGGER IF NOT EXISTS entries_search_update AFTER UPDATE ON entries BEGIN
    INSERT INTO entries_search (entries_search, rowid, key, value, tags)
        VALUES ('delete', old.id, old.key, old.value, old.tags);
    INSERT INTO entries_search (rowid, key, value, tags) VALUES (new.id, new.key, new.value, new.tags);
END;
CREATE VIRTUAL TABLE IF NOT EXISTS notes_search USING fts5(text, tags, content='notes', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS notes_search_insert AFTER INSERT ON notes BEGIN
    INSERT INTO notes_search (rowid, text, tags) VALUES (new.id, new.text, new.tags);
END;
CREATE TRIGGER IF NOT EXISTS notes_search_delete AFTER DELETE ON notes BEGIN
    INSERT INTO notes_search (notes_search, rowid, text, tags) VALUES ('delete', old.id, old.text, old.tags);
END;
INSERT INTO entries_search (entries_search) SELECT 'rebuild' WHERE {rebuild};
INSERT INTO notes_search (notes_search) SELECT 'rebuild' WHERE {rebuild};
COMMIT;
"""

ENTRY_COLUMNS = "entries.key, entries.value, entries.tags, entries.created_at, entries.updated_at"
NOTE_COLUMNS = "notes.id, notes.text, notes.tags, notes.created_at"


class Entry(TypedDict):
    key: str
    value: Any
    tags: list[str]
    created_at: str
    """When the key was first written (ISO 8601, UTC)."""
    updated_at: str
    """When the value or tags last changed (ISO 8601, UTC)."""


class KeyInfo(TypedDict):
    key: str
    tags: list[str]
    updated_at: str


class KeyList(TypedDict):
    keys: list[KeyInfo]
    truncated: bool
    """More keys matched than the 1000 listed: narrow with `prefix` or `tag`."""


class Note(TypedDict):
    id: int
    text: str
    tags: list[str]
    created_at: str


class Deleted(TypedDict):
    deleted: bool
    """False when there was nothing to delete."""


class Found(TypedDict):
    entries: list[Entry]
    notes: list[Note]


class MemoryStore:
    """The store in one SQLite file; one connection, used by one call at a time."""

    def __init__(self, path: Path, *, full_text: bool | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        _use_wal(self._connection)
        self.full_text = _has_fts5(self._connection) if full_text is None else full_text
        self._connection.executescript(SCHEMA)
        if self.full_text:
            exists = self._connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'entries_search'"
            ).fetchone()[0]
            self._connection.executescript(FULL_TEXT_SCHEMA.format(rebuild="false" if exists else "true"))

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connection

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, holding the file's write lock from its start: a transaction that began
        reading and then wants to write cannot wait for another writer and would fail as locked."""
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def put(self, key: str, value: Any, tags: list[str] | None) -> Entry:
        encoded = json.dumps(value, ensure_ascii=False)
        if len(encoded) > MAX_TEXT_CHARACTERS:
            raise ToolError(
                f"the value is {len(encoded)} characters as JSON; the limit is {MAX_TEXT_CHARACTERS}"
            )
        key = _checked_key(key)
        new_tags = None if tags is None else _encoded_tags(tags)
        with self._writing() as connection:
            connection.execute(
                "INSERT INTO entries (key, value, tags, created_at, updated_at)"
                f" VALUES (:key, :value, coalesce(:tags, '[]'), {NOW}, {NOW})"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " tags = coalesce(:tags, tags), updated_at = excluded.updated_at",
                {"key": key, "value": encoded, "tags": new_tags},
            )
            row = connection.execute(f"SELECT {ENTRY_COLUMNS} FROM entries WHERE key = ?", [key]).fetchone()
        return _entry(row)

    def get(self, key: str) -> Entry:
        with self._reading() as connection:
            row = connection.execute(f"SELECT {ENTRY_COLUMNS} FROM entries WHERE key = ?", [key]).fetchone()
        if row is None:
            raise ToolError(f"nothing is stored under the key {key!r}; list_keys and search find what is")
        return _entry(row)

    def delete(self, key: str) -> Deleted:
        with self._writing() as connection:
            deleted = connection.execute("DELETE FROM entries WHERE key = ?", [key]).rowcount
        return {"deleted": deleted > 0}

    def list_keys(self, prefix: str | None, tag: str | None) -> KeyList:
        with self._reading() as connection:
            rows = connection.execute(
                "SELECT key, tags, updated_at FROM entries"
                " WHERE (:prefix IS NULL OR substr(key, 1, length(:prefix)) = :prefix)"
                " AND (:tag IS NULL OR EXISTS (SELECT 1 FROM json_each(entries.tags) WHERE value = :tag))"
                " ORDER BY key LIMIT :limit",
                {"prefix": prefix, "tag": tag, "limit": MAX_LISTED_KEYS + 1},
            ).fetchall()
        keys: list[KeyInfo] = [
            {"key": key, "tags": json.loads(tags), "updated_at": updated_at}
            for key, tags, updated_at in rows[:MAX_LISTED_KEYS]
        ]
        return {"keys": keys, "truncated": len(rows) > MAX_LISTED_KEYS}

    def add_note(self, text: str, tags: list[str] | None) -> Note:
        if not text.strip():
            raise ToolError("the note is empty")
        if len(text) > MAX_TEXT_CHARACTERS:
            raise ToolError(f"the note is {len(text)} characters long; the limit is {MAX_TEXT_CHARACTERS}")
        with self._writing() as connection:
            cursor = connection.execute(
                f"INSERT INTO notes (text, tags, created_at) VALUES (?, ?, {NOW})",
                [text, _encoded_tags(tags or [])],
            )
            row = connection.execute(
                f"SELECT {NOTE_COLUMNS} FROM notes WHERE id = ?", [cursor.lastrowid]
            ).fetchone()
        return _note(row)

    def delete_note(self, note_id: int) -> Deleted:
        with self._writing() as connection:
            deleted = connection.execute("DELETE FROM notes WHERE id = ?", [note_id]).rowcount
        return {"deleted": deleted > 0}

    def search(self, query: str, limit: int) -> Found:
        words = re.findall(r"\w+", query)
        if not words:
            raise ToolError(f"the query {query!r} has no words to search for")
        with self._reading() as connection:
            if self.full_text:
                entries, notes = self._matching(connection, words, limit)
            else:
                entries, notes = self._containing(connection, words, limit)
        return {"entries": [_entry(row) for row in entries], "notes": [_note(row) for row in notes]}

    @staticmethod
    def _matching(
        connection: sqlite3.Connection, words: list[str], limit: int
    ) -> tuple[list[Any], list[Any]]:
        # Each word quoted (so no word is read as FTS5 syntax) and prefix-matched; all must match.
        match = " ".join(f'"{word}"*' for word in words)
        entries = connection.execute(
            f"SELECT {ENTRY_COLUMNS} FROM entries_search JOIN entries ON entries.id = entries_search.rowid"
            " WHERE entries_search MATCH ? ORDER BY rank LIMIT ?",
            [match, limit],
        ).fetchall()
        notes = connection.execute(
            f"SELECT {NOTE_COLUMNS} FROM notes_search JOIN notes ON notes.id = notes_search.rowid"
            " WHERE notes_search MATCH ? ORDER BY rank LIMIT ?",
            [match, limit],
        ).fetchall()
        return entries, notes

    @staticmethod
    def _containing(
        connection: sqlite3.Connection, words: list[str], limit: int
    ) -> tuple[list[Any], list[Any]]:
        patterns = ["%" + re.sub(r"([\\%_])", r"\\\1", word) + "%" for word in words]
        entry_text = _every_pattern_in("key || ' ' || value || ' ' || tags", len(patterns))
        entries = connection.execute(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE {entry_text} ORDER BY updated_at DESC LIMIT ?",
            [*patterns, limit],
        ).fetchall()
        note_text = _every_pattern_in("text || ' ' || tags", len(patterns))
        notes = connection.execute(
            f"SELECT {NOTE_COLUMNS} FROM notes WHERE {note_text} ORDER BY id DESC LIMIT ?",
            [*patterns, limit],
        ).fetchall()
        return entries, notes


def _use_wal(connection: sqlite3.Connection) -> None:
    """Switch the file to WAL. When two processes switch a new file at once they deadlock, and SQLite
    fails one of them at once rather than making it wait: that one waits until the other's switch is
    done (BEGIN IMMEDIATE waits for a busy file) and tries again."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")


def _every_pattern_in(text: str, count: int) -> str:
    return " AND ".join([f"{text} LIKE ? ESCAPE '\\'"] * count)


def _has_fts5(connection: sqlite3.Connection) -> bool:
    return bool(connection.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0])


def _checked_key(key: str) -> str:
    if not key.strip():
        raise ToolError("the key is empty")
    if len(key) > MAX_KEY_CHARACTERS:
        raise ToolError(f"the key is {len(key)} characters long; the limit is {MAX_KEY_CHARACTERS}")
    return key


def _encoded_tags(tags: list[str]) -> str:
    cleaned = list(dict.fromkeys(tag.strip() for tag in tags))
    if "" in cleaned:
        raise ToolError("a tag is empty")
    if len(cleaned) > MAX_TAGS:
        raise ToolError(f"{len(cleaned)} tags; the limit is {MAX_TAGS}")
    return json.dumps(cleaned, ensure_ascii=False)


def _entry(row: tuple[str, str, str, str, str]) -> Entry:
    key, value, tags, created_at, updated_at = row
    return {
        "key": key,
        "value": json.loads(value),
        "tags": json.loads(tags),
        "created_at": created_at,
        "updated_at": updated_at,
    }


def _note(row: tuple[int, str, str, str]) -> Note:
    note_id, text, tags, created_at = row
    return {"id": note_id, "text": text, "tags": json.loads(tags), "created_at": created_at}


def default_path() -> Path:
    """`$XDG_STATE_HOME/mcpagents/memory.sqlite3`, or under `~/.local/state` (the XDG default)."""
    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "mcpagents" / "memory.sqlite3"


READING = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
REPLACING = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
ADDING = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)

Tags = list[str] | None
Limit = Annotated[int, Field(ge=1, le=100)]


def build_server(store: MemoryStore) -> MCPServer:
    server = MCPServer(
        "memory",
        instructions="Long-term memory: put/get JSON values under keys, add notes, search both.",
    )

    @server.tool(annotations=REPLACING)
    def put(key: str, value: Any, tags: Tags = None) -> Entry:
        """Store a JSON value under a key, replacing what was there.

        Args:
            key: The key, e.g. "user/preferences"; a shared prefix groups keys for `list_keys`.
            value: Any JSON value.
            tags: Labels to find the entry by; when omitted, an existing entry keeps its tags.
        """
        return store.put(key, value, tags)

    @server.tool(annotations=READING)
    def get(key: str) -> Entry:
        """The value stored under a key, with its tags and timestamps.

        Args:
            key: The exact key.
        """
        return store.get(key)

    @server.tool(annotations=REPLACING)
    def delete(key: str) -> Deleted:
        """Delete the entry under a key.

        Args:
            key: The exact key.
        """
        return store.delete(key)

    @server.tool(annotations=READING)
    def list_keys(prefix: str | None = None, tag: str | None = None) -> KeyList:
        """List the stored keys in order, with their tags.

        Args:
            prefix: Only keys that start with this (case-sensitive).
            tag: Only entries with this tag.
        """
        return store.list_keys(prefix, tag)

    @server.tool(annotations=ADDING)
    def add_note(text: str, tags: Tags = None) -> Note:
        """Add a free-text note; it gets a number for `delete_note`.

        Args:
            text: The note.
            tags: Labels for the note.
        """
        return store.add_note(text, tags)

    @server.tool(annotations=REPLACING)
    def delete_note(id: int) -> Deleted:
        """Delete a note.

        Args:
            id: The note's number, as `add_note` or `search` gave it.
        """
        return store.delete_note(id)

    @server.tool(annotations=READING)
    def search(query: str, limit: Limit = 10) -> Found:
        """Find entries (by key, value and tags) and notes (by text and tags) containing every word
        of the query; best matches first.

        Args:
            query: Words to look for, e.g. "deadline report".
            limit: The most entries, and the most notes, to return.
        """
        return store.search(query, limit)

    return server


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db", type=Path, metavar="PATH", help=f"the store's SQLite file (default {default_path()})"
    )
    add_transport_options(parser)
    options = parser.parse_args()
    run(build_server(MemoryStore(options.db or default_path())), options)


if __name__ == "__main__":
    main()
