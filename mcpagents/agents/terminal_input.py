"""Answering a server's questions at a terminal: a form field by field, or a URL to open.

Fields are read one line at a time and checked against the form's schema as a whole before the
answer goes back; a wrong value is named and asked again. Empty input takes the field's default,
or leaves an optional field out. Questions of concurrent calls wait their turn.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import mcp_types

from mcpagents.connections.interaction import ElicitationRequest, accepted, declined
from mcpagents.errors import ToolArgumentError
from mcpagents.tools.arguments import ArgumentChecker

_CANCEL = "c"
_DECLINE = "d"


class TerminalInput:
    """An elicitation handler that asks the person at the terminal (`stdin`/`stdout` by default)."""

    def __init__(self, input: TextIO | None = None, output: TextIO | None = None) -> None:
        self._input = input
        self._output = output
        self._turn = anyio.Lock()

    async def __call__(self, request: ElicitationRequest) -> mcp_types.ElicitResult:
        async with self._turn:
            return await anyio.to_thread.run_sync(self._ask, request, abandon_on_cancel=True)

    def _ask(self, request: ElicitationRequest) -> mcp_types.ElicitResult:
        self._say(f"\n[{request.server}] {request.message}")
        if request.mode == "url":
            self._say(f"  Open this address to continue: {request.url}")
            choice = self._read("  Press Enter once done there, d to decline, c to cancel: ")
        else:
            choice = self._read("  Press Enter to answer, d to decline, c to cancel: ")
        if choice == _CANCEL:
            return mcp_types.ElicitResult(action="cancel")
        if choice == _DECLINE:
            return declined("the user declined")
        if request.mode == "url":
            return mcp_types.ElicitResult(action="accept")
        return accepted(self._form(request))

    def _form(self, request: ElicitationRequest) -> dict[str, Any]:
        schema = request.schema
        fields: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        answers: dict[str, Any] = {}
        for name, field in fields.items():
            checker = ArgumentChecker(
                f"the form of {request.server}", {"type": "object", "properties": {name: field}}
            )
            while True:
                value = self._field(name, field, name in required)
                if value is None:
                    break
                try:
                    checker.check({name: value})
                except ToolArgumentError as error:
                    self._say(f"    {str(error).splitlines()[-1].strip()}")
                    continue
                answers[name] = value
                break
        return answers

    def _field(self, name: str, field: dict[str, Any], required: bool) -> Any:
        """One field's value (typed by its schema), its default on empty input, or None to leave it out."""
        label = field.get("title") or name
        hints = [text for text in (field.get("description"),) if text]
        choices = _choices(field)
        if choices:
            hints.append("choices: " + ", ".join(f"{i}) {title}" for i, (_, title) in enumerate(choices, 1)))
        if "default" in field:
            hints.append(f"default: {field['default']}")
        kind = field.get("type")
        if kind == "boolean":
            hints.append("y/n")
        if kind == "array":
            hints.append("several, separated by commas")
        while True:
            shown = f"{label}{' *' if required else ''}"
            text = self._read(f"  {shown} ({'; '.join(hints)}): " if hints else f"  {shown}: ")
            if not text:
                if "default" in field:
                    return field["default"]
                if not required:
                    return None
                self._say("    this field is required")
                continue
            try:
                return _parse(text, kind, choices, field.get("format"))
            except ValueError as error:
                self._say(f"    {error}")

    def _read(self, prompt: str) -> str:
        output = self._output or sys.stdout
        output.write(prompt)
        output.flush()
        line = (self._input or sys.stdin).readline()
        if not line:
            raise EOFError("the terminal's input ended while a server was asking for input")
        return line.strip()

    def _say(self, text: str) -> None:
        output = self._output or sys.stdout
        output.write(text + "\n")
        output.flush()


def _choices(field: dict[str, Any]) -> list[tuple[Any, str]]:
    """(value, title) of an enum field: `enum` (+ legacy `enumNames`), `oneOf` consts, or array items."""
    source = field.get("items", field) if field.get("type") == "array" else field
    if "enum" in source:
        titles = source.get("enumNames") or [str(value) for value in source["enum"]]
        return list(zip(source["enum"], titles, strict=False))
    options = source.get("oneOf") or source.get("anyOf") or []
    return [
        (option["const"], option.get("title", str(option["const"])))
        for option in options
        if "const" in option
    ]


def _parse(text: str, kind: Any, choices: list[tuple[Any, str]], format: str | None) -> Any:
    if kind == "array":
        return [_choice(part.strip(), choices) if choices else part.strip() for part in text.split(",")]
    if choices:
        return _choice(text, choices)
    if kind == "boolean":
        if text.lower() in ("y", "yes", "true", "1"):
            return True
        if text.lower() in ("n", "no", "false", "0"):
            return False
        raise ValueError("answer y or n")
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    if format in _FORMATS and not _FORMATS[format](text):
        raise ValueError(f"{text!r} is not a valid {format}")
    return text


def _is_datetime(text: str, parse: Callable[[str], object]) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


_FORMATS: dict[str, Callable[[str], bool]] = {
    "email": lambda text: re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text) is not None,
    "uri": lambda text: bool(urlsplit(text).scheme and urlsplit(text).netloc),
    "date": lambda text: _is_datetime(text, date.fromisoformat),
    "date-time": lambda text: _is_datetime(text, datetime.fromisoformat),
}
"""The string formats elicitation forms use, checked as the person types."""


def _choice(text: str, choices: list[tuple[Any, str]]) -> Any:
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1][0]
    for value, title in choices:
        if text in (str(value), title):
            return value
    raise ValueError(f"{text!r} is not one of the choices")
