"""Add and remove one MCP server entry in the user-level config of Claude Desktop, VS Code, Cursor or
Claude Code.

An edit keeps every other entry and every other top-level key, in order. Before a file is replaced, the
previous one is copied next to it as `<file>.<UTC time>.bak`; a fresh name per edit, so a second edit never
overwrites the backup of the file as it was before the first. The new content goes to a temporary file in the
same folder that then replaces the config with `os.replace`, so a host never reads a half-written file.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

# One JSONC reader for the whole package: files are read exactly as `load_server_config` reads them.
from mcpagents.connections.host_config import strip_jsonc
from mcpagents.errors import ConfigError

Host = Literal["claude-desktop", "vscode", "cursor", "claude-code"]
HOSTS: tuple[Host, ...] = get_args(Host)
HOST_TITLES: Mapping[Host, str] = {
    "claude-desktop": "Claude Desktop",
    "vscode": "VS Code",
    "cursor": "Cursor",
    "claude-code": "Claude Code",
}

Action = Literal["added", "replaced", "removed", "unchanged"]

_SERVERS_KEY: Mapping[Host, str] = {
    "claude-desktop": "mcpServers",
    "vscode": "servers",
    "cursor": "mcpServers",
    "claude-code": "mcpServers",
}
# A file holding one of these but not the host's own key belongs to another host (or is VS Code's
# settings.json, whose "mcp": {"servers": ...} is not written here).
_FOREIGN_KEYS: Mapping[str, tuple[str, ...]] = {"mcpServers": ("servers",), "servers": ("mcpServers", "mcp")}
_HOSTS_WITH_ENTRY_TYPE: frozenset[Host] = frozenset({"vscode", "claude-code"})
# Entries may carry API keys (`--env`), so a file created here is readable by its owner only.
_NEW_FILE_MODE = 0o600
_DEFAULT_INDENT = "  "


@dataclass(frozen=True)
class Change:
    """What `install` or `uninstall` did to a host's config file (or, with `dry_run`, would do).

    `old_entry` is the entry before (None when there was none) and `new_entry` the entry after (None when
    removed). `backup` is the copy of the previous file, None when nothing was written or there was no file.
    `comments_dropped` says the previous file had comments or trailing commas (JSONC), which the plain JSON
    written back does not keep (the backup does).
    """

    action: Action
    host: Host
    name: str
    path: Path
    old_entry: Any
    new_entry: dict[str, Any] | None
    backup: Path | None
    created: bool
    comments_dropped: bool
    written: bool


def default_config_path(
    host: Host, *, platform: str = sys.platform, environ: Mapping[str, str] = os.environ
) -> Path:
    """The user-level MCP config file of `host` on `platform` (a `sys.platform` value)."""
    _check_host(host)
    home = Path.home()
    if host == "cursor":
        return home / ".cursor" / "mcp.json"
    if host == "claude-code":
        # The "user" scope: top-level "mcpServers" of ~/.claude.json (the "local" scope is under "projects").
        return home / ".claude.json"
    app_data = _electron_app_data(home, platform, environ)
    if host == "vscode":
        return app_data / "Code" / "User" / "mcp.json"
    # Claude Desktop ships for macOS and Windows only; on Linux, its community builds use ~/.config/Claude.
    return app_data / "Claude" / "claude_desktop_config.json"


def _electron_app_data(home: Path, platform: str, environ: Mapping[str, str]) -> Path:
    """Electron's `appData` folder, under which VS Code and Claude Desktop keep their user data."""
    if platform == "darwin":
        return home / "Library" / "Application Support"
    if platform == "win32":
        return Path(environ["APPDATA"]) if environ.get("APPDATA") else home / "AppData" / "Roaming"
    return Path(environ["XDG_CONFIG_HOME"]) if environ.get("XDG_CONFIG_HOME") else home / ".config"


