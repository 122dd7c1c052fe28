"""`mcpagents install` / `uninstall`, run as a user runs them, with HOME pointed at a temporary folder.

Each written file is read back with `load_server_config`, the reader mcpagents itself uses for host configs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mcpagents.connections.host_config import load_server_config
from mcpagents.connections.specs import StdioServer
from mcpagents.hosts.config_file import default_config_path

MCPAGENTS = str(Path(sys.executable).with_name("mcpagents"))
# The interpreter running the console script, whose sys.executable the entries name: this virtualenv's
# `python`, while pytest may run as its `python3` (the same interpreter under another name).
PYTHON = Path(MCPAGENTS).read_text().splitlines()[0].removeprefix("#!")
OTHER_ENTRIES = {
    "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
    "web": {"url": "https://example.com/mcp"},
}


@dataclass(frozen=True)
class HostFile:
    host: str
    title: str
    location: str
    """The standard location on Linux, relative to HOME."""
    key: str
    typed: bool
    """Whether entries carry `"type": "stdio"`."""


HOST_FILES = [
    HostFile(
        "claude-desktop", "Claude Desktop", ".config/Claude/claude_desktop_config.json", "mcpServers", False
    ),
    HostFile("vscode", "VS Code", ".config/Code/User/mcp.json", "servers", True),
    HostFile("cursor", "Cursor", ".cursor/mcp.json", "mcpServers", False),
    HostFile("claude-code", "Claude Code", ".claude.json", "mcpServers", True),
]


@pytest.fixture(params=HOST_FILES, ids=[host_file.host for host_file in HOST_FILES])
def host(request: pytest.FixtureRequest) -> HostFile:
    host_file: HostFile = request.param
    return host_file


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "agents" / "helper.yaml"
    path.parent.mkdir()
    path.write_text("name: helper\ndescription: adds numbers\n")
    return path


def run(home: Path, *arguments: str, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("XDG_CONFIG_HOME", "APPDATA")}
    env.update(HOME=str(home), **environ)
    return subprocess.run([MCPAGENTS, *arguments], capture_output=True, text=True, timeout=60, env=env)


def entry(host: HostFile, spec: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    written: dict[str, Any] = {"type": "stdio"} if host.typed else {}
    written.update(command=PYTHON, args=["-m", "mcpagents", "serve", str(spec.resolve())])
    if env:
        written["env"] = env
    return written


def read(path: Path) -> Any:
    return json.loads(path.read_text())


def backups(path: Path) -> set[Path]:
    return set(path.parent.glob(f"{path.name}.*.bak"))


def write_config(path: Path, data: Any) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=4))
    return path.read_bytes()


def assert_serves(path: Path, spec: Path, name: str = "helper", env: dict[str, str] | None = None) -> None:
    server = load_server_config(path)[name]
    assert isinstance(server, StdioServer)
    assert server.command == PYTHON
    assert Path(PYTHON).parent == Path(sys.executable).parent and os.path.samefile(PYTHON, sys.executable)
    assert server.args == ("-m", "mcpagents", "serve", str(spec.resolve()))
    assert (dict(server.env) if server.env else None) == env


def test_install_creates_the_missing_file(host: HostFile, home: Path, spec: Path) -> None:
    installed = run(home, "install", host.host, str(spec))
    assert installed.returncode == 0, installed.stderr
    path = home / host.location
    assert read(path) == {host.key: {"helper": entry(host, spec)}}
    assert path.stat().st_mode & 0o777 == 0o600
    assert backups(path) == set()
    lines = installed.stdout.splitlines()
    assert lines[0] == f"Added 'helper' to {path} ({host.title}):"
    assert json.loads("\n".join(lines[1:-2])) == entry(host, spec)
    assert lines[-2] == "The file was created."
    assert host.title in lines[-1] and "to apply the change" in lines[-1]
    assert_serves(path, spec)


def test_install_keeps_other_entries_and_keys(host: HostFile, home: Path, spec: Path) -> None:
    path = home / host.location
    previous = write_config(path, {"theme": "dark", host.key: OTHER_ENTRIES, "zeta": [1, 2.5, "é"]})
    path.chmod(0o640)
    installed = run(home, "install", host.host, str(spec))
    assert installed.returncode == 0, installed.stderr
    data = read(path)
    assert list(data) == ["theme", host.key, "zeta"]
    assert (data["theme"], data["zeta"]) == ("dark", [1, 2.5, "é"])
    assert data[host.key] == {**OTHER_ENTRIES, "helper": entry(host, spec)}
    assert list(data[host.key]) == ["files", "web", "helper"]
    assert path.read_text().splitlines()[1] == '    "theme": "dark",', "the file's indentation is kept"
    (backup,) = backups(path)
    assert backup.read_bytes() == previous
    assert path.stat().st_mode & 0o777 == backup.stat().st_mode & 0o777 == 0o640
    assert f"Backup of the previous file: {backup}" in installed.stdout.splitlines()
    assert set(load_server_config(path)) == {"files", "web", "helper"}
    assert_serves(path, spec)


def test_reinstall_replaces_the_entry_and_shows_both(host: HostFile, home: Path, spec: Path) -> None:
    path = home / host.location
    assert run(home, "install", host.host, str(spec)).returncode == 0
    first = path.read_bytes()
    replaced = run(home, "install", host.host, str(spec), "--env", "API_KEY=secret")
    assert replaced.returncode == 0, replaced.stderr
    heading, rest = replaced.stdout.split("\nBefore:\n")
    assert heading == f"Replaced 'helper' in {path} ({host.title})."
    before, after = rest.split("\nAfter:\n")
    assert json.loads(before) == entry(host, spec)
    assert json.loads(after[: after.index("\nBackup of the previous file: ")]) == entry(
        host, spec, {"API_KEY": "secret"}
    )
    assert read(path) == {host.key: {"helper": entry(host, spec, {"API_KEY": "secret"})}}
    (backup,) = backups(path)
    assert backup.read_bytes() == first
    assert_serves(path, spec, env={"API_KEY": "secret"})

    second = path.read_bytes()
    again = run(home, "install", host.host, str(spec), "--env", "API_KEY=secret")
    assert again.returncode == 0, again.stderr
    assert "is already this entry; nothing to write" in again.stdout
    assert path.read_bytes() == second
    assert backups(path) == {backup}


def test_uninstall_removes_only_that_entry(host: HostFile, home: Path, spec: Path) -> None:
    path = home / host.location
    write_config(path, {host.key: OTHER_ENTRIES, "theme": "dark"})
    assert run(home, "install", host.host, str(spec)).returncode == 0
    installed, earlier_backups = path.read_bytes(), backups(path)
    removed = run(home, "uninstall", host.host, "helper")
    assert removed.returncode == 0, removed.stderr
    lines = removed.stdout.splitlines()
    assert lines[0] == f"Removed 'helper' from {path} ({host.title}):"
    assert json.loads("\n".join(lines[1:-2])) == entry(host, spec)
    assert read(path) == {host.key: OTHER_ENTRIES, "theme": "dark"}
    (backup,) = backups(path) - earlier_backups
    assert backup.read_bytes() == installed
    assert lines[-2] == f"Backup of the previous file: {backup}"
    assert set(load_server_config(path)) == {"files", "web"}


def test_uninstall_of_an_unknown_name_lists_the_names(host: HostFile, home: Path) -> None:
    path = home / host.location
    missing = run(home, "uninstall", host.host, "helper")
    assert missing.returncode == 2
    assert missing.stderr == f"mcpagents: {path}: no such file, so there is no server 'helper' to remove\n"
    previous = write_config(path, {host.key: OTHER_ENTRIES})
    unknown = run(home, "uninstall", host.host, "helper")
    assert unknown.returncode == 2
    assert unknown.stderr == (
        f"mcpagents: {path}: no server named 'helper' in \"{host.key}\"; servers there: 'files', 'web'\n"
    )
    assert path.read_bytes() == previous
    assert backups(path) == set()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{\n  "theme": "dark",\n  "KEY": {"files": \n', "invalid JSON at line 4, column 1: Expecting value"),
        ('["an", "array"]', "expected a JSON object at the top level, got an array"),
        ('{"KEY": ["files"]}', '"KEY" must be an object mapping server names to entries, got an array'),
    ],
    ids=["truncated", "array", "servers-not-an-object"],
)
def test_a_malformed_file_is_left_untouched(
    host: HostFile, home: Path, spec: Path, content: str, problem: str
) -> None:
    path = home / host.location
    previous = write_config(path, content.replace("KEY", host.key))
    for arguments in (("install", host.host, str(spec)), ("uninstall", host.host, "files")):
        refused = run(home, *arguments)
        assert refused.returncode == 2
        assert refused.stderr.startswith(f"mcpagents: {path}: {problem.replace('KEY', host.key)}")
        assert "nothing was changed" in refused.stderr
        assert refused.stdout == ""
        assert path.read_bytes() == previous
        assert backups(path) == set()


def test_a_jsonc_file_is_read_and_its_loss_of_comments_reported(
    host: HostFile, home: Path, spec: Path
) -> None:
    path = home / host.location
    previous = write_config(
        path,
        "// servers I use\n{\n"
        f'  /* local ones */ "{host.key}": {{\n'
        '    "files": {"command": "npx", "args": ["-y", "server", "//not-a-comment"],},  // trailing comma\n'
        "  },\n}\n",
    )
    installed = run(home, "install", host.host, str(spec))
    assert installed.returncode == 0, installed.stderr
    assert read(path) == {
        host.key: {
            "files": {"command": "npx", "args": ["-y", "server", "//not-a-comment"]},
            "helper": entry(host, spec),
        }
    }
    assert "comments are lost (the backup keeps them)" in installed.stdout
    (backup,) = backups(path)
    assert backup.read_bytes() == previous
    assert_serves(path, spec)


def test_dry_run_writes_nothing(host: HostFile, home: Path, spec: Path) -> None:
    path = home / host.location
    planned = run(home, "install", host.host, str(spec), "--dry-run")
    assert planned.returncode == 0, planned.stderr
    lines = planned.stdout.splitlines()
    assert lines[0] == f"Would add 'helper' to {path} ({host.title}):"
    assert lines[-2:] == ["The file does not exist: it would be created.", "Dry run: nothing was written."]
    assert list(home.iterdir()) == [], "not even the folder is created"

    previous = write_config(path, {host.key: OTHER_ENTRIES})
    for arguments in (
        ("install", host.host, str(spec), "--env", "A=1", "--dry-run"),
        ("uninstall", host.host, "web", "--dry-run"),
    ):
        planned = run(home, *arguments)
        assert planned.returncode == 0, planned.stderr
        assert planned.stdout.splitlines()[-1] == "Dry run: nothing was written."
        assert path.read_bytes() == previous
        assert backups(path) == set()
    assert planned.stdout.startswith(f"Would remove 'web' from {path} ({host.title}):")


def test_config_path_replaces_the_standard_location(
    host: HostFile, home: Path, spec: Path, tmp_path: Path
) -> None:
    custom = tmp_path / "project" / "servers.json"
    installed = run(home, "install", host.host, str(spec), "--name", "adder", "--config-path", str(custom))
    assert installed.returncode == 0, installed.stderr
    assert read(custom) == {host.key: {"adder": entry(host, spec)}}
    assert_serves(custom, spec, name="adder")
    assert list(home.iterdir()) == []
    removed = run(home, "uninstall", host.host, "adder", "--config-path", str(custom))
    assert removed.returncode == 0, removed.stderr
    assert read(custom) == {host.key: {}}


def test_a_linked_config_stays_a_link(home: Path, spec: Path, tmp_path: Path) -> None:
    dotfile = tmp_path / "dotfiles" / "cursor-mcp.json"
    previous = write_config(dotfile, {"mcpServers": OTHER_ENTRIES})
    link = home / ".cursor" / "mcp.json"
    link.parent.mkdir()
    link.symlink_to(dotfile)
    installed = run(home, "install", "cursor", str(spec))
    assert installed.returncode == 0, installed.stderr
    assert link.is_symlink() and link.resolve() == dotfile
    assert set(read(dotfile)["mcpServers"]) == {"files", "web", "helper"}
    (backup,) = backups(dotfile)
    assert backup.read_bytes() == previous


def test_env_values_are_given_or_copied(home: Path, spec: Path) -> None:
    path = home / ".cursor" / "mcp.json"
    installed = run(
        home, "install", "cursor", str(spec), "--env", "MY_KEY", "--env", "MODE=a=b", MY_KEY="copied value"
    )
    assert installed.returncode == 0, installed.stderr
    assert read(path)["mcpServers"]["helper"]["env"] == {"MY_KEY": "copied value", "MODE": "a=b"}
    assert_serves(path, spec, env={"MY_KEY": "copied value", "MODE": "a=b"})

    unset = run(home, "install", "claude-desktop", str(spec), "--env", "MCPAGENTS_TEST_UNSET_KEY")
    assert unset.returncode == 2
    assert unset.stderr == (
        "mcpagents: --env MCPAGENTS_TEST_UNSET_KEY: MCPAGENTS_TEST_UNSET_KEY is not set here; "
        "set it, or pass --env MCPAGENTS_TEST_UNSET_KEY=VALUE\n"
    )
    assert not (home / ".config").exists()


def test_usage_errors_exit_2_and_write_nothing(home: Path, spec: Path, tmp_path: Path) -> None:
    unknown_host = run(home, "install", "notepad", str(spec))
    assert unknown_host.returncode == 2
    assert "argument HOST: invalid choice: 'notepad'" in unknown_host.stderr
    no_spec = run(home, "install", "cursor", str(tmp_path / "missing.yaml"))
    assert no_spec.returncode == 2
    assert no_spec.stderr == f"mcpagents: spec file {tmp_path / 'missing.yaml'} does not exist\n"
    vscode_file = tmp_path / "mcp.json"
    write_config(vscode_file, {"servers": OTHER_ENTRIES})
    wrong_host = run(home, "install", "cursor", str(spec), "--config-path", str(vscode_file))
    assert wrong_host.returncode == 2
    assert 'has "servers" but no "mcpServers": this is not a Cursor config file' in wrong_host.stderr
    assert list(home.iterdir()) == []
    assert read(vscode_file) == {"servers": OTHER_ENTRIES}


def test_help_has_an_example(home: Path) -> None:
    helped = run(home, "install", "--help")
    assert helped.returncode == 0
    assert "mcpagents install claude-desktop agents/helper.yaml --env ANTHROPIC_API_KEY" in helped.stdout
    assert "claude-desktop, vscode, cursor, claude-code" in helped.stdout


def test_standard_locations_on_macos_and_windows(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(home))
    support = home / "Library" / "Application Support"
    assert default_config_path("claude-desktop", platform="darwin") == (
        support / "Claude" / "claude_desktop_config.json"
    )
    assert default_config_path("vscode", platform="darwin") == support / "Code" / "User" / "mcp.json"
    roaming = {"APPDATA": "/roaming"}
    assert default_config_path("claude-desktop", platform="win32", environ=roaming) == Path(
        "/roaming/Claude/claude_desktop_config.json"
    )
    assert default_config_path("vscode", platform="win32", environ=roaming) == Path(
        "/roaming/Code/User/mcp.json"
    )
    assert default_config_path("vscode", platform="win32", environ={}) == (
        home / "AppData" / "Roaming" / "Code" / "User" / "mcp.json"
    )
    assert default_config_path("vscode", platform="linux", environ={"XDG_CONFIG_HOME": "/xdg"}) == Path(
        "/xdg/Code/User/mcp.json"
    )
    for platform in ("linux", "darwin", "win32"):
        assert default_config_path("cursor", platform=platform) == home / ".cursor" / "mcp.json"
        assert default_config_path("claude-code", platform=platform) == home / ".claude.json"
