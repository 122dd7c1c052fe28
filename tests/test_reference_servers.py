"""Third-party servers nobody on this project wrote: the npm reference servers and PyPI mcp-server-time."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcpagents import (
    Image,
    Progress,
    ResourceLink,
    StdioServer,
    ToolArgumentError,
    ToolCollection,
    ToolError,
)
from tests.conftest import CALC_SERVER, peer


@pytest.fixture(scope="module")
def everything() -> Iterator[ToolCollection]:
    with ToolCollection.from_mcp(
        StdioServer(peer("mcp-server-everything"), ["stdio"], name="everything")
    ) as tools:
        yield tools


def test_everything_server_lists_its_tools_with_schemas(everything: ToolCollection) -> None:
    assert everything.status()[0].protocol_version == "2025-11-25", "a 2025-era server: auto fell back"
    names = {tool.name for tool in everything}
    assert {"echo", "get-sum", "get-structured-content", "trigger-long-running-operation"} <= names
    assert everything["echo"].read_only and everything["echo"].idempotent
    assert everything["get-structured-content"].output_schema is not None


def test_everything_server_calls(everything: ToolCollection) -> None:
    assert everything["echo"](message="hi") == "Echo: hi"
    assert everything["get-sum"](a=2, b=3) == "The sum of 2 and 3 is 5."
    weather = everything["get-structured-content"](location="Chicago")
    assert set(weather) == {"temperature", "conditions", "humidity"}


def test_everything_server_progress(everything: ToolCollection) -> None:
    reports: list[Progress] = []
    result = everything["trigger-long-running-operation"].call_with(
        {"duration": 0.4, "steps": 4}, on_progress=reports.append
    )
    assert "completed" in result
    assert [(report.progress, report.total) for report in reports] == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_everything_server_content_types(everything: ToolCollection) -> None:
    image = [item for item in everything["get-tiny-image"]() if isinstance(item, Image)]
    assert image and image[0].mime_type == "image/png" and image[0].data.startswith(b"\x89PNG")
    links = [item for item in everything["get-resource-links"](count=2) if isinstance(item, ResourceLink)]
    assert len(links) == 2 and all(link.uri.startswith("demo://resource/") for link in links)
    (contents,) = everything.read_resource(links[0].uri)
    assert contents.text or contents.blob


def test_everything_server_errors_carry_its_message(everything: ToolCollection) -> None:
    with pytest.raises(ToolError) as caught:
        everything["get-resource-reference"](resourceId=-1)
    assert str(caught.value) == (
        "tool 'get-resource-reference' on server 'everything' failed:"
        " Invalid resourceId: -1. Must be a finite positive integer."
    )
    assert everything["echo"](message="still serving") == "Echo: still serving"


def test_everything_server_arguments_are_checked_against_its_schema(everything: ToolCollection) -> None:
    with pytest.raises(ToolArgumentError, match="argument 'location' must be one of \"New York\""):
        everything["get-structured-content"](location="Paris")
    with pytest.raises(ToolArgumentError, match="argument 'a' must be number, got string"):
        everything["get-sum"](a="two", b=3)


def test_filesystem_server_stays_inside_its_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "notes.txt").write_text("inside the root")
    (tmp_path / "secret.txt").write_text("outside the root")
    with ToolCollection.from_mcp(StdioServer(peer("mcp-server-filesystem"), [str(root)], name="fs")) as tools:
        assert "inside the root" in str(tools["read_text_file"](path=str(root / "notes.txt")))
        with pytest.raises(ToolError, match=r"tool 'read_text_file' on server 'fs' failed: .*denied"):
            tools["read_text_file"](path=str(tmp_path / "secret.txt"))


def test_time_server_from_pypi() -> None:
    server = StdioServer(sys.executable, ["-m", "mcp_server_time", "--local-timezone", "UTC"], name="time")
    with ToolCollection.from_mcp(server) as tools:
        now = tools["get_current_time"](timezone="Europe/Paris")
        assert now["timezone"] == "Europe/Paris" and "datetime" in now


def test_a_claude_desktop_config_mixing_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALC_VALUE", "from the config")
    config = tmp_path / "claude_desktop_config.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "everything": {"command": peer("mcp-server-everything"), "args": ["stdio"]},
                    "files": {"command": peer("mcp-server-filesystem"), "args": [str(tmp_path)]},
                    "time": {"command": sys.executable, "args": ["-m", "mcp_server_time"]},
                    "calc": {
                        "command": sys.executable,
                        "args": [str(CALC_SERVER)],
                        "env": {"GIVEN": "${CALC_VALUE}"},
                    },
                }
            }
        )
    )
    with ToolCollection.from_config(config) as tools:
        assert [status.name for status in tools.status() if status.connected] == [
            "everything",
            "files",
            "time",
            "calc",
        ]
        assert tools["get-sum"](a=1, b=1) == "The sum of 1 and 1 is 2."
        assert tools["getenv"](name="GIVEN") == "from the config"
        assert "list_directory" in tools and "convert_time" in tools
