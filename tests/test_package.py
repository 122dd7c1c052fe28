"""The package as installed: a light import, no generic top-level import names, every module shipped, and
only declared HTTP clients imported."""

from __future__ import annotations

import ast
import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from mcpagents import StdioServer, ToolCollection

ROOT = Path(__file__).parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def shipped_modules() -> dict[str, Path]:
    """Every module of the package as a wheel names it (`mcpagents/servers/fetch.py`), with its source file:
    all of `mcpagents/`, and all of each folder `package-dir` maps under the package."""
    folders = {"mcpagents": ROOT / "mcpagents"} | {
        package.replace(".", "/"): ROOT / folder for package, folder in SETUPTOOLS["package-dir"].items()
    }
    return {
        f"{prefix}/{source.relative_to(folder).as_posix()}": source
        for prefix, folder in folders.items()
        for source in folder.rglob("*.py")
        if "__pycache__" not in source.parts
    }


def test_import_mcpagents_loads_no_heavy_dependency() -> None:
    probe = "import sys, mcpagents; print(sorted({m.split('.')[0] for m in sys.modules} & {HEAVY}))".replace(
        "{HEAVY}", repr({"mcp", "litellm", "llama_cpp", "starlette", "httpx2", "jsonschema", "pydantic"})
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_no_module_imports_httpx() -> None:
    # The HTTP client is httpx2, the MCP SDK's; httpx is not a dependency (litellm may still install it).
    importing = sorted(
        name
        for name, source in shipped_modules().items()
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
        if (isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "httpx" for alias in node.names))
        or (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "httpx"
        )
    )
    assert importing == []


def test_the_wheel_maps_servers_and_hosts_under_the_package(tmp_path: Path) -> None:
    # Built from a clean copy: a checkout's build/ folder keeps the modules of earlier builds.
    source = tmp_path / "source"
    source.mkdir()
    for name in ["pyproject.toml", "README.md", "mcpagents", *SETUPTOOLS["package-dir"].values()]:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("mcpagents-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"mcpagents"}
    assert "mcpagents/servers/__init__.py" in names
    assert "mcpagents/hosts/__init__.py" in names
    assert "mcpagents/py.typed" in names
    # A package missing from pyproject's list leaves its modules out of the wheel.
    assert {name for name in names if name.endswith(".py")} == set(shipped_modules())
    from mcpagents.servers import builtin_names

    assert {f"mcpagents/servers/{name}.py" for name in builtin_names()} <= set(names)

    # Installed from the wheel (not the checkout), the mapped packages import and every bundled server
    # starts and lists its tools.
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
        check=True,
    )
    environment = {"PYTHONPATH": str(site)}
    probe = (
        "import mcpagents.servers.filesystem as s, mcpagents.hosts.config_file as h; "
        "print(s.__file__, h.__file__)"
    )
    where = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, **environment},
    ).stdout.split()
    assert where == [
        str(site / "mcpagents" / "servers" / "filesystem.py"),
        str(site / "mcpagents" / "hosts" / "config_file.py"),
    ]
    root = tmp_path / "root"
    root.mkdir()
    database = tmp_path / "empty.sqlite3"
    sqlite3.connect(database).close()
    arguments = {
        "filesystem": [str(root)],
        "sqlite": [str(database)],
        "memory": ["--db", str(database) + "-mem"],
    }
    servers = [
        StdioServer(
            sys.executable,
            ["-m", f"mcpagents.servers.{name}", *arguments.get(name, [])],
            env=environment,
            name=name,
        )
        for name in builtin_names()
    ]
    with ToolCollection.from_mcp(servers, fail_fast=True) as tools:
        assert {status.name for status in tools.status() if status.connected} == set(builtin_names())
