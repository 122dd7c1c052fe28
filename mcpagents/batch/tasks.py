"""The tasks of a batch: a JSONL file of them (or any iterable), checked before any task runs; and how
an answer is graded against the expected one."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcpagents.errors import ConfigError

TaskId = str | int
TASK_KEYS = ("task", "id", "expected")


@dataclass(frozen=True)
class BatchTask:
    """One task: its text, its id (unique in the batch: the line number unless given), and, when
    `has_expected`, the answer it should get (any JSON value)."""

    task: str
    id: TaskId
    expected: Any = None
    has_expected: bool = False


TasksArgument = str | os.PathLike[str] | Iterable[str | Mapping[str, Any] | BatchTask]
"""A JSONL file of tasks, or the tasks themselves (texts, `{"task", "id"?, "expected"?}` mappings or
`BatchTask`s)."""


def read_tasks(tasks: TasksArgument) -> list[BatchTask]:
    """The tasks of a JSONL file (or of an iterable), all checked: each line a JSON string (the task)
    or an object `{"task": str, "id"?: str | int, "expected"?: any}`; blank lines are skipped; ids
    default to the line number (the item's position, from 1, for an iterable) and must be unique.

    Raises `ConfigError` naming the file and the line of the first mistake.
    """
    if isinstance(tasks, str | os.PathLike):
        return _read_file(Path(tasks))
    items: list[BatchTask] = []
    seen: dict[str, str] = {}
    for number, item in enumerate(tasks, 1):
        where = f"tasks[{number - 1}]"
        parsed = item if isinstance(item, BatchTask) else _task_of(item, number, where)
        _check_unique(parsed, where, seen)
        items.append(parsed)
    return items


def _read_file(path: Path) -> list[BatchTask]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the tasks: {error.strerror or error}") from error
    items: list[BatchTask] = []
    seen: dict[str, str] = {}
    # Lines end at "\n" only: U+2028 and friends may stand inside JSON strings.
    for number, raw in enumerate(data.split(b"\n"), 1):
        where = f"{path}:{number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ConfigError(f"{where}: not UTF-8 text ({error.reason})") from error
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from error
        task = _task_of(value, number, where)
        _check_unique(task, where, seen)
        items.append(task)
    if not items:
        raise ConfigError(f"{path}: no tasks (expected one JSON line per task)")
    return items


def _task_of(value: Any, number: int, where: str) -> BatchTask:
    expected_shape = 'a JSON string (the task) or an object {"task": ..., "id"?: ..., "expected"?: ...}'
    if isinstance(value, str):
        value = {"task": value}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected {expected_shape}, got {_show(value)}")
    if unknown := [str(key) for key in value if key not in TASK_KEYS]:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; the keys are: {', '.join(TASK_KEYS)}")
    task = value.get("task")
    if not isinstance(task, str) or not task.strip():
        raise ConfigError(f'{where}: "task": expected a non-empty string, got {_show(task)}')
    task_id = value.get("id", number)
    if isinstance(task_id, bool) or not isinstance(task_id, str | int) or task_id == "":
        raise ConfigError(f'{where}: "id": expected a string or an integer, got {_show(task_id)}')
    return BatchTask(task, task_id, value.get("expected"), "expected" in value)


def _check_unique(task: BatchTask, where: str, seen: dict[str, str]) -> None:
    key = id_key(task.id)
    if key in seen:
        raise ConfigError(f"{where}: id {task.id!r} is already the id of {seen[key]}: ids must be unique")
    seen[key] = where


def id_key(task_id: Any) -> str:
    """A task id as a dictionary key that tells 1 from "1" (as JSON does)."""
    return json.dumps(task_id)


def answer_matches(output: Any, expected: Any) -> bool:
    """Whether `output` is the `expected` answer.

    * `expected` a string: the output as text (JSON for a non-string output) equals it after
      stripping surrounding whitespace, ignoring case (`" Paris\\n"` matches `"paris"`; `42` matches
      `"42"`).
    * any other JSON value (number, boolean, null, list, object): equal as JSON values, a string
      output being parsed as JSON first (`"42"` and `42.0` match `42`; `true` matches only `true`,
      not `1`; strings inside lists and objects compare exactly).
    """
    if isinstance(expected, str):
        return _text(output).strip().casefold() == expected.strip().casefold()
    value = jsonable(output)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return False
    return _json_equal(value, expected)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_json_equal(a[key], b[key]) for key in a)
    return type(a) is type(b) and a == b


def _text(output: Any) -> str:
    value = jsonable(output)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def jsonable(value: Any) -> Any:
    """A final answer as JSON data (pydantic models and dataclasses included)."""
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=str)


def _show(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False, default=str)
    return shown if len(shown) <= 80 else f"{shown[:79]}…"
