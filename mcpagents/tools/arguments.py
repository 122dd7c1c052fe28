"""Checking tool arguments against the tool's input schema before anything is sent."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.validators

from mcpagents.errors import ToolArgumentError

logger = logging.getLogger("mcpagents")

_JSON_TYPE_NAMES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}
_MAX_REPORTED = 5


class ArgumentChecker:
    """Validates arguments for one tool; errors name the tool, the argument and what was expected.

    Arguments the schema does not declare are refused unless the schema allows extra properties
    explicitly: a misspelt argument name should fail here, not be silently dropped by the server.
    """

    def __init__(self, tool: str, schema: Mapping[str, Any], server: str | None = None) -> None:
        self.tool = tool
        self.server = server
        self.schema = dict(schema)
        self._properties: Mapping[str, Any] = self.schema.get("properties") or {}
        self._closed = "additionalProperties" not in self.schema and "patternProperties" not in self.schema
        self._plain = _plain_types(self.schema)

    @cached_property
    def validator(self) -> Any:
        """The jsonschema validator (None for an invalid schema), made on first use: checking a
        schema costs about a millisecond, and of a thousand tools listed few are ever called."""
        return _compile(self.schema, self.tool)

    def check(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments as plain JSON data, or `ToolArgumentError` explaining every problem."""
        data = {
            name: _to_json(value, f"{self.tool}(): argument {name!r}", self)
            for name, value in arguments.items()
        }
        if self._plain is not None and _plainly_valid(data, *self._plain):
            return data
        problems = []
        if self._closed and self._properties:
            problems += [self._unexpected(name) for name in data if name not in self._properties]
        if self.validator is not None:
            problems += [self._explain(error) for error in self.validator.iter_errors(data)]
        if problems:
            shown = problems[:_MAX_REPORTED]
            if len(problems) > len(shown):
                shown.append(f"... and {len(problems) - len(shown)} more")
            raise ToolArgumentError(f"{self.tool}(): " + "; ".join(shown), tool=self.tool, server=self.server)
        return data

    def signature(self) -> str:
        """`(a: integer, b?: integer)`: the arguments as a short human-readable list."""
        required = set(self.schema.get("required") or ())
        parts = [
            f"{name}{'' if name in required else '?'}: {_schema_summary(spec)}"
            for name, spec in self._properties.items()
        ]
        return "(" + ", ".join(parts) + ")"

    def _unexpected(self, name: str) -> str:
        known = ", ".join(self._properties) or "none"
        return f"unexpected argument {name!r} (its arguments are: {known})"

    def _explain(self, error: jsonschema.exceptions.ValidationError) -> str:
        where = _location(error.absolute_path)
        got = _describe_value(error.instance)
        expected: Any = error.validator_value
        instance: Any = error.instance
        match error.validator:
            case "required":
                missing = [name for name in expected if name not in instance]
                schema: Any = error.schema
                properties = schema.get("properties") or {}
                listed = ", ".join(
                    f"{name!r} ({_schema_summary(properties.get(name, {}))})" for name in missing
                )
                prefix = f"argument {where} is " if where else ""
                return f"{prefix}missing required argument{'s' if len(missing) > 1 else ''} {listed}"
            case "type":
                wanted = " or ".join(expected) if isinstance(expected, list) else expected
                return f"argument {where} must be {wanted}, got {got}"
            case "enum":
                options = ", ".join(json.dumps(option) for option in expected)
                return f"argument {where} must be one of {options}, got {got}"
            case "const":
                return f"argument {where} must be {json.dumps(expected)}, got {got}"
            case "anyOf" | "oneOf":
                options = " | ".join(_schema_summary(option) for option in expected)
                return f"argument {where} must be {options}, got {got}"
            case "additionalProperties" if not where:
                extra = [name for name in instance if name not in self._properties]
                return "; ".join(self._unexpected(name) for name in extra)
            case _:
                return f"argument {where or '(all)'}: {error.message}"


