"""One SQLite file that the worker processes of a server share (`--conversation-store`): opened
once per process, readable by its owner only, with one writer at a time."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mcpagents.errors import ConfigError


class SharedDatabase:
    """The file at `path`, with the table `schema` creates (`CREATE TABLE IF NOT EXISTS ...`)."""

    def __init__(self, path: str | Path, schema: str) -> None:
        self.path = Path(path)
        self._schema = schema
        self._lock = threading.Lock()
        self._database: sqlite3.Connection | None = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside a write transaction, for one thread at a time."""
        with self._lock:
            database = self._open()
            database.execute("BEGIN IMMEDIATE")
            try:
                yield database
            except BaseException:
                database.execute("ROLLBACK")
                raise
            database.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._database is not None:
                self._database.close()
                self._database = None

    def _open(self) -> sqlite3.Connection:
        if self._database is None:
            try:
                # Created readable by this user only (the journal files take its mode): it holds what
                # callers said.
                os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
                database = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                database.execute("PRAGMA journal_mode=WAL")  # readers do not wait for a writer
                database.execute(self._schema)
            except (OSError, sqlite3.Error) as error:
                raise ConfigError(f"conversation store {self.path}: {error}") from error
            self._database = database
        return self._database
