"""Set or remove one member of an object in JSON or JSONC text, leaving every other byte as it was.

Host config files are the user's: their comments, key order, inline arrays and indentation must survive an
edit. So an edit is made on the text, not by dumping parsed data: a small tokenizer (strings, `//` and
`/* */` comments, trailing commas) finds the span of the object at a key path and of the member in it, and
only that member's text is replaced, inserted (indented like its siblings) or cut out.

The text must already be valid JSONC (callers parse it first); what is found here is positions only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<comment>//[^\n]*|/\*[\s\S]*?\*/)"
    r"|(?P<space>\s+)"
    r"|(?P<punct>[{}\[\]:,])"
    r"|(?P<literal>[^\s{}\[\]:,\"/]+)"
)


@dataclass
class _Member:
    key: str
    key_start: int
    value: _Value
    comma_end: int | None
    """The end of the comma after the value, when there is one."""


@dataclass
class _Value:
    start: int
    end: int
    members: list[_Member] = field(default_factory=list)
    is_object: bool = False


class _Parser:
    """Positions of the values of a JSONC text (comments and whitespace skipped)."""

    def __init__(self, text: str) -> None:
        self.tokens = [
            (match.lastgroup, match.start(), match.end())
            for match in _TOKEN.finditer(text)
            if match.lastgroup not in ("space", "comment")
        ]
        self.text = text
        self.index = 0

    def next(self) -> tuple[str, int, int]:
        kind, start, end = self.tokens[self.index]
        self.index += 1
        return self.text[start:end] if kind == "punct" else str(kind), start, end

    def peek(self) -> str:
        kind, start, end = self.tokens[self.index]
        return self.text[start:end] if kind == "punct" else str(kind)

    def value(self) -> _Value:
        kind, start, end = self.next()
        if kind not in ("{", "["):
            return _Value(start, end)
        closing = "}" if kind == "{" else "]"
        found = _Value(start, end, is_object=kind == "{")
        while self.peek() != closing:
            if kind == "{":
                _, key_start, key_end = self.next()
                self.next()  # the colon
                member = _Member(json.loads(self.text[key_start:key_end]), key_start, self.value(), None)
                found.members.append(member)
            else:
                self.value()
            if self.peek() == ",":
                comma_end = self.next()[2]
                if kind == "{":
                    found.members[-1].comma_end = comma_end
        found.end = self.next()[2]
        return found


def set_member(text: str, path: Sequence[str], name: str, value: Any, indent: str = "  ") -> str:
    """`text` with `name` set to `value` in the object at key `path` (objects missing on the way are
    added). An existing member keeps its place; a new one goes last, indented like its siblings, or one
    `indent` deeper than its object."""
    node, depth = _parse(text), 0
    for key in path:
        member = _find(node, key)
        if member is None or not member.value.is_object:
            break
        node, depth = member.value, depth + 1
    missing = [*path[depth:], name]
    for key in reversed(missing[1:]):
        value = {key: value}
    name = missing[0]
    existing = _find(node, name)
    if existing is not None:
        base = _line_indent(text, existing.key_start)
        return _splice(text, existing.value.start, existing.value.end, _render(value, base, indent))
    return _insert(text, node, name, value, indent)


def remove_member(text: str, path: Sequence[str], name: str) -> str:
    """`text` without the member `name` of the object at key `path`, which must be there; a comment on the
    rest of its line goes with it."""
    node = _parse(text)
    for key in path:
        node = _require(node, key).value
    members = node.members
    position = next(index for index, member in enumerate(members) if member.key == name)
    member = members[position]
    # Where the text that goes starts: after the previous member's comma and its line's comment, or the brace.
    start = _after_line_comment(text, _comma_end(members[position - 1])) if position else node.start + 1
    end = _after_line_comment(text, member.value.end if member.comma_end is None else member.comma_end)
    blanks = len(text[end:]) - len(text[end:].lstrip(" \t"))
    # Blanks ending the member's line go with it; so do those before a next member on its line when it is
    # the first (`{"a": 1, "b": 2}` becomes `{"b": 2}`).
    if text.startswith("\n", end + blanks) or (not position and member.comma_end is not None):
        end += blanks
    without = _splice(text, start, end, "")
    if member.comma_end is not None or not position:
        return without
    # The last member, without a trailing comma: the previous member's comma goes too.
    comma_end = _comma_end(members[position - 1])
    return _splice(without, comma_end - 1, comma_end, "")


def _parse(text: str) -> _Value:
    return _Parser(text).value()


def _comma_end(member: _Member) -> int:
    assert member.comma_end is not None, "a member followed by another has a comma"
    return member.comma_end


def _find(node: _Value, key: str) -> _Member | None:
    # The last of duplicate keys wins, as in json.loads.
    return next((member for member in reversed(node.members) if member.key == key), None)


def _require(node: _Value, key: str) -> _Member:
    member = _find(node, key)
    if member is None:
        raise KeyError(key)
    return member


def _insert(text: str, node: _Value, name: str, value: Any, indent: str) -> str:
    member_text = json.dumps(name, ensure_ascii=False) + ": "
    if not node.members:
        outer = _line_indent(text, node.start)
        inner = outer + indent
        body = f"\n{inner}{member_text}{_render(value, inner, indent)}\n{outer}"
        return _splice(text, node.start + 1, node.end - 1, body)
    first, last = node.members[0], node.members[-1]
    inner = _line_indent(text, first.key_start)
    if not text[: first.key_start].rstrip(" \t").endswith("\n"):
        inner = _line_indent(text, node.start) + indent  # siblings share a line with the brace
    rendered = f"\n{inner}{member_text}{_render(value, inner, indent)}"
    if last.comma_end is not None:
        # A trailing comma: the new member goes after it (and after a comment ending that line), with its own.
        at = _after_line_comment(text, last.comma_end)
        return _splice(text, at, at, rendered + ",")
    at = _after_line_comment(text, last.value.end)
    return _splice(_splice(text, at, at, rendered), last.value.end, last.value.end, ",")


def _render(value: Any, base: str, indent: str) -> str:
    """`value` as JSON whose lines after the first are indented from `base`; arrays of scalars stay on
    one line, as people write `args`."""
    if isinstance(value, dict) and value:
        inner = base + indent
        items = [
            f"{inner}{json.dumps(key, ensure_ascii=False)}: {_render(item, inner, indent)}"
            for key, item in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{base}}}"
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        inner = base + indent
        return "[\n" + ",\n".join(inner + _render(item, inner, indent) for item in value) + f"\n{base}]"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _line_indent(text: str, position: int) -> str:
    line_start = text.rfind("\n", 0, position) + 1
    line = text[line_start:position]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _after_line_comment(text: str, position: int) -> int:
    """`position`, or the end of the line when only blanks and a `//` comment follow it there."""
    rest = re.match(r"[ \t]*(//[^\n]*)?", text[position:])
    return position + rest.end() if rest and rest.group(1) else position


def _splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]
