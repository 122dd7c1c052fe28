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
from mcpagents.hosts.jsonc_edit import remove_member

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


VSCODE_WITH_COMMENTS = """\
// My servers. Edited by hand too.
{
\t"inputs": [{"type": "promptString", "id": "gh", "password": true}],
\t"servers": {
\t\t/* the files I work on */
\t\t"files": {"command": "npx", "args": ["-y", "server", "//not-a-comment"]}, // trailing comma
\t},
}
"""


def test_an_edit_changes_only_the_entry_text(home: Path, spec: Path) -> None:
    path = home / ".config/Code/User/mcp.json"
    previous = write_config(path, VSCODE_WITH_COMMENTS)
    installed = run(home, "install", "vscode", str(spec))
    assert installed.returncode == 0, installed.stderr
    text = path.read_text()
    added = text.removeprefix(VSCODE_WITH_COMMENTS[: VSCODE_WITH_COMMENTS.index("\t},\n}")])
    assert added == (
        '\t\t"helper": {\n'
        '\t\t\t"type": "stdio",\n'
        f'\t\t\t"command": {json.dumps(PYTHON)},\n'
        f'\t\t\t"args": ["-m", "mcpagents", "serve", {json.dumps(str(spec.resolve()))}]\n'
        "\t\t},\n\t},\n}\n"
    ), "the entry is indented like its siblings; the rest of the file is kept byte for byte"
    assert load_server_config(path, inputs={"gh": "x"})["helper"] == load_server_config(path)["helper"]
    assert_serves(path, spec)

    removed = run(home, "uninstall", "vscode", "helper")
    assert removed.returncode == 0, removed.stderr
    assert path.read_bytes() == previous


def test_a_claude_desktop_edit_keeps_the_other_entries_as_written(home: Path, spec: Path) -> None:
    path = home / ".config/Claude/claude_desktop_config.json"
    previous = write_config(
        path,
        '{\n  "mcpServers": {\n    "files": {"command": "npx", "args": ["-y", "fs", "/tmp"]},\n'
        '    "web": {"url": "https://example.com/mcp"}\n  },\n  "globalShortcut": "Ctrl+Space"\n}\n',
    )
    assert run(home, "install", "claude-desktop", str(spec)).returncode == 0
    assert path.read_text().startswith(
        '{\n  "mcpServers": {\n    "files": {"command": "npx", "args": ["-y", "fs", "/tmp"]},\n'
        '    "web": {"url": "https://example.com/mcp"},\n    "helper": {\n'
    )
    assert path.read_text().endswith('  },\n  "globalShortcut": "Ctrl+Space"\n}\n')
    assert_serves(path, spec)
    assert run(home, "uninstall", "claude-desktop", "helper").returncode == 0
    assert path.read_bytes() == previous


def test_a_windows_file_keeps_its_line_ends_and_byte_order_mark(home: Path, spec: Path) -> None:
    path = home / ".cursor" / "mcp.json"
    path.parent.mkdir()
    previous = (
        b'\xef\xbb\xbf{\r\n  "mcpServers": {\r\n    "web": {"url": "https://example.com/mcp"} // mine\r\n'
        b"  }\r\n}\r\n"
    )
    path.write_bytes(previous)
    assert run(home, "install", "cursor", str(spec)).returncode == 0
    written = path.read_bytes()
    assert written.startswith(
        b'\xef\xbb\xbf{\r\n  "mcpServers": {\r\n    "web": {"url": "https://example.com/mcp"},'
    )
    assert b"\n" not in written.replace(b"\r\n", b"")
    assert_serves(path, spec)
    assert run(home, "uninstall", "cursor", "helper").returncode == 0
    assert path.read_bytes() == previous


@pytest.mark.parametrize(
    ("before", "name", "after"),
    [
        ('{"s": {"a": 1, "b": 2}}', "a", '{"s": {"b": 2}}'),
        ('{"s": {"a": 1, "b": 2}}', "b", '{"s": {"a": 1}}'),
        ('{"s": {\n  "a": 1, // about a\n  "b": 2, // about b\n}}', "b", '{"s": {\n  "a": 1, // about a\n}}'),
        ('{"s": {\n  "a": 1, // about a\n  "b": 2\n}}', "b", '{"s": {\n  "a": 1 // about a\n}}'),
        ('{"s": {"a": "}//", /* } */ "b": [1, {"c": 2}]}}', "a", '{"s": {/* } */ "b": [1, {"c": 2}]}}'),
    ],
)
def test_removing_a_member_cuts_only_its_text(before: str, name: str, after: str) -> None:
    assert remove_member(before, ["s"], name) == after


