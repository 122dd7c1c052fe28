"""Add and remove one MCP server entry in the user-level config of Claude Desktop, VS Code, Cursor or
Claude Code.

An edit changes only the text of the one entry (`jsonc_edit`): every other byte of the file stays, comments,
inline arrays and key order included. An entry mcpagents did not write (one whose command does not run
`mcpagents serve`) is replaced only when forced. Before a file is replaced, the previous one is copied next to
it as `<file>.<UTC time>.bak`, and only the newest `KEPT_BACKUPS` of these are kept. The new content goes to a
temporary file in the same folder that then replaces the config with `os.replace`, so a host never reads a
half-written file.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

# One JSONC reader for the whole package: files are read exactly as `load_server_config` reads them.
from mcpagents.connections.host_config import strip_jsonc
from mcpagents.errors import ConfigError

from .jsonc_edit import remove_member, set_member

Host = Literal["claude-desktop", "vscode", "cursor", "claude-code"]
HOSTS: tuple[Host, ...] = get_args(Host)
HOST_TITLES: Mapping[Host, str] = {
    "claude-desktop": "Claude Desktop",
    "vscode": "VS Code",
    "cursor": "Cursor",
    "claude-code": "Claude Code",
}

Action = Literal["added", "replaced", "removed", "unchanged"]
Scope = Literal["user", "project", "local"]
"""Claude Code's scopes: ~/.claude.json (user), the project's .mcp.json, or the project's part of
~/.claude.json (local: `projects[<project folder>].mcpServers`)."""
SCOPES: tuple[Scope, ...] = get_args(Scope)
KEPT_BACKUPS = 3
"""How many `<file>.<UTC time>.bak` backups of a config file are kept: the newest ones."""

_SERVERS_KEY: Mapping[Host, str] = {
    "claude-desktop": "mcpServers",
    "vscode": "servers",
    "cursor": "mcpServers",
    "claude-code": "mcpServers",
}
# A file holding one of these but not the host's own key belongs to another host.
_FOREIGN_KEYS: Mapping[str, tuple[str, ...]] = {"mcpServers": ("servers", "mcp"), "servers": ("mcpServers",)}
# What the command of an entry written by `server_entry` runs (the interpreter's path varies).
_SERVE_ARGS = ["-m", "mcpagents", "serve"]
_BACKUP_NAME = r"\.(\d{8}T\d{6}Z)(?:-(\d+))?\.bak"
_HOSTS_WITH_ENTRY_TYPE: frozenset[Host] = frozenset({"vscode", "claude-code"})
# Entries may carry API keys (`--env`), so a file created here is readable by its owner only.
_NEW_FILE_MODE = 0o600
_DEFAULT_INDENT = "  "


@dataclass(frozen=True)
class Change:
    """What `install` or `uninstall` did to a host's config file (or, with `dry_run`, would do).

    `old_entry` is the entry before (None when there was none) and `new_entry` the entry after (None when
    removed). `backup` is the copy of the previous file, None when nothing was written or there was no file.
    `kept_env` names the `env` keys of a replaced entry that the new one keeps.
    """

    action: Action
    host: Host
    name: str
    path: Path
    old_entry: Any
    new_entry: dict[str, Any] | None
    backup: Path | None
    created: bool
    written: bool
    kept_env: tuple[str, ...] = ()


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
    force: bool = False,
    scope: Scope = "user",
) -> Change:
    """Add the server `name` to the config of `host` (default: its standard file), or replace it.

    An existing entry that mcpagents did not write is replaced only with `force`: it is the user's (a server
    with its token, say). A replaced entry's `env` keys that `entry` does not set are kept, so a reinstall
    does not lose the keys given last time. A missing file (and folder) is created. Raises `ConfigError`,
    writing nothing, when the existing file cannot be read or is not a config of that host.
    """
    if not name:
        raise ConfigError("the server name must not be empty")
    config = _ConfigFile.load(host, config_path, scope)
    servers = config.servers()
    old = servers.get(name)
    new = dict(entry)
    kept: tuple[str, ...] = ()
    if name in servers:
        if not force and not _is_mcpagents_entry(old):
            raise ConfigError(
                f"{config.path}: {config.where} already has an entry {name!r} that mcpagents did not "
                f"write ({_summary(old)}); pass --force to replace it, or choose another --name; "
                "nothing was changed"
            )
        old_env = old.get("env") if isinstance(old, dict) else None
        if isinstance(old_env, dict):
            kept = tuple(key for key in old_env if key not in new.get("env", {}))
            if kept:
                new["env"] = {**{key: old_env[key] for key in kept}, **new.get("env", {})}
    action: Action = "added" if name not in servers else "unchanged" if old == new else "replaced"
    text = config.edit(lambda text: set_member(text, config.servers_path, name, new, config.indent))
    return config.commit(action, name, old, new, text, dry_run=dry_run, kept_env=kept)


def uninstall(
    host: Host,
    name: str,
    config_path: str | os.PathLike[str] | None = None,
    *,
    dry_run: bool = False,
    scope: Scope = "user",
) -> Change:
    """Remove the server `name` from the config of `host` (default: its standard file).

    Raises `ConfigError`, writing nothing, when the file or the entry is not there (the message lists the
    servers that are) or the file cannot be read.
    """
    config = _ConfigFile.load(host, config_path, scope)
    if config.text is None:
        raise ConfigError(f"{config.path}: no such file, so there is no server {name!r} to remove")
    servers = config.servers()
    if name not in servers:
        there = ", ".join(repr(server) for server in servers) or "none"
        raise ConfigError(
            f"{config.path}: no server named {name!r} in {config.where}; servers there: {there}"
        )
    text = config.edit(lambda text: remove_member(text, config.servers_path, name))
    return config.commit("removed", name, servers[name], None, text, dry_run=dry_run)


def _is_mcpagents_entry(entry: Any) -> bool:
    """Whether `entry` is one `server_entry` writes: a Python running `-m mcpagents serve`, or the
    `mcpagents serve` console script."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("args"), list):
        return False
    args, command = entry["args"], entry.get("command")
    if not isinstance(command, str):
        return False
    return args[:3] == _SERVE_ARGS or (Path(command).stem == "mcpagents" and args[:1] == ["serve"])


