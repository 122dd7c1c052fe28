"""Python stubs of tools for a CodeAgent's prompt: typed signatures made from the tools' JSON Schemas.

A tool with an output schema returns a TypedDict (or, for the `{"result": X}` wrapper servers use
for non-object outputs, X itself), so the model can chain tools on structured results. Optional
parameters show `= None` (meaning "omitted", typed `T | None`) unless the schema gives a default.

In one block of stubs, objects of the same structure (the same fields, types and comments) share
one TypedDict: 500 tools returning one shape define it once. It is named after its schema (a
`$defs` entry's name, else its `title`), else after what its uses share (`search_000` ...
`search_499` returning it: `SearchResult`), numbered when another class has that name. A stub's
docstring holds the description's first paragraph, each argument's description (its schema's,
else the description's `Args:` block or `:param x:` fields) and its `Returns:` sentence.
"""

from __future__ import annotations

import functools
import json
import keyword
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mcpagents.sandbox.executor import python_name

# Names the stubs use from typing (and the capitalised keywords): a class must not shadow them.
_RESERVED = frozenset({"Any", "Literal", "NotRequired", "TypedDict", "None", "True", "False"})
_SEPARATORS = re.compile(r"[\W_]+")
_REF = re.compile(r"#/(?:\$defs|definitions)/([^/]+)")
_SCALAR_TYPES = {"integer": "int", "number": "float", "string": "str", "boolean": "bool", "null": "None"}
_DESCRIPTION_CHARS = 300
_ARG_CHARS = 100
_COMMENT_CHARS = 80
_TITLE_CHARS = 40
# A class's number stands in the text between NULs (which no description or literal holds: those
# are made printable or escaped) until every class is rendered and can be named.
_CLASS = re.compile("\x00([0-9]+)\x00")
# Sections of a description (Google style): the arguments', what it returns, and the others.
_HEADER = re.compile(r"([A-Za-z][A-Za-z ]{0,20}?)\s*:\s*(.*)")
_ARGS = frozenset({"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"})
_RETURNS = frozenset({"returns", "return", "yields"})
_OTHERS = frozenset(
    {"raises", "example", "examples", "note", "notes", "see also", "attributes", "warning", "warnings"}
)
# An argument's entry: `name: text`, `name (int, optional): text`, `- `name`: text`.
_ENTRY = re.compile(r"(?:[-*]\s+)?\**`?([A-Za-z_][\w-]*)`?\**\s*(?:\([^)]*\))?\s*:\s*(.*)")
# A reST field: `:param name: text`, `:param int name: text`, `:returns: text`, `:rtype: str`.
_FIELD = re.compile(r":(\w+)(\s[^:]*)?:\s*(.*)")
_PARAM_FIELDS = frozenset({"param", "parameter", "arg", "argument", "key", "keyword"})
_RETURN_TYPE = re.compile(r"^[\w.]+(?:\[[^:]*\])?:\s+")  # `Returns: dict: The ...`


