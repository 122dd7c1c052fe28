"""The public names of `mcpagents`: the lazy table `_EXPORTS`, the `TYPE_CHECKING` re-exports that type
checkers read, and `__all__` name the same things, and each name resolves to the object its module defines.

Both tables are read from the source of mcpagents/__init__.py, as a type checker reads them."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import mcpagents

STATEMENTS = ast.parse(Path(mcpagents.__file__).read_text(encoding="utf-8")).body


def lazy_exports() -> dict[str, str]:
    """`_EXPORTS`: each name imported on first use, with its module."""
    (table,) = (
        node.value
        for node in STATEMENTS
        if isinstance(node, ast.Assign) and [ast.unparse(target) for target in node.targets] == ["_EXPORTS"]
    )
    exports: dict[str, str] = ast.literal_eval(table)
    return exports


def type_checking_imports() -> dict[str, str]:
    """The names imported under `if TYPE_CHECKING:`, with their modules."""
    (block,) = (
        node
        for node in STATEMENTS
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    )
    imports: dict[str, str] = {}
    for statement in block.body:
        assert isinstance(statement, ast.ImportFrom) and statement.module, ast.unparse(statement)
        for alias in statement.names:
            # `X as X`: the explicit re-export that strict type checkers require.
            assert alias.asname == alias.name, ast.unparse(statement)
            assert alias.name not in imports, f"{alias.name} is imported twice"
            imports[alias.name] = statement.module
    return imports


def test_lazy_exports_and_type_checking_imports_agree() -> None:
    assert type_checking_imports() == lazy_exports()


def test_all_lists_every_export_once() -> None:
    assert len(mcpagents.__all__) == len(set(mcpagents.__all__))
    assert set(mcpagents.__all__) == {"__version__", *lazy_exports()}
    assert dir(mcpagents) == sorted(mcpagents.__all__)


def test_every_export_resolves_to_the_object_of_its_module() -> None:
    for name, module in lazy_exports().items():
        assert getattr(mcpagents, name) is getattr(importlib.import_module(module), name), name
