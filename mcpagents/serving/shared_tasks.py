"""The task records of a served agent in the SQLite file its workers share (`--conversation-store`):
any worker answers for any task, and a finished result outlives the worker that ran it."""

from __future__ import annotations

from pathlib import Path

from mcpagents.agents.served_tasks import TaskRecord
from mcpagents.serving.shared_database import SharedDatabase

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
        self.agent = agent
        self._database = SharedDatabase(path, _SCHEMA)

    def save(self, record: TaskRecord) -> None:
        with self._database.transaction() as database:
            database.execute(
                "INSERT OR REPLACE INTO tasks (agent, id, record, created) VALUES (?, ?, ?, ?)",
                (self.agent, record.task_id, record.to_json(), record.created),
            )

    def load(self, task_id: str) -> TaskRecord | None:
        with self._database.transaction() as database:
            row = database.execute(
                "SELECT record FROM tasks WHERE agent = ? AND id = ?", (self.agent, task_id)
            ).fetchone()
        record = TaskRecord.from_json(row[0]) if row else None
        return None if record is None or record.expired else record

    def records(self) -> list[TaskRecord]:
        with self._database.transaction() as database:
            rows = database.execute(
                "SELECT record FROM tasks WHERE agent = ? ORDER BY created DESC", (self.agent,)
            ).fetchall()
        return [record for record in (TaskRecord.from_json(row[0]) for row in rows) if not record.expired]
