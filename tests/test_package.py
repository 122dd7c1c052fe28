"""The package as installed: a light import, and no generic top-level import names."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

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
