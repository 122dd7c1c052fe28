"""Python stubs of tools for a CodeAgent's prompt: typed signatures made from the tools' JSON Schemas.

A tool with an output schema returns a TypedDict (or, for the `{"result": X}` wrapper servers use
for non-object outputs, X itself), so the model can chain tools on structured results. Optional
parameters show `= None` (meaning "omitted", typed `T | None`) unless the schema gives a default.
"""

from __future__ import annotations

import functools
import json
import keyword
import re
from collections.abc import Mapping, Sequence
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
    return _Schema(_Classes(set(_RESERVED)), found).type(schema, None)


def tool_stub(
    name: str, description: str, input_schema: Mapping[str, Any], output_schema: Mapping[str, Any] | None
) -> str:
    """Python source for one tool: the TypedDicts its signature needs, then a function whose body is
    its docstring."""
    return _stub(name, description, input_schema, output_schema, _Classes({*_RESERVED, python_name(name)}))


def tools_stubs(tools: Sequence[ToolLike]) -> str:
    """All tools' stubs in one block, separated by blank lines; a TypedDict needed by several tools is
    defined once, and different TypedDicts wanting the same name are numbered (`Item`, `Item2`)."""
    classes = _Classes({*_RESERVED, *(python_name(tool.name) for tool in tools)})
    return "\n\n".join(
        _stub(tool.name, tool.description, tool.input_schema, tool.output_schema, classes) for tool in tools
    )


class _Classes:
    """The TypedDicts defined so far, shared by all the schemas of one block of stubs."""

    def __init__(self, reserved: set[str]) -> None:
        self.reserved = reserved
        self.bodies: dict[str, str] = {}  # class name -> field lines, in the order they must be defined
        self._order: list[str] = []

    def define(self, name: str, body: str) -> bool:
        """Define the TypedDict `name` unless it is; whether it now has `body`."""
        if name not in self.bodies:
            self.bodies[name] = body
            self._order.append(name)
        return self.bodies[name] == body

    def mark(self) -> int:
        """A point to come back to (`undo`) or to list the classes defined since (`since`)."""
        return len(self._order)

    def undo(self, mark: int) -> None:
        """Forget the classes defined since `mark` (without copying all the others: linear work)."""
        while len(self._order) > mark:
            del self.bodies[self._order.pop()]

    def since(self, mark: int) -> list[tuple[str, str]]:
        return [(name, self.bodies[name]) for name in self._order[mark:]]