def server_entry(
    host: Host, spec_path: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The entry that makes `host` run `mcpagents serve SPEC` with the running interpreter.

    Hosts start servers with a minimal PATH, so the command is the interpreter's absolute path (not
    resolved: a virtualenv's `python` is a symlink whose target would lose the virtualenv) and the spec's
    path is absolute too. `env` is included only when given.
    """
    _check_host(host)
    if not sys.executable:
        raise ConfigError("cannot tell the path of the running Python interpreter (sys.executable is empty)")
    entry: dict[str, Any] = {"type": "stdio"} if host in _HOSTS_WITH_ENTRY_TYPE else {}
    entry["command"] = os.path.abspath(sys.executable)
    entry["args"] = ["-m", "mcpagents", "serve", str(Path(spec_path).resolve())]
    if env:
        entry["env"] = dict(env)
    return entry


def install(
    host: Host,
    name: str,
    entry: Mapping[str, Any],
    config_path: str | os.PathLike[str] | None = None,
    *,
    dry_run: bool = False,
) -> Change:
    """Add the server `name` to the config of `host` (default: its standard file), or replace it.

    A missing file (and folder) is created. Raises `ConfigError`, writing nothing, when the existing file
    cannot be read or is not a config of that host.
    """
    if not name:
        raise ConfigError("the server name must not be empty")
    config = _ConfigFile.load(host, config_path)
    servers = config.servers(create=True)
    old = servers.get(name)
    new = dict(entry)
    action: Action = "added" if name not in servers else "unchanged" if old == new else "replaced"
    servers[name] = new
    return config.commit(action, name, old, new, dry_run=dry_run)


def uninstall(
    host: Host, name: str, config_path: str | os.PathLike[str] | None = None, *, dry_run: bool = False
) -> Change:
    """Remove the server `name` from the config of `host` (default: its standard file).

    Raises `ConfigError`, writing nothing, when the file or the entry is not there (the message lists the
    servers that are) or the file cannot be read.
    """
    config = _ConfigFile.load(host, config_path)
    if config.raw is None:
        raise ConfigError(f"{config.path}: no such file, so there is no server {name!r} to remove")
    servers = config.servers(create=False)
    if name not in servers:
        there = ", ".join(repr(server) for server in servers) or "none"
        raise ConfigError(
            f'{config.path}: no server named {name!r} in "{config.servers_key}"; servers there: {there}'
        )
    old = servers.pop(name)
    return config.commit("removed", name, old, None, dry_run=dry_run)


def _check_host(host: str) -> None:
    if host not in HOSTS:
        raise ConfigError(f"unknown host {host!r}; expected one of: {', '.join(HOSTS)}")


@dataclass
class _ConfigFile:
    """A host's config file as read (`raw` is None when it does not exist), and its edited content."""

    host: Host
    path: Path
    target: Path
    """The file actually written: the path with symlinks resolved, so a linked config stays a link."""
    raw: bytes | None
    data: dict[str, Any]
    is_jsonc: bool
    indent: str
    mode: int

    @property
    def servers_key(self) -> str:
        return _SERVERS_KEY[self.host]

    @classmethod
    def load(cls, host: Host, config_path: str | os.PathLike[str] | None) -> _ConfigFile:
        _check_host(host)
        path = Path(config_path).expanduser().absolute() if config_path else default_config_path(host)
        target = path.resolve()
        try:
            raw = target.read_bytes()
        except FileNotFoundError:
            return cls(host, path, target, None, {}, False, _DEFAULT_INDENT, _NEW_FILE_MODE)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the config file: {exc}; nothing was changed") from exc
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: cannot read the config file: {exc}; nothing was changed") from exc
        json_text = strip_jsonc(text)
        try:
            # An empty file holds nothing to keep: treat it as an empty config.
            data = json.loads(json_text) if json_text.strip() else {}
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; "
                "nothing was changed (fix the file, or move it away to start a new one)"
            ) from exc
        if not isinstance(data, dict):
            raise ConfigError(
                f"{path}: expected a JSON object at the top level, got {_json_type(data)}; "
                "nothing was changed"
            )
        indented = re.search(r"^([ \t]+)\S", text, re.MULTILINE)
        indent = indented.group(1) if indented else _DEFAULT_INDENT
        mode = stat.S_IMODE(target.stat().st_mode)
        return cls(host, path, target, raw, data, json_text != text, indent, mode)

    def servers(self, *, create: bool) -> dict[str, Any]:
        """The host's server entries, to edit in place; an absent container is added (empty) when `create`."""
        key = self.servers_key
        if key not in self.data:
            foreign = [other for other in _FOREIGN_KEYS[key] if other in self.data]
            if foreign:
                raise ConfigError(
                    f'{self.path}: has "{foreign[0]}" but no "{key}": this is not a '
                    f"{HOST_TITLES[self.host]} config file; name the right host, or another --config-path"
                )
            if not create:
                return {}
            self.data[key] = {}
        servers = self.data[key]
        if not isinstance(servers, dict):
            raise ConfigError(
                f'{self.path}: "{key}" must be an object mapping server names to entries, '
                f"got {_json_type(servers)}; nothing was changed"
            )
        return servers

    def commit(
        self, action: Action, name: str, old: Any, new: dict[str, Any] | None, *, dry_run: bool
    ) -> Change:
        """Write the edited content (unless nothing changed or `dry_run`), after backing up the old file."""
        write = action != "unchanged" and not dry_run
        backup = None
        if write:
            try:
                if self.raw is not None:
                    backup = _write_backup(self.target, self.raw, self.mode)
                text = json.dumps(self.data, indent=self.indent, ensure_ascii=False) + "\n"
                _replace_atomically(self.target, text, self.mode)
            except OSError as exc:
                raise ConfigError(f"{self.path}: cannot write the config file: {exc}") from exc
        return Change(
            action=action,
            host=self.host,
            name=name,
            path=self.path,
            old_entry=old,
            new_entry=new,
            backup=backup,
            created=self.raw is None,
            comments_dropped=self.is_jsonc and action != "unchanged",
            written=write,
        )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _write_backup(target: Path, raw: bytes, mode: int) -> Path:
    """Copy `raw` (the file as it was) to a new `<file>.<UTC time>[-N].bak` next to it, with its mode."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    attempt = 1
    while True:
        suffix = "" if attempt == 1 else f"-{attempt}"
        backup = target.with_name(f"{target.name}.{stamp}{suffix}.bak")
        try:
            descriptor = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            attempt += 1
            continue
        with os.fdopen(descriptor, "wb") as file:
            file.write(raw)
        os.chmod(backup, mode)  # os.open's mode went through the umask
        return backup


def _replace_atomically(target: Path, text: str, mode: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
