"""The held runs of a served agent's workers, met in the SQLite file they share
(`--conversation-store`): see `mcpagents.agents.run_relay`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mcpagents.agents.run_relay import RelayedRun
from mcpagents.serving.shared_database import SharedDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS held_runs (
    agent TEXT NOT NULL,
    token TEXT NOT NULL,
    questions TEXT NOT NULL,
    answers TEXT NOT NULL,
    answered TEXT NOT NULL,
    result TEXT,
    PRIMARY KEY (agent, token)
)
"""


class SharedRunRelay:
    """A `RunRelay` in a SQLite file (the runs of `agent` only)."""

    def __init__(self, path: str | Path, agent: str) -> None:
        self.agent = agent
        self._database = SharedDatabase(path, _SCHEMA)

    def publish(self, token: str, questions: Mapping[str, Any], result: Mapping[str, Any] | None) -> None:
        with self._database.transaction() as database:
            database.execute(
                "INSERT INTO held_runs (agent, token, questions, answers, answered, result)"
                " VALUES (?, ?, ?, '{}', '[]', ?)"
                " ON CONFLICT (agent, token)"
                " DO UPDATE SET questions = excluded.questions, result = excluded.result",
                (self.agent, token, json.dumps(questions), None if result is None else json.dumps(result)),
            )

    def read(self, token: str) -> RelayedRun | None:
        with self._database.transaction() as database:
            row = database.execute(
                "SELECT questions, answered, result FROM held_runs WHERE agent = ? AND token = ?",
                (self.agent, token),
            ).fetchone()
        if row is None:
            return None
        questions, answered, result = row
        return RelayedRun(
            json.loads(questions), frozenset(json.loads(answered)), result and json.loads(result)
        )

    def answer(self, token: str, responses: Mapping[str, Any]) -> None:
        with self._database.transaction() as database:
            row = database.execute(
                "SELECT answers, answered FROM held_runs WHERE agent = ? AND token = ?", (self.agent, token)
            ).fetchone()
            if row is None:
                return
            answers = {**json.loads(row[0]), **responses}
            answered = sorted({*json.loads(row[1]), *responses})
            database.execute(
                "UPDATE held_runs SET answers = ?, answered = ? WHERE agent = ? AND token = ?",
                (json.dumps(answers), json.dumps(answered), self.agent, token),
            )

    def take_answers(self, token: str) -> dict[str, Any]:
        with self._database.transaction() as database:
            row = database.execute(
                "SELECT answers FROM held_runs WHERE agent = ? AND token = ?", (self.agent, token)
            ).fetchone()
            if row is None or row[0] == "{}":
                return {}
            database.execute(
                "UPDATE held_runs SET answers = '{}' WHERE agent = ? AND token = ?", (self.agent, token)
            )
        answers: dict[str, Any] = json.loads(row[0])
        return answers

    def drop(self, token: str) -> None:
        with self._database.transaction() as database:
            database.execute("DELETE FROM held_runs WHERE agent = ? AND token = ?", (self.agent, token))
