"""An advisory check of model-written code in the host, for clear errors to the model.

Not a security boundary (the worker's process and OS layers are): it catches the common mistakes
early — an import outside the allow-list, rebinding a tool's name, dunder tricks — and says what is
allowed instead.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

DEFAULT_AUTHORIZED_IMPORTS = (
    "collections",
    "datetime",
    "itertools",
    "json",
    "math",
    "queue",
    "random",
    "re",
    "stat",
    "statistics",
    "time",
    "unicodedata",
)
"""As smolagents' base list, plus `json`."""

MAX_CODE_CHARACTERS = 200_000

_DUNDERS_ALLOWED = frozenset(
    {"__name__", "__doc__", "__init__", "__len__", "__str__", "__repr__", "__dict__"}
)


def lint(code: str, authorized_imports: Iterable[str], reserved_names: Iterable[str]) -> list[str]:
    """Problems with `code`, as sentences for the model; an empty list when none are found."""
    if len(code) > MAX_CODE_CHARACTERS:
        return [f"The code is {len(code)} characters long; the limit is {MAX_CODE_CHARACTERS}."]
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []  # the worker reports it, with the line
    except (RecursionError, MemoryError, ValueError):
        return ["The code is nested too deeply to be read; write it more simply."]
    allowed = set(authorized_imports)
    reserved = set(reserved_names)
    problems: list[str] = []
    try:
        for node in ast.walk(tree):
            problems += _check(node, allowed, reserved)
    except RecursionError:
        return ["The code is nested too deeply to be read; write it more simply."]
    return list(dict.fromkeys(problems))


def _check(node: ast.AST, allowed: set[str], reserved: set[str]) -> list[str]:
    match node:
        case ast.Import(names=names):
            return [
                _import_problem(alias.name, allowed)
                for alias in names
                if not _authorized(alias.name, allowed)
            ]
        case ast.ImportFrom(module=module, level=0) if module and not _authorized(module, allowed):
            return [_import_problem(module, allowed)]
        case ast.Attribute(attr=attribute) if _dunder(attribute) and attribute not in _DUNDERS_ALLOWED:
            return [f"Access to the attribute {attribute!r} is not allowed."]
        case ast.Name(id=name, ctx=ast.Store()) if name in reserved:
            return [
                f"Cannot assign to {name!r}: it is a tool (or final_answer); choose another variable name."
            ]
        case ast.Name(id=name) if name in ("__import__", "__builtins__", "globals", "locals", "vars"):
            return [f"Use of {name!r} is not allowed."]
    return []


def _authorized(module: str, allowed: set[str]) -> bool:
    if "*" in allowed:
        return True
    parts = module.split(".")
    return any(
        ".".join(parts[:end]) in allowed or ".".join(parts[:end]) + ".*" in allowed
        for end in range(1, len(parts) + 1)
    )


def _import_problem(module: str, allowed: set[str]) -> str:
    return f"Import of {module!r} is not allowed. Authorized imports are: {sorted(allowed)}"


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")
