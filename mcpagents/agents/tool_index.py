"""Progressive disclosure: when an agent's tools would take more of its prompt than they should, the
prompt holds a compact index of them, and the model asks for the full definitions of those it needs
(`search_tools`, `help(tool)`), which the run then keeps showing it.

The index is the richest of four forms that fits the limit: each tool with its parameters and a
one-line summary; each server with its tools' names; the same with names that differ only in their
last word written once (`invoice_{archive,create}`); each server with its number of tools and a few
of their names. Sizes are estimated (`estimated_tokens`); bench/tool_scale.py counts them exactly.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcpagents.sandbox.executor import python_name
from mcpagents.tools.tool import Tool

DEFAULT_TOOL_PROMPT_LIMIT = 2_000
"""Tokens the tools may take in a system prompt before they are indexed instead (see BENCHMARKS.md:
at this size, about 20 tools with typed results, the full stubs still cost less than one step's
observation of a large result, and an index of 1,000 tools fits in it)."""
SEARCH_TOOLS = "search_tools"
SEARCH_LIMIT = 5
_SUMMARY_CHARS = 80
_EXAMPLES = (64, 32, 16, 8, 4)
"""How many of each server's tools the last form names, the most that fits."""
_PIECE = re.compile(r"[A-Za-z]{1,10}|[0-9]{1,3}|[^\sA-Za-z0-9]")
_WORD = re.compile(r"[A-Za-z][a-z]*|[0-9]+")


def estimated_tokens(text: str) -> int:
    """About as many tokens as o200k or cl100k make of `text`, rather more: its words (long ones cut
    in pieces of 10 letters), numbers (3 digits a piece) and punctuation marks, each one token."""
    return len(_PIECE.findall(text))


def within(texts: Iterable[str], limit: int) -> bool:
    """Whether `texts` together stay within `limit` tokens; stops reading them once they do not (the
    full definitions of 1,000 tools are never made only to learn that they are too many)."""
    total = 0
    for text in texts:
        total += estimated_tokens(text)
        if total > limit:
            return False
    return True


@dataclass(frozen=True)
class Found:
    """A search's best matches, and how many more matched."""

    tools: list[Tool]
    more: int


class ToolIndex:
    """The index of `tools`, by server, and a search over their names, servers and descriptions."""

    def __init__(self, tools: Sequence[Tool]) -> None:
        self.tools = list(tools)
        self.servers: dict[str, list[Tool]] = {}
        for tool in self.tools:
            self.servers.setdefault(tool.server, []).append(tool)
        self._named = {tool.name: _words(tool.name) for tool in self.tools}
        # Words of the server's name weigh as the description's: a server named `shop` must not
        # make all its tools the answer to "find a shop".
        self._described = {tool.name: _words(f"{tool.description} {tool.server}") for tool in self.tools}

    def text(self, limit: int, *, prefix: str = "# ") -> str:
        """The richest form of the index within `limit` tokens (the last form whatever its size: one
        line per server), each line starting with `prefix`."""
        forms: list[Callable[[], list[str]]] = [self._signatures, self._names, self._grouped]
        forms += [functools.partial(self._samples, examples) for examples in _EXAMPLES]
        for form in forms:
            text = "\n".join(f"{prefix}{line}" if line else "" for line in form())
            if estimated_tokens(text) <= limit or form is forms[-1]:
                return text
        raise AssertionError("unreachable")

    def search(self, query: str, limit: int = SEARCH_LIMIT) -> Found:
        """The tools that best match `query` (words; a tool's exact name ranks first)."""
        wanted = _words(query)
        exact = query.strip()
        scored = []
        for tool in self.tools:
            if exact in (tool.name, python_name(tool.name)):
                scored.append((1_000, tool))
                continue
            named, described = self._named[tool.name], self._described[tool.name]
            score = sum(3 if word in named else 1 if word in described else 0 for word in wanted)
            if score:
                scored.append((score, tool))
        # Among equals, the name with the fewest words besides those asked for: `login` before
        # `get_login_status`.
        scored.sort(key=lambda pair: (-pair[0], len(self._named[pair[1].name] - wanted), pair[1].name))
        return Found([tool for _, tool in scored[:limit]], max(0, len(scored) - limit))

    def no_match(self, query: str) -> str:
        return f"No tool matches {query!r}. Try other words; the servers are: {', '.join(self.servers)}."

    def _signatures(self) -> list[str]:
        lines: list[str] = []
        for server, tools in self.servers.items():
            lines += ["", f"{server} ({_count(tools)}):"] if lines else [f"{server} ({_count(tools)}):"]
            lines += [f"{_call(tool)}: {summary(tool.description)}".rstrip(": ") for tool in tools]
        return lines

    def _names(self) -> list[str]:
        return [
            f"{server} ({_count(tools)}): {', '.join(python_name(tool.name) for tool in tools)}"
            for server, tools in self.servers.items()
        ]

    def _grouped(self) -> list[str]:
        """Names that differ only in their last word written once: `invoice_{archive,create}`."""
        lines = []
        for server, tools in self.servers.items():
            groups: dict[str, list[str]] = {}
            for tool in tools:
                stem, _, last = python_name(tool.name).rpartition("_")
                groups.setdefault(stem or last, []).append(last if stem else "")
            names = [
                f"{stem}_{{{','.join(lasts)}}}"
                if len(lasts) > 1
                else (f"{stem}_{lasts[0]}" if lasts[0] else stem)
                for stem, lasts in groups.items()
            ]
            lines.append(f"{server} ({_count(tools)}): {', '.join(names)}")
        return lines

    def _samples(self, examples: int) -> list[str]:
        lines = []
        for server, tools in self.servers.items():
            names = ", ".join(python_name(tool.name) for tool in tools[:examples])
            lines.append(f"{server} ({_count(tools)}): {names}{', ...' if len(tools) > examples else ''}")
        return lines


def summary(description: str) -> str:
    """A description's first sentence, on one line, cut to about 80 characters."""
    text = " ".join(description.split())
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return (
        sentence
        if len(sentence) <= _SUMMARY_CHARS
        else sentence[: _SUMMARY_CHARS - 3].rsplit(" ", 1)[0] + "..."
    )


def _call(tool: Tool) -> str:
    """`name(required, optional?)`: what a call needs, without the types."""
    properties: Mapping[str, Any] = tool.input_schema.get("properties") or {}
    required = set(tool.input_schema.get("required") or ())
    parameters = [key for key in properties if key in required] + [
        f"{key}?" for key in properties if key not in required
    ]
    return f"{python_name(tool.name)}({', '.join(parameters)})"


def _count(tools: Sequence[Tool]) -> str:
    return "1 tool" if len(tools) == 1 else f"{len(tools)} tools"


def _words(text: str) -> set[str]:
    """The lower-case words of `text`, `snake_case` and `camelCase` names split into theirs, plurals
    made singular (`files` finds `read_file`)."""
    return {_singular(word.lower()) for word in _WORD.findall(text)}


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
