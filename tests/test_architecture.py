"""The package's shape, checked on its source: layers that only point down, and no private name taken
from another module. docs/architecture.md says why each layer sits where it does."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from tests.test_package import shipped_modules

LAYERS: dict[str, int] = {
    "errors": 0,
    "portal": 1,
    "json_data": 1,
    "tls": 1,
    "logs": 1,
    "http_server": 1,
    "servers": 2,
    "sign_in": 2,
    "tracing": 2,
    "connections": 3,
    "tools": 4,
    "models": 5,
    "sandbox": 6,
    "agents": 7,
    "serving": 8,
    "spec": 9,
    "spec_schema": 9,
    "hosts": 10,
    "batch": 10,
    "hub": 10,
    "cli": 11,
}
"""Each part of the package and its rank: a module imports only parts of its own rank or lower."""

FACADES = {"mcpagents/__init__.py", "mcpagents/__main__.py"}
"""The public face re-exports every part; nothing imports it but for `__version__`."""

SANDBOX_MAY_IMPORT = {"errors", "portal", "json_data", "logs", "sandbox"}
"""The sandbox runs code and knows nothing of MCP: no connections, tools or models."""


def modules() -> Iterator[tuple[str, ast.Module]]:
    """Every module the wheel ships (`mcpagents/servers/fetch.py`, from the top-level `servers/`)."""
    for name, path in sorted(shipped_modules().items()):
        yield name, ast.parse(path.read_text(), name)


def part_of(module: str) -> str | None:
    """`mcpagents.agents.base` → `agents`; None for the package root."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[0] == "mcpagents" else None


def imports(source: str, tree: ast.Module) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of every import of mcpagents in `source`, wherever it is (functions
    included); relative imports resolved."""
    package = source.removesuffix(".py").replace("/", ".").removesuffix(".__init__").rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mcpagents"):
                    yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{module}" if module else base
            if module.startswith("mcpagents"):
                yield node.lineno, module, [alias.name for alias in node.names]


def test_layers_only_point_down() -> None:
    parts = {part_of(name.removesuffix(".py").replace("/", ".")) for name in shipped_modules()}
    assert set(LAYERS) >= parts - {"__init__", "__main__"}, "every part of the package has a rank"
    wrong = []
    for source, tree in modules():
        if source in FACADES:
            continue
        own = part_of(source.removesuffix(".py").replace("/", "."))
        assert own is not None
        for line, module, names in imports(source, tree):
            target = part_of(module)
            if target is None:
                if names != ["__version__"]:
                    wrong.append(f"{source}:{line} imports the package's public face ({names})")
                continue
            if LAYERS[target] > LAYERS[own]:
                wrong.append(
                    f"{source}:{line} ({own}, rank {LAYERS[own]}) imports {module} (rank {LAYERS[target]})"
                )
            if own == "sandbox" and target not in SANDBOX_MAY_IMPORT:
                wrong.append(f"{source}:{line}: the sandbox imports {module}")
    assert not wrong, "\n".join(wrong)


def test_no_private_name_is_imported_from_another_module() -> None:
    wrong = [
        f"{source}:{line} imports {name} from {module}"
        for source, tree in modules()
        for line, module, names in imports(source, tree)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not wrong, "\n".join(wrong)