def _summary(entry: Any) -> str:
    """An entry in a few words, for an error: its command line or URL."""
    if isinstance(entry, Mapping):
        if isinstance(entry.get("command"), str):
            args = entry["args"] if isinstance(entry.get("args"), list) else []
            return "runs " + " ".join(str(part) for part in [entry["command"], *args[:3]])
        if isinstance(entry.get("url"), str):
            return f"url {entry['url']}"
    return f"an entry of another kind: {_json_type(entry)}"


def _check_host(host: str) -> None:
    if host not in HOSTS:
        raise ConfigError(f"unknown host {host!r}; expected one of: {', '.join(HOSTS)}")


@dataclass
class _ConfigFile:
    """A host's config file as read (`text` is None when it does not exist, or is empty)."""

    host: Host
    path: Path
    target: Path
    """The file actually written: the path with symlinks resolved, so a linked config stays a link."""
    raw: bytes | None
    text: str | None
    data: dict[str, Any]
    servers_path: tuple[str, ...]
    """The keys leading to the object of server entries: ("mcp", "servers") in VS Code's settings.json."""
    indent: str
    mode: int

    @property
    def where(self) -> str:
        """The servers' object, as messages name it."""
        return '"' + ".".join(self.servers_path) + '"'

    @classmethod
    def load(cls, host: Host, config_path: str | os.PathLike[str] | None, scope: Scope) -> _ConfigFile:
        _check_host(host)
        if scope != "user" and host != "claude-code":
            raise ConfigError(
                f"--scope {scope} is for claude-code only; {HOST_TITLES[host]} has one MCP config"
            )
        if config_path:
            path = Path(config_path).expanduser().absolute()
        else:
            path = Path.cwd() / ".mcp.json" if scope == "project" else default_config_path(host)
        target = path.resolve()
        servers_path: tuple[str, ...] = (_SERVERS_KEY[host],)
        if scope == "local":
            servers_path = ("projects", str(Path.cwd()), "mcpServers")
        try:
            raw = target.read_bytes()
        except FileNotFoundError:
            return cls(host, path, target, None, None, {}, servers_path, _DEFAULT_INDENT, _NEW_FILE_MODE)
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
        if host == "vscode" and "servers" not in data and ("mcp" in data or path.name == "settings.json"):
            servers_path = ("mcp", "servers")  # a settings.json: "mcp": {"servers": {...}}
        indented = re.search(r"^([ \t]+)\S", text, re.MULTILINE)
        indent = indented.group(1) if indented else _DEFAULT_INDENT
        mode = stat.S_IMODE(target.stat().st_mode)
        kept_text = text if json_text.strip() else None
        return cls(host, path, target, raw, kept_text, data, servers_path, indent, mode)

    def servers(self) -> dict[str, Any]:
        """The host's server entries as read (empty when their object is not there yet)."""
        key = self.servers_path[0]
        if key not in self.data:
            foreign = [other for other in _FOREIGN_KEYS.get(key, ()) if other in self.data]
            if foreign:
                raise ConfigError(
                    f'{self.path}: has "{foreign[0]}" but no "{key}": this is not a '
                    f"{HOST_TITLES[self.host]} config file; name the right host, or another --config-path"
                )
        found: dict[str, Any] = self.data
        for depth, key in enumerate(self.servers_path):
            inner = found.get(key, {})
            if not isinstance(inner, dict):
                what = " mapping server names to entries" if depth == len(self.servers_path) - 1 else ""
                raise ConfigError(
                    f'{self.path}: "{".".join(self.servers_path[: depth + 1])}" must be an object{what}, '
                    f"got {_json_type(inner)}; nothing was changed"
                )
            found = inner
        return found

    def edit(self, change: Callable[[str], str]) -> str:
        """The file's new text: `change` applied to its text (a fresh `{}` when there is none), keeping its
        line ends and byte order mark."""
        text = self.text if self.text is not None else "{}"
        crlf = "\r\n" in text
        edited = change(text.replace("\r\n", "\n") if crlf else text)
        if self.text is None:
            edited += "\n"
        bom = "\ufeff" if self.raw is not None and self.raw.startswith(b"\xef\xbb\xbf") else ""
        return bom + (edited.replace("\n", "\r\n") if crlf else edited)

    def commit(
        self,
        action: Action,
        name: str,
        old: Any,
        new: dict[str, Any] | None,
        text: str,
        *,
        dry_run: bool,
        kept_env: tuple[str, ...] = (),
    ) -> Change:
        """Write `text` (unless nothing changed or `dry_run`), after backing up the old file."""
        write = action != "unchanged" and not dry_run
        backup = None
        if write:
            try:
                if self.raw is not None:
                    backup = _write_backup(self.target, self.raw, self.mode)
                _replace_atomically(self.target, text, self.mode)
                _prune_backups(self.target)
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
            written=write,
            kept_env=kept_env,
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


def _prune_backups(target: Path) -> None:
    """Delete all but the newest `KEPT_BACKUPS` backups of `target` (only names `_write_backup` makes)."""
    pattern = re.compile(re.escape(target.name) + _BACKUP_NAME)
    found = []
    for candidate in target.parent.iterdir():
        if matched := pattern.fullmatch(candidate.name):
            found.append(((matched.group(1), int(matched.group(2) or 1)), candidate))
    for _, old in sorted(found)[:-KEPT_BACKUPS]:
        old.unlink(missing_ok=True)


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