def test_only_the_newest_backups_are_kept(home: Path, spec: Path) -> None:
    path = home / ".cursor" / "mcp.json"
    write_config(path, {"mcpServers": OTHER_ENTRIES})
    mine = path.with_name("mcp.json.mine.bak")
    mine.write_text("{}")
    for number in range(5):
        assert run(home, "install", "cursor", str(spec), "--env", f"N={number}").returncode == 0
    kept = backups(path) - {mine}
    assert sorted(read(backup)["mcpServers"]["helper"]["env"]["N"] for backup in kept) == ["1", "2", "3"]
    assert mine.exists(), "a backup mcpagents did not make stays"


def test_an_entry_mcpagents_did_not_write_is_replaced_only_with_force(home: Path, spec: Path) -> None:
    path = home / ".cursor" / "mcp.json"
    github = {
        "command": "docker",
        "args": ["run", "-i", "--rm", "ghcr.io/github/github-mcp-server"],
        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_secret"},
    }
    previous = write_config(path, {"mcpServers": {"github": github}})
    refused = run(home, "install", "cursor", str(spec), "--name", "github")
    assert refused.returncode == 2
    assert refused.stderr == (
        f"mcpagents: {path}: \"mcpServers\" already has an entry 'github' that mcpagents did not write "
        "(runs docker run -i --rm); pass --force to replace it, or choose another --name; "
        "nothing was changed\n"
    )
    assert path.read_bytes() == previous
    assert backups(path) == set()

    forced = run(home, "install", "cursor", str(spec), "--name", "github", "--force", "--env", "A=1")
    assert forced.returncode == 0, forced.stderr
    assert "Kept from the previous entry's env: GITHUB_PERSONAL_ACCESS_TOKEN" in forced.stdout.splitlines()
    assert read(path)["mcpServers"]["github"]["env"] == {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_secret",
        "A": "1",
    }


def test_reinstalling_keeps_the_env_keys_of_the_entry(home: Path, spec: Path) -> None:
    path = home / ".cursor" / "mcp.json"
    assert run(home, "install", "cursor", str(spec), "--env", "API_KEY=secret").returncode == 0
    again = run(home, "install", "cursor", str(spec), "--env", "MODE=fast")
    assert again.returncode == 0, again.stderr
    assert "Kept from the previous entry's env: API_KEY" in again.stdout.splitlines()
    assert_serves(path, spec, env={"API_KEY": "secret", "MODE": "fast"})


def test_vscode_user_settings_get_the_entry_under_mcp_servers(home: Path, spec: Path) -> None:
    path = home / ".config/Code/User/settings.json"
    write_config(path, '{\n  "editor.fontSize": 14,\n  "mcp": {"servers": {}}\n}\n')
    installed = run(home, "install", "vscode", str(spec), "--config-path", str(path))
    assert installed.returncode == 0, installed.stderr
    assert read(path) == {"editor.fontSize": 14, "mcp": {"servers": {"helper": entry(HOST_FILES[1], spec)}}}
    assert_serves(path, spec)
    write_config(path, {"editor.fontSize": 14})
    assert run(home, "install", "vscode", str(spec), "--config-path", str(path)).returncode == 0
    assert read(path) == {"editor.fontSize": 14, "mcp": {"servers": {"helper": entry(HOST_FILES[1], spec)}}}


def test_claude_code_scopes(home: Path, spec: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for scope in ("project", "local"):
        installed = subprocess.run(
            [MCPAGENTS, "install", "claude-code", str(spec), "--scope", scope, "--name", scope],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=project,
            env={**os.environ, "HOME": str(home)},
        )
        assert installed.returncode == 0, installed.stderr
    assert read(project / ".mcp.json") == {"mcpServers": {"project": entry(HOST_FILES[3], spec)}}
    assert read(home / ".claude.json") == {
        "projects": {str(project): {"mcpServers": {"local": entry(HOST_FILES[3], spec)}}}
    }
    refused = run(home, "install", "cursor", str(spec), "--scope", "project")
    assert refused.returncode == 2
    assert refused.stderr == "mcpagents: --scope project is for claude-code only; Cursor has one MCP config\n"


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
