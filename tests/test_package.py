"""The package as installed: a light import, and no generic top-level import names."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

from mcpagents import StdioServer, ToolCollection

ROOT = Path(__file__).parents[1]


def test_import_mcpagents_loads_no_heavy_dependency() -> None:
    probe = "import sys, mcpagents; print(sorted({m.split('.')[0] for m in sys.modules} & {HEAVY}))".replace(
        "{HEAVY}", repr({"mcp", "litellm", "llama_cpp", "starlette", "httpx2", "jsonschema", "pydantic"})
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_wheel_maps_servers_and_clients_under_the_package(tmp_path: Path) -> None:
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
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("mcpagents-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"mcpagents"}
    assert "mcpagents/servers/__init__.py" in names
    assert "mcpagents/clients/__init__.py" in names
    assert "mcpagents/py.typed" in names
    from mcpagents.servers import builtin_names

    assert {f"mcpagents/servers/{name}.py" for name in builtin_names()} <= set(names)

    # Installed from the wheel (not the checkout), every bundled server starts and lists its tools.
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
        check=True,
    )
    environment = {"PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import mcpagents.servers.filesystem as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, **environment},
    ).stdout
    assert where.startswith(str(site))
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
