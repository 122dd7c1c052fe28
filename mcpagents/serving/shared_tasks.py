"""The task records of a served agent in the SQLite file its workers share (`--conversation-store`):
any worker answers for any task, and a finished result outlives the worker that ran it."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from mcpagents.agents.served_tasks import TaskRecord
from mcpagents.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    agent TEXT NOT NULL,
    id TEXT NOT NULL,
    record TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (agent, id)
)
"""


class SharedTaskBoard:
    """A `TaskBoard` in a SQLite file (the tasks of `agent` only)."""

    def __init__(self, path: str | Path, agent: str) -> None:
        self.path = Path(path)
        self.agent = agent
        self._lock = threading.Lock()
        self._database: sqlite3.Connection | None = None

    def save(self, record: TaskRecord) -> None:
        with self._lock:
            self._open().execute(
                "INSERT OR REPLACE INTO tasks (agent, id, record, created) VALUES (?, ?, ?, ?)",
                (self.agent, record.task_id, record.to_json(), record.created),
            )

    def load(self, task_id: str) -> TaskRecord | None:
        with self._lock:
            row = (
                self._open()
                .execute("SELECT record FROM tasks WHERE agent = ? AND id = ?", (self.agent, task_id))
                .fetchone()
            )
        record = TaskRecord.from_json(row[0]) if row else None
        return None if record is None or record.expired else record

    def records(self) -> list[TaskRecord]:
        with self._lock:
            rows = (
                self._open()
                .execute("SELECT record FROM tasks WHERE agent = ? ORDER BY created DESC", (self.agent,))
                .fetchall()
            )
        return [record for record in (TaskRecord.from_json(row[0]) for row in rows) if not record.expired]

    def _open(self) -> sqlite3.Connection:
        if self._database is None:
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))  # results are the callers'
                database = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                database.execute("PRAGMA journal_mode=WAL")
                database.execute(_SCHEMA)
            except (OSError, sqlite3.Error) as error:
                raise ConfigError(f"task store {self.path}: {error}") from error
            self._database = database
        return self._database