class ToolLike(Protocol):
    """What a stub is made from (a `mcpagents.Tool` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def input_schema(self) -> dict[str, Any]: ...

    @property
    def output_schema(self) -> dict[str, Any] | None: ...


def python_type(schema: Mapping[str, Any], *, definitions: Mapping[str, Any] | None = None) -> str:
    """A Python type expression for a JSON Schema: 'int', 'float', 'str', 'bool', 'None', 'list[str]',
    'dict[str, Any]', 'Literal["c", "f"]', 'int | None', a TypedDict name for a `$ref` to an object
    definition, 'Any' when unknown.

    `definitions` resolves `$ref`s (default: the schema's own `$defs` and `definitions`).
    """
    found = _definitions(schema) if definitions is None else definitions
    classes = _Classes(set(_RESERVED))
    return classes.named(_Schema(classes, found).type(schema, None))


def tool_stub(
    name: str, description: str, input_schema: Mapping[str, Any], output_schema: Mapping[str, Any] | None
) -> str:
    """Python source for one tool: the TypedDicts its signature needs, then a function whose body is
    its docstring."""
    classes = _Classes({*_RESERVED, python_name(name)})
    return classes.named(_stub(name, description, input_schema, output_schema, classes))


def tools_stubs(tools: Sequence[ToolLike]) -> str:
    """All tools' stubs in one block, separated by blank lines; a TypedDict is defined once, before
    the first tool that needs it, whichever tools it serves."""
    classes = _Classes({*_RESERVED, *(python_name(tool.name) for tool in tools)})
    return classes.named(
        "\n\n".join(
            _stub(tool.name, tool.description, tool.input_schema, tool.output_schema, classes)
            for tool in tools
        )
    )


_Use = tuple[int | None, tuple[str, ...]]
"""Where a TypedDict is used: in a class (its number) or a signature (None), and the words of the
name it would have there alone (the field's, or the tool's and the parameter's or `Result`)."""


@dataclass
class _Class:
    body: str  # its field lines, other classes written as their numbers
    fixed: str | None  # the name its schema gives it
    uses: dict[_Use, None] = field(default_factory=dict)  # in order, once each


class _Classes:
    """The TypedDicts of one block of stubs, one for each structure, named once all are known."""

    def __init__(self, reserved: set[str]) -> None:
        self.reserved = reserved
        self.classes: dict[int, _Class] = {}  # by number, in the order they must be defined
        self.same: dict[int, int] = {}  # a number given up for a class of the same body -> that class's
        self.by_body: dict[str, int] = {}
        self.order: list[int] = []
        self.documents: dict[tuple[str, str], int] = {}  # (its definitions, a $defs key) -> class
        self.count = 0

    def new(self) -> int:
        """A number for a class whose body is being rendered (its fields may refer to it)."""
        self.count += 1
        return self.count

    def define(self, number: int, body: str, fixed: str | None, use: _Use | None) -> int:
        """The class `number` has `body`: its number, or that of the class already with that body."""
        found = self.by_body.setdefault(body, number)
        if found == number:
            self.classes[number] = _Class(body, fixed)
            self.order.append(number)
        else:
            self.same[number] = found
            self.classes[found].fixed = self.classes[found].fixed or fixed
        if use is not None:
            self.classes[found].uses[use] = None
        return found

    def mark(self) -> int:
        """A point to list the classes defined since (`since`)."""
        return len(self.order)

    def since(self, mark: int) -> list[tuple[int, str]]:
        return [(number, self.classes[number].body) for number in self.order[mark:]]

    def named(self, text: str) -> str:
        """`text` with the numbers of classes replaced by their names."""
        names: dict[int, str] = {}
        taken = set(self.reserved)
        suffixes: dict[str, int] = {}  # the last number given to a name: linear work, however many

        def name(number: int) -> str:
            number = self.same.get(number, number)
            if number in names:
                return names[number]
            names[number] = ""  # a class named after itself (in a cycle): no word from it
            base = _class_name(*_shared_words(self._proposals(number, name)))
            suffix, chosen = suffixes.get(base, 1), base
            while chosen in taken:
                suffix += 1
                chosen = f"{base}{suffix}"
            suffixes[base] = suffix
            taken.add(chosen)
            names[number] = chosen
            return chosen

        for number in self.classes:  # in the order they are defined: deterministic
            name(number)
        return _CLASS.sub(lambda match: name(int(match[1])), text)

    def _proposals(self, number: int, name: Callable[[int], str]) -> list[tuple[str, ...]]:
        """The names the class would have in each of its uses, as words."""
        found = self.classes[number]
        if found.fixed:
            return [(found.fixed,)]
        return list(
            dict.fromkeys(words if owner is None else (name(owner), *words) for owner, words in found.uses)
        ) or [("T",)]


def _shared_words(proposals: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The words all proposals have, in the first one's order (that one when they share none)."""
    first, *others = proposals
    if not others:
        return first
    sets = [set(words) for words in others]
    shared = tuple(word for word in dict.fromkeys(first) if all(word in each for each in sets))
    return shared or first


class _Schema:
    """Renders the types of one schema document, whose `$defs` its `$ref`s point into."""

    def __init__(self, classes: _Classes, definitions: Mapping[str, Any]) -> None:
        self.classes = classes
        self.definitions = definitions
        self.refs: dict[str, int] = {}  # definition name -> its class's number
        self.inlined: set[str] = set()  # definitions (not objects) being rendered in place
        self.pending: set[int] = set()  # classes whose fields are being rendered
        self._document: str | None = None

    def type(self, schema: Any, use: _Use | None) -> str:
        """The type of `schema`; an object with properties becomes a TypedDict used at `use` (or
        `dict[str, Any]` without one)."""
        unique = list(dict.fromkeys(self._alternatives(schema, use)))
        if not unique or "Any" in unique:
            return "Any"
        literals = [text.removeprefix("Literal[")[:-1] for text in unique if text.startswith("Literal[")]
        parts = [f"Literal[{', '.join(literals)}]"] if literals else []
        parts += [text for text in unique if not text.startswith("Literal[") and text != "None"]
        if "None" in unique:
            parts.append("None")
        return " | ".join(parts)

    def _alternatives(self, schema: Any, use: _Use | None) -> list[str]:
        """The members of the union `schema` stands for; each literal value is one `Literal[v]`."""
        if not isinstance(schema, Mapping):
            return ["Any"]
        if isinstance(schema.get("$ref"), str):
            return self._ref(schema["$ref"])
        if "const" in schema:
            return [_literal_member(schema["const"])]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum and all(_is_scalar(value) for value in enum):
            return [_literal_member(value) for value in enum]
        options = schema.get("anyOf", schema.get("oneOf"))
        if isinstance(options, list):
            return [text for option in options for text in self._alternatives(option, use)]
        if "allOf" in schema:
            parts = schema["allOf"]
            return (
                self._alternatives(parts[0], use) if isinstance(parts, list) and len(parts) == 1 else ["Any"]
            )
        kind = schema.get("type", _implied_type(schema))
        if isinstance(kind, list):
            return [text for each in kind for text in self._alternatives({**schema, "type": each}, use)]
        if kind in _SCALAR_TYPES:
            return [_SCALAR_TYPES[kind]]
        if kind == "array":
            items = schema.get("items")
            return [f"list[{self.type(items, use) if isinstance(items, Mapping) else 'Any'}]"]
        if kind == "object":
            return [self._object(schema, use)]
        return ["Any"]

    def _object(self, schema: Mapping[str, Any], use: _Use | None) -> str:
        properties = schema.get("properties")
        if isinstance(properties, Mapping) and properties:
            if use is None:
                return "dict[str, Any]"
            return self._typed_dict(properties, schema.get("required"), _title(schema), use)
        extra = schema.get("additionalProperties")
        return f"dict[str, {self.type(extra, use) if isinstance(extra, Mapping) else 'Any'}]"

    def _ref(self, ref: str) -> list[str]:
        match = _REF.fullmatch(ref)
        key = match[1].replace("~1", "/").replace("~0", "~") if match else ""
        target = self.definitions.get(key)
        if key in self.refs:
            return [_marked(self.refs[key])]
        if not isinstance(target, Mapping) or key in self.inlined:
            return ["Any"]
        properties = target.get("properties")
        if isinstance(properties, Mapping) and properties and target.get("type", "object") == "object":
            # The same definitions in another tool's schema: the same class, recursive ones included.
            if self._document is None:
                self._document = json.dumps(self.definitions, sort_keys=True, default=repr)
            known = self.classes.documents.get((self._document, key))
            if known is not None:
                return [_marked(known)]
            typed = self._typed_dict(properties, target.get("required"), _class_name(key), None, key)
            if typed.startswith("\x00"):
                self.classes.documents[self._document, key] = int(typed.strip("\x00"))
            return [typed]
        self.inlined.add(key)
        alternatives = self._alternatives(target, (None, (key,)))
        self.inlined.discard(key)
        return alternatives

    def _typed_dict(
        self, properties: Mapping[str, Any], required: Any, fixed: str | None, use: _Use | None, ref: str = ""
    ) -> str:
        """The TypedDict of an object's properties (as its number, named later)."""
        if not all(_is_identifier(key) for key in properties):
            # The class syntax cannot spell such keys, and the functional one is too long for a prompt.
            return "dict[str, Any]"
        number = self.classes.new()
        if ref:
            self.refs[ref] = number
        self.pending.add(number)
        body = self._fields(properties, set(required) if isinstance(required, list) else set(), number)
        self.pending.discard(number)
        number = self.classes.define(number, body, fixed, use)
        if ref:
            self.refs[ref] = number
        return _marked(number)

    def _fields(self, properties: Mapping[str, Any], required: set[str], owner: int) -> str:
        lines = []
        for key, schema in properties.items():
            text = self.type(schema, (owner, (key,)))
            if any(int(number) in self.pending for number in _CLASS.findall(text)):
                text = _quoted(text)  # a class still being defined: a forward reference
            line = f"    {key}: {text if key in required else f'NotRequired[{text}]'}"
            if comment := _shorten(_description(schema), _COMMENT_CHARS):
                line += f"  # {comment}"
            lines.append(line)
        return "\n".join(lines)


def _stub(
    name: str,
    description: str,
    input_schema: Mapping[str, Any],
    output_schema: Mapping[str, Any] | None,
    classes: _Classes,
) -> str:
    function = python_name(name)
    words = tuple(word for word in _SEPARATORS.split(function) if word)
    mark = classes.mark()
    returns = "str"
    if output_schema is not None:
        result: Any = output_schema
        fields = output_schema.get("properties")
        if isinstance(fields, Mapping) and set(fields) == {"result"}:
            result = fields["result"]
        returns = _Schema(classes, _definitions(output_schema)).type(result, (None, (*words, "Result")))
    schema = _Schema(classes, _definitions(input_schema))
    properties = input_schema.get("properties") or {}
    required = input_schema.get("required") or []
    documented = _Described(description)
    parameters, args = [], []
    for key in sorted(properties, key=lambda key: key not in required):
        spec = properties[key] if isinstance(properties[key], Mapping) else {}
        text = schema.type(spec, (None, (*words, key)))
        about = _shorten(_description(spec) or documented.args.get(key, ""), _ARG_CHARS)
        if not _is_identifier(key):
            args.append(f"(also accepts {_literal(key)}: {text} via **kwargs) {about}".rstrip())
            continue
        if key in required:
            parameters.append(f"{key}: {text}")
        elif spec.get("default") is None:  # omitted, or a default of null
            parameters.append(f"{key}: {_or_none(text)} = None")
        else:
            parameters.append(f"{key}: {text} = {_literal(spec['default'])}")
        if about:
            args.append(f"{key}: {about}")
    classes_source = [f"class {_marked(number)}(TypedDict):\n{body}" for number, body in classes.since(mark)]
    signature = f"def {function}({', '.join(parameters)}) -> {returns}:"
    return "\n\n".join([*classes_source, f"{signature}\n{_docstring(documented, args)}"])


def _docstring(documented: _Described, args: list[str]) -> str:
    sections = [_summary(documented.summary)]
    if args:
        sections.append(["Args:", *(f"    {arg}" for arg in args)])
    if documented.returns:
        sections.append([f"Returns: {_shorten(_sentence(documented.returns), _ARG_CHARS)}"])
    lines = [line for section in sections if section for line in ["", *section]][1:]
    if not lines:
        return "    ..."
    # Backslashes and quotes in the text must neither start an escape nor end the string.
    first, *rest = re.sub(r'"(?="|\Z)', r'\\"', "\n".join(lines).replace("\\", "\\\\")).split("\n")
    if not rest:
        return f'    """{first}"""'
    return f'    """{first}' + "".join(f"\n    {line}" if line else "\n" for line in rest) + '\n    """'


class _Described:
    """What a tool's description says: its first paragraph (each line made one line of printable
    text), its arguments (an `Args:` block, Google style, or reST `:param x:` fields) and what it
    returns (`Returns:`, `:returns:`)."""

    def __init__(self, description: str) -> None:
        self.summary: list[str] = []
        self.args: dict[str, str] = {}
        self.returns = ""
        pieces: dict[str, list[str]] = {}  # an argument's lines; "" for what the tool returns
        section = "summary"  # then "args", "returns", "other", "fields" (reST) or "" (prose)
        header = entries = 0  # indentation of the section's header and its entries
        current: list[str] | None = None  # the lines a more indented line continues
        for raw in description.expandtabs(4).splitlines():
            text, indent = _one_line(raw), len(raw) - len(raw.lstrip())
            if not text:
                section = "" if section == "summary" and self.summary else section
                continue
            heading = _HEADER.fullmatch(text)
            kind = heading[1].lower() if heading else ""
            fields = _FIELD.fullmatch(text)
            if heading and (kind in _ARGS or kind in _RETURNS or (kind in _OTHERS and not heading[2])):
                section = "args" if kind in _ARGS else "returns" if kind in _RETURNS else "other"
                header, entries = indent, -1
                current = pieces.setdefault("", []) if section == "returns" else None
                if current is not None and heading[2]:  # `Returns: The ...` on one line
                    current.append(_RETURN_TYPE.sub("", heading[2]))
            elif fields:
                section, header, entries = "fields", indent, indent
                role, named = fields[1], (fields[2] or "").split()  # `:param int limit: ...`
                current = None
                if role in ("returns", "return"):
                    current = pieces.setdefault("", [])
                elif named and role in _PARAM_FIELDS:
                    current = pieces.setdefault(named[-1], [])
                if current is not None and fields[3]:
                    current.append(fields[3])
            elif section == "summary":
                self.summary.append(text)
            elif (
                section == "args"
                and (entry := _ENTRY.fullmatch(text))
                and indent >= header
                and (entries < 0 or indent <= entries)
            ):
                entries = indent
                current = pieces.setdefault(entry[1], [])
                if entry[2]:
                    current.append(entry[2])
            elif section == "returns" and current is not None and (indent > header or not current):
                current.append(_RETURN_TYPE.sub("", text) if not current else text)
            elif current is not None and indent > max(header, entries) and section in ("args", "fields"):
                current.append(text)
            else:
                section, current = "", None  # prose after a section, or a section left
        self.returns = " ".join(pieces.pop("", []))
        self.args = {name: " ".join(lines) for name, lines in pieces.items() if lines}


def _summary(paragraph: list[str]) -> list[str]:
    """A description's first paragraph, cut to about 300 characters after its first line."""
    kept = paragraph[:1]
    for line in paragraph[1:]:
        if sum(len(each) + 1 for each in kept) + len(line) > _DESCRIPTION_CHARS:
            kept[-1] += " ..."
            break
        kept.append(line)
    return kept


def _sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]


def _description(schema: Any) -> str:
    text = schema.get("description") if isinstance(schema, Mapping) else None
    return _one_line(text) if isinstance(text, str) else ""


def _one_line(text: str) -> str:
    """`text` as one line of printable characters, runs of white space made single spaces."""
    if not text.isprintable():  # rare: then character by character
        text = "".join(char if char.isprintable() else " " for char in text)
    return " ".join(text.split())


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + "..."


def _definitions(schema: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        if isinstance(schema.get(key), Mapping):
            found.update(schema[key])
    return found


def _implied_type(schema: Mapping[str, Any]) -> str | None:
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return None


def _title(schema: Mapping[str, Any]) -> str | None:
    """The class name an object's `title` makes, unless too long to be one."""
    title = schema.get("title")
    name = _class_name(title) if isinstance(title, str) else ""
    return name if 0 < len(name) <= _TITLE_CHARS and name.isidentifier() else None


@functools.lru_cache(maxsize=4096)
def _class_name(*parts: str) -> str:
    """A CamelCase identifier made of names such as `divide`, `get-sum` or `content_type`."""
    name = "".join(word[:1].upper() + word[1:] for part in parts for word in _SEPARATORS.split(part))
    if not f"A{name}".isidentifier():  # word characters that cannot be in a name: left out
        name = "".join(char for char in name if f"A{char}".isidentifier())
    return name if name.isidentifier() else f"T{name}"


def _marked(number: int) -> str:
    return f"\x00{number}\x00"


def _is_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float)


def _literal_member(value: Any) -> str:
    if value is None:
        return "None"
    return f"Literal[{_literal(value)}]" if _is_scalar(value) else "Any"


def _literal(value: Any) -> str:
    """JSON data as a Python literal, strings in double quotes: `"c"`, `True`, `None`, `[1, 2]`."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return f"[{', '.join(_literal(item) for item in value)}]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_literal(str(key))}: {_literal(item)}" for key, item in value.items()) + "}"
    return repr(value)


def _or_none(text: str) -> str:
    return text if text in ("Any", "None") or text.endswith(" | None") else f"{text} | None"


def _quoted(text: str) -> str:
    """`text` as a string literal (as `repr` writes it, but for the NULs around class numbers)."""
    if '"' not in text:
        return f'"{text}"'
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
