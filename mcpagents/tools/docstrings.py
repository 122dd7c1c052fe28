"""A small parser for Google-style docstrings: the summary, the `Args:` entries and the `Returns:` text."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

_SECTION_TITLES = {
    "args": ("args", "arguments", "parameters", "params"),
    "returns": ("returns", "return"),
    "other": (
        "attributes",
        "example",
        "examples",
        "keyword args",
        "keyword arguments",
        "methods",
        "note",
        "notes",
        "other parameters",
        "raises",
        "references",
        "see also",
        "todo",
        "warning",
        "warnings",
        "warns",
        "yield",
        "yields",
    ),
}
_SECTIONS = {title: section for section, titles in _SECTION_TITLES.items() for title in titles}

# Like Napoleon, a header is a known section name alone on an unindented line.
_HEADER = re.compile(r"(?P<title>[A-Za-z][A-Za-z ]*?)\s*:\s*")
# `name: text` or `name (type): text`; a `*args`/`**kwargs` entry is stored without its stars.
_ENTRY = re.compile(r"\*{0,2}(?P<name>\w+)\s*(?:\(.*?\))?\s*:(?:\s+(?P<text>.*))?")


@dataclass(frozen=True)
class Docstring:
    """What a Google-style docstring says: `params` maps parameter names to their descriptions."""

    summary: str
    params: Mapping[str, str]
    returns: str | None


def parse_docstring(doc: str | None) -> Docstring:
    """Split a Google-style docstring into its summary, `Args:` entries and `Returns:` text.

    The summary is everything before the first section header (kept with its line breaks);
    entry and `Returns:` texts have their continuation lines joined by single spaces.
    Sections other than `Args:` and `Returns:` are skipped.
    """
    summary: list[str] = []
    sections: dict[str, list[str]] = {}
    current = summary
    for line in inspect.cleandoc(doc or "").splitlines():
        header = _HEADER.fullmatch(line)
        section = _SECTIONS.get(header["title"].lower()) if header else None
        if section is None:
            current.append(line)
        else:
            current = sections.setdefault(section, [])
    returns = _join(sections.get("returns", []))
    return Docstring(
        summary="\n".join(summary).strip(),
        params=MappingProxyType(_parse_entries(sections.get("args", []))),
        returns=returns or None,
    )


def _parse_entries(lines: Sequence[str]) -> dict[str, str]:
    """Entries start at the indentation of the section's first line; deeper lines continue the last entry."""
    entries: dict[str, list[str]] = {}
    entry_indent: int | None = None
    current: list[str] | None = None
    for line in lines:
        text = line.strip()
        if not text:
            continue
        indent = len(line) - len(line.lstrip())
        if entry_indent is None:
            entry_indent = indent
        match = _ENTRY.fullmatch(text) if indent <= entry_indent else None
        if match:
            current = entries[match["name"]] = [match["text"] or ""]
        elif current is not None:
            current.append(text)
    return {name: _join(parts) for name, parts in entries.items()}


def _join(lines: Sequence[str]) -> str:
    return " ".join(text for line in lines if (text := line.strip()))