class _Schema:
    """Renders the types of one schema document, whose `$defs` its `$ref`s point into."""

    def __init__(self, classes: _Classes, definitions: Mapping[str, Any]) -> None:
        self.classes = classes
        self.definitions = definitions
        self.refs: dict[str, str] = {}  # definition name -> its TypedDict's name
        self.inlined: set[str] = set()  # definitions (not objects) being rendered in place
        self.pending: set[str] = set()  # TypedDicts whose fields are being rendered

    def type(self, schema: Any, name: str | None) -> str:
        """The type of `schema`; an object with properties becomes a TypedDict called `name` (or
        `dict[str, Any]` without a name)."""
        unique = list(dict.fromkeys(self._alternatives(schema, name)))
        if not unique or "Any" in unique:
            return "Any"
        literals = [text.removeprefix("Literal[")[:-1] for text in unique if text.startswith("Literal[")]
        parts = [f"Literal[{', '.join(literals)}]"] if literals else []
        parts += [text for text in unique if not text.startswith("Literal[") and text != "None"]
        if "None" in unique:
            parts.append("None")
        return " | ".join(parts)

    def _alternatives(self, schema: Any, name: str | None) -> list[str]:
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
            return [text for option in options for text in self._alternatives(option, name)]
        if "allOf" in schema:
            parts = schema["allOf"]
            return (
                self._alternatives(parts[0], name) if isinstance(parts, list) and len(parts) == 1 else ["Any"]
            )
        kind = schema.get("type", _implied_type(schema))
        if isinstance(kind, list):
            return [text for each in kind for text in self._alternatives({**schema, "type": each}, name)]
        if kind in _SCALAR_TYPES:
            return [_SCALAR_TYPES[kind]]
        if kind == "array":
            items = schema.get("items")
            return [f"list[{self.type(items, name) if isinstance(items, Mapping) else 'Any'}]"]
        if kind == "object":
            return [self._object(schema, name)]
        return ["Any"]

    def _object(self, schema: Mapping[str, Any], name: str | None) -> str:
        properties = schema.get("properties")
        if isinstance(properties, Mapping) and properties:
            return self._typed_dict(properties, schema.get("required"), name) if name else "dict[str, Any]"
        extra = schema.get("additionalProperties")
        return f"dict[str, {self.type(extra, name) if isinstance(extra, Mapping) else 'Any'}]"

    def _ref(self, ref: str) -> list[str]:
        match = _REF.fullmatch(ref)
        key = match[1].replace("~1", "/").replace("~0", "~") if match else ""
        target = self.definitions.get(key)
        if key in self.refs:
            return [self.refs[key]]
        if not isinstance(target, Mapping) or key in self.inlined:
            return ["Any"]
        properties = target.get("properties")
        if isinstance(properties, Mapping) and properties and target.get("type", "object") == "object":
            return [self._typed_dict(properties, target.get("required"), _class_name(key), ref=key)]
        self.inlined.add(key)
        alternatives = self._alternatives(target, _class_name(key))
        self.inlined.discard(key)
        return alternatives

    def _typed_dict(
        self, properties: Mapping[str, Any], required: Any, base: str, ref: str | None = None
    ) -> str:
        """The name of the TypedDict for an object's properties: `base`, or `base2`, `base3`... when
        another TypedDict already has that name."""
        if not all(_is_identifier(key) for key in properties):
            # The class syntax cannot spell such keys, and the functional one is too long for a prompt.
            return "dict[str, Any]"
        number = 0
        while True:
            number += 1
            name = base if number == 1 else f"{base}{number}"
            if name in self.classes.reserved:
                continue
            # The fields mention the name (recursion, nested classes): on a clash, render them again.
            mark, refs = self.classes.mark(), dict(self.refs)
            if ref is not None:
                self.refs[ref] = name
            self.pending.add(name)
            body = self._fields(properties, set(required) if isinstance(required, list) else set(), name)
            self.pending.discard(name)
            if self.classes.define(name, body):
                return name
            self.classes.undo(mark)
            self.refs = refs

    def _fields(self, properties: Mapping[str, Any], required: set[str], owner: str) -> str:
        lines = []
        for key, schema in properties.items():
            text = self.type(schema, _class_name(owner, key))
            if self.pending & set(re.findall(r"\w+", text)):
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
    base = _class_name(function)
    mark = classes.mark()
    returns = "str"
    if output_schema is not None:
        result: Any = output_schema
        fields = output_schema.get("properties")
        if isinstance(fields, Mapping) and set(fields) == {"result"}:
            result = fields["result"]
        returns = _Schema(classes, _definitions(output_schema)).type(result, _class_name(base, "Result"))
    schema = _Schema(classes, _definitions(input_schema))
    properties = input_schema.get("properties") or {}
    required = input_schema.get("required") or []
    parameters, args = [], []
    for key in sorted(properties, key=lambda key: key not in required):
        spec = properties[key] if isinstance(properties[key], Mapping) else {}
        text = schema.type(spec, _class_name(base, key))
        about = _shorten(_description(spec), _ARG_CHARS)
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
    classes_source = [f"class {cls}(TypedDict):\n{body}" for cls, body in classes.since(mark)]
    signature = f"def {function}({', '.join(parameters)}) -> {returns}:"
    return "\n\n".join([*classes_source, f"{signature}\n{_docstring(description, args)}"])


def _docstring(description: str, args: list[str]) -> str:
    lines = _summary(description)
    if lines and args:
        lines.append("")
    if args:
        lines += ["Args:", *(f"    {arg}" for arg in args)]
    if not lines:
        return "    ..."
    # Backslashes and quotes in the text must neither start an escape nor end the string.
    first, *rest = re.sub(r'"(?="|\Z)', r'\\"', "\n".join(lines).replace("\\", "\\\\")).split("\n")
    if not rest:
        return f'    """{first}"""'
    return f'    """{first}' + "".join(f"\n    {line}" if line else "\n" for line in rest) + '\n    """'


def _summary(description: str) -> list[str]:
    """The description's first paragraph, cut to about 300 characters after its first line."""
    paragraph = []
    for line in description.strip().splitlines():
        if not (line := _one_line(line)):
            break
        paragraph.append(line)
    kept = paragraph[:1]
    for line in paragraph[1:]:
        if sum(len(each) + 1 for each in kept) + len(line) > _DESCRIPTION_CHARS:
            kept[-1] += " ..."
            break
        kept.append(line)
    return kept


def _description(schema: Any) -> str:
    text = schema.get("description") if isinstance(schema, Mapping) else None
    return _one_line(text) if isinstance(text, str) else ""


def _one_line(text: str) -> str:
    """`text` as one line of printable characters, runs of white space made single spaces."""
    return " ".join("".join(char if char.isprintable() else " " for char in text).split())


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


@functools.lru_cache(maxsize=4096)
def _class_name(*parts: str) -> str:
    """A CamelCase identifier made of names such as `divide`, `get-sum` or `content_type`."""
    name = "".join(word[:1].upper() + word[1:] for part in parts for word in _SEPARATORS.split(part))
    if not f"A{name}".isidentifier():  # word characters that cannot be in a name: left out
        name = "".join(char for char in name if f"A{char}".isidentifier())
    return name if name.isidentifier() else f"T{name}"


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
    return repr(text) if '"' in text else f'"{text}"'