# Most tools take a few flat, scalar arguments. Their valid calls are recognised here in a
# microsecond; anything else, and every invalid call, goes through jsonschema (whose errors we explain).
_PLAIN_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_PLAIN_OBJECT_KEYS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "title",
    "description",
    "$schema",
}
_PLAIN_PROPERTY_KEYS = {"type", "title", "description", "default", "examples"}


def _plain_types(schema: Mapping[str, Any]) -> tuple[dict[str, tuple[type, ...]], frozenset[str]] | None:
    """The Python types of each argument and the required names, when the schema is that simple."""
    if not schema.keys() <= _PLAIN_OBJECT_KEYS or schema.get("type") != "object":
        return None
    if schema.get("additionalProperties", False) is not False:
        return None
    properties, required = schema.get("properties") or {}, schema.get("required") or []
    # Seen before the schema itself is checked: anything malformed goes the jsonschema way.
    if not isinstance(properties, Mapping) or not (
        isinstance(required, list) and all(isinstance(name, str) for name in required)
    ):
        return None
    types = {}
    for name, spec in properties.items():
        if not isinstance(spec, Mapping) or not spec.keys() <= _PLAIN_PROPERTY_KEYS:
            return None
        if (kind := _PLAIN_TYPES.get(str(spec.get("type")))) is None:
            return None
        types[name] = kind
    return types, frozenset(required)


def _plainly_valid(
    data: Mapping[str, Any], types: Mapping[str, tuple[type, ...]], required: frozenset[str]
) -> bool:
    if not required <= data.keys():
        return False
    for name, value in data.items():
        kind = types.get(name)
        if kind is None or not isinstance(value, kind) or (isinstance(value, bool) and bool not in kind):
            return False
    return True


def _compile(schema: dict[str, Any], tool: str) -> Any:
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
        return cls(schema)
    except jsonschema.exceptions.SchemaError as error:
        logger.warning("tool %r has an invalid input schema; its arguments are not checked: %s", tool, error)
        return None


def _to_json(value: Any, where: str, checker: ArgumentChecker) -> Any:
    """Plain JSON data: tuples become lists; anything else that is not JSON is refused, as are texts
    that cannot be UTF-8 (a lone surrogate) and numbers JSON has no word for (NaN, infinities)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return _text(value, where, checker)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _not_json(f"{where} is {value}, which JSON cannot carry", checker)
        return value
    if isinstance(value, list | tuple):
        return [_to_json(item, where, checker) for item in value]
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return {_text(key, where, checker): _to_json(item, where, checker) for key, item in value.items()}
    raise _not_json(
        f"{where} is a {type(value).__name__}, which is not JSON data (use str, int, float, bool, None, "
        "lists and dicts)",
        checker,
    )


def _text(value: str, where: str, checker: ArgumentChecker) -> str:
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError as error:
            raise _not_json(
                f"{where} holds a lone surrogate ({value[error.start]!r} at index {error.start}), which JSON"
                " text cannot carry",
                checker,
            ) from None
    return value


def _not_json(message: str, checker: ArgumentChecker) -> ToolArgumentError:
    return ToolArgumentError(message, tool=checker.tool, server=checker.server)


def _location(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return repr(text) if text else ""


def _describe_value(value: Any) -> str:
    kind = "null" if value is None else _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
    shown = json.dumps(value, default=str)
    return f"{kind} {shown[:60]}{'...' if len(shown) > 60 else ''}"


def _schema_summary(schema: Mapping[str, Any]) -> str:
    """A one-word-ish description of a schema: `integer`, `"a" | "b"`, `array of string`, ..."""
    if "enum" in schema:
        return " | ".join(json.dumps(option) for option in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return " | ".join(_schema_summary(option) for option in schema[combinator])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(kind)
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return f"array of {_schema_summary(schema['items'])}"
    if isinstance(kind, str):
        return kind
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    return "any"
