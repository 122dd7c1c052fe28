"""Read the MCP server entries of the config files of Claude Desktop, Claude Code, Cursor and VS Code."""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypedDict, get_args
from urllib.parse import urlsplit

from mcpagents.connections.specs import HttpServer, HttpTransport, ProtocolMode, StdioServer
from mcpagents.errors import ConfigError
from mcpagents.sign_in.options import OAuth

ConfiguredServer = StdioServer | HttpServer
"""What a config entry describes: a server started by a command, or one reached at a URL."""

_JSON_STRING = r'("(?:[^"\\\n]|\\.)*")'
# Each pattern matches whole strings first so that nothing inside a string is ever touched.
_STRING_OR_COMMENT = re.compile(_JSON_STRING + r"|//[^\n]*|/\*[\s\S]*?\*/")
_STRING_OR_TRAILING_COMMA = re.compile(_JSON_STRING + r"|,(?=\s*[\]}])")

_VARIABLE = re.compile(
    r"\$\{(?:(?P<scope>env|input):(?!-)(?P<id>[^}]+)"
    r"|(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?P<default>:-[^}]*)?"
    r"|(?P<other>[^${}]*))\}"
)
_SUPPORTED_VARIABLES = "${VAR}, ${VAR:-default}, ${env:VAR}, ${input:ID}, ${userHome}, ${workspaceFolder}"
PYTHON_INPUT_HINT = 'pass inputs={{"{id}": ...}}'
"""How an error asks a Python caller for the value of `${input:ID}` (`{id}` stands for ID)."""

ENTRY_KEYS = (
    *("command", "args", "env", "envFile", "cwd", "url", "headers", "type", "transport", "oauth"),
    *("builtin", "timeout", "mode", "roots", "sampling", "disabled"),
)
"""The keys of a server entry mcpagents reads; the others belong to other hosts."""

_log = logging.getLogger(__name__)


class _ClientKeys(TypedDict):
    """The keys of an entry that say how the client treats the server, whatever its transport."""

    mode: ProtocolMode
    timeout: float | None
    roots: list[str] | None
    sampling: bool


_REMOTE_TYPES: dict[str, HttpTransport] = {
    "http": "streamable-http",
    "streamable-http": "streamable-http",
    "streamableHttp": "streamable-http",
    "sse": "sse",
}


def load_server_config(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    inputs: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    origin: str | os.PathLike[str] | None = None,
    strict: bool = False,
    servers: Sequence[str] | None = None,
    input_hint: str = PYTHON_INPUT_HINT,
) -> dict[str, ConfiguredServer]:
    """Read the MCP servers of a host's config file (or of its already-parsed content).

    Understood layouts, told apart by their top-level key:

    * `{"mcpServers": {...}}`: Claude Desktop, Claude Code (`.mcp.json`), Cursor (`.cursor/mcp.json`);
    * `{"servers": {...}, "inputs": [...]}`: VS Code `.vscode/mcp.json`;
    * `{"mcp": {"servers": {...}}}`: VS Code `settings.json`.

    Files may hold `//` and `/* */` comments and trailing commas (JSONC). An entry with `command`
    becomes a `StdioServer`, one with `url` an `HttpServer` (SSE when `type` says so, or, without a
    `type`, when the URL path ends in `/sse`); one with `builtin` runs a bundled server of
    `mcpagents.servers` with this Python: `{"builtin": "filesystem", "args": ["~/notes"]}`. Entries
    with `"disabled": true` are skipped; the mcpagents-specific keys `builtin`, `timeout` (seconds),
    `mode` (`"auto"` / `"legacy"`), `roots` (folders offered as MCP roots) and `sampling` (true: the
    server may ask the client's model for completions) are honoured and keys of other hosts are
    ignored. A relative `cwd` is taken from the config file's folder.

    In `command`, `args`, `env` values, `envFile`, `cwd`, `url` and `headers` values, these are expanded:
    `${VAR}` and `${VAR:-default}` (the default applies when VAR is unset) and `${env:VAR}` from
    `environ` (default: `os.environ`), `${input:ID}` from `inputs`, `${userHome}`, and
    `${workspaceFolder}`: the parent of a `.vscode` folder holding the file, else the file's folder,
    or the current directory for a dict `source`.

    `origin` is the file a dict `source` was read from (an agent spec, say): errors then name it, and
    relative paths and `${workspaceFolder}` are taken from its folder instead of the current directory.

    A key no host-agnostic reader knows (`ENTRY_KEYS`) is an error naming the closest known one when
    `strict` (agent specs: mcpagents wrote the format, so `timout` can only be a typo); otherwise a
    host's config may hold keys of that host (`alwaysAllow`, `autoApprove`, ...), and only a key
    close to a known one is logged as a warning.

    `servers` picks entries by name (all enabled ones by default): only those are read, so a variable
    without a value in another entry (a VS Code `${input:ID}`, say) is no error. `input_hint` is how an
    error asks for a missing input's value: the CLI says `--input {id}=VALUE` instead.

    Returns the specs by entry name, each with `name` set to it. Raises `ConfigError`, naming the file,
    the entry path (e.g. `mcpServers.github.args[1]`) and the fix, for unreadable or invalid files,
    malformed entries and variables without a value.
    """
    if isinstance(source, Mapping):
        data = source
        where, folder = ("<config dict>", Path.cwd()) if origin is None else _where_and_folder(origin)
    else:
        where, folder = _where_and_folder(source)
        data = _read_json(Path(source).expanduser(), where)
    container, entries, declared_inputs = _locate_servers(data, where)
    reader = _Reader.of(where, folder, environ, inputs, _input_descriptions(declared_inputs), strict)
    reader = replace(reader, input_hint=input_hint)
    return {
        name: reader.server(name, entries[name], f"{container}.{name}")
        for name in _selected(reader, container, entries, servers)
    }


def _selected(
    reader: _Reader, container: str, entries: Mapping[str, Any], servers: Sequence[str] | None
) -> list[str]:
    """The names of the entries to read: `servers`, which must be there and enabled, or all enabled ones."""
    if servers is None:
        return [name for name in entries if not reader.is_disabled(entries[name], f"{container}.{name}")]
    if unknown := [name for name in servers if name not in entries]:
        there = ", ".join(repr(name) for name in entries) or "none"
        raise reader.fail(container, f"no server named {unknown[0]!r}; servers there: {there}")
    for name in servers:
        if reader.is_disabled(entries[name], f"{container}.{name}"):
            raise reader.fail(f"{container}.{name}", 'is disabled ("disabled": true)')
    return list(servers)


def load_server_entry(
    name: str | None,
    entry: Any,
    *,
    origin: str | os.PathLike[str],
    path: str,
    environ: Mapping[str, str] | None = None,
) -> ConfiguredServer:
    """One server entry (`{command, args, env, cwd}` or `{url, headers, type}`) read as
    `load_server_config` reads those of a file: `origin` is the file it comes from (errors name it;
    relative paths are taken from its folder) and `path` the entry's place in it, e.g. `agents[0]`.
    Without a `name`, the server is named after its command or URL."""
    where, folder = _where_and_folder(origin)
    return _Reader.of(where, folder, environ).server(name, entry, path)


def expand_variables(
    text: Any, *, origin: str | os.PathLike[str], path: str, environ: Mapping[str, str] | None = None
) -> str:
    """`text` (which must be a string) with `${VAR}`, `${VAR:-default}`, `${env:VAR}` and
    `${userHome}` expanded as in a config file's entries; errors name `origin` and `path`."""
    where, folder = _where_and_folder(origin)
    return _Reader.of(where, folder, environ).string(text, path)


def _where_and_folder(file: str | os.PathLike[str]) -> tuple[str, Path]:
    """How errors name a config file, and the folder relative paths in it are taken from."""
    return os.fspath(file), Path(file).expanduser().absolute().parent


def _read_json(path: Path, where: str) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read the config file: {exc}") from exc
    try:
        data = json.loads(strip_jsonc(text))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object at the top level, got {_show(data)}")
    return data


def strip_jsonc(text: str) -> str:
    """Blank out comments and trailing commas, keeping every other character where it was.

    Positions are kept so that JSON errors report the line and column of the original text.
    """

    def blank_comment(match: re.Match[str]) -> str:
        return match.group(1) or re.sub(r"[^\n]", " ", match.group())

    without_comments = _STRING_OR_COMMENT.sub(blank_comment, text)
    return _STRING_OR_TRAILING_COMMA.sub(lambda match: match.group(1) or " ", without_comments)


def _locate_servers(data: Mapping[str, Any], where: str) -> tuple[str, Mapping[str, Any], Any]:
    """The servers' key path, the servers and the declared VS Code inputs."""
    if "mcpServers" in data:
        container, servers, inputs = "mcpServers", data["mcpServers"], None
    elif "servers" in data:
        container, servers, inputs = "servers", data["servers"], data.get("inputs")
    elif isinstance(data.get("mcp"), Mapping) and "servers" in data["mcp"]:
        container, servers, inputs = "mcp.servers", data["mcp"]["servers"], data["mcp"].get("inputs")
    else:
        found = ", ".join(f'"{key}"' for key in data) or "none"
        raise ConfigError(
            f'{where}: no MCP servers found: expected a top-level "mcpServers" key (Claude Desktop, '
            'Claude Code, Cursor), "servers" (VS Code .vscode/mcp.json) or "mcp": {"servers": ...} '
            f"(VS Code settings.json); top-level keys found: {found}"
        )
    if not isinstance(servers, Mapping):
        raise ConfigError(f"{where}: {container}: must be an object mapping server names to entries")
    return container, servers, inputs


def _input_descriptions(declared: Any) -> dict[str, str]:
    if not isinstance(declared, list):
        return {}
    return {
        item["id"]: item["description"]
        for item in declared
        if isinstance(item, Mapping)
        and isinstance(item.get("id"), str)
        and isinstance(item.get("description"), str)
    }


def _show(value: Any) -> str:
    return json.dumps(value, default=repr)


@dataclass(frozen=True)
class _Reader:
    """Turns the entries of one config source into specs."""

    where: str
    folder: Path
    workspace: Path
    environ: Mapping[str, str]
    inputs: Mapping[str, str]
    input_descriptions: Mapping[str, str]
    strict: bool = False
    input_hint: str = PYTHON_INPUT_HINT

    @classmethod
    def of(
        cls,
        where: str,
        folder: Path,
        environ: Mapping[str, str] | None,
        inputs: Mapping[str, str] | None = None,
        input_descriptions: Mapping[str, str] | None = None,
        strict: bool = False,
    ) -> _Reader:
        return cls(
            where=where,
            folder=folder,
            workspace=folder.parent if folder.name == ".vscode" else folder,
            environ=os.environ if environ is None else environ,
            inputs=inputs or {},
            input_descriptions=input_descriptions or {},
            strict=strict,
        )

    def fail(self, path: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: {path}: {problem}")

    def is_disabled(self, entry: Any, path: str) -> bool:
        disabled = entry.get("disabled", False) if isinstance(entry, Mapping) else False
        if not isinstance(disabled, bool):
            raise self.fail(f"{path}.disabled", f"must be true or false, got {_show(disabled)}")
        return disabled

    def server(self, name: str | None, entry: Any, path: str) -> ConfiguredServer:
        if not isinstance(entry, Mapping):
            raise self.fail(path, f'must be an object with "command" or "url", got {_show(entry)}')
        self.check_keys(entry, path)
        type_key = "type" if "type" in entry else "transport"
        kind = entry.get(type_key)
        if kind is not None and kind not in ("stdio", *_REMOTE_TYPES):
            expected = ", ".join(f'"{known}"' for known in ("stdio", *_REMOTE_TYPES))
            raise self.fail(
                f"{path}.{type_key}", f"unknown server type {_show(kind)}; expected one of {expected}"
            )
        if "builtin" in entry:
            entry = self.builtin(entry, path)
        if ("command" in entry) == ("url" in entry):
            if "command" in entry:
                raise self.fail(
                    path, 'has both "command" and "url"; keep "command" for a stdio server or "url"'
                )
            raise self.fail(
                path, 'needs "command" (a server started as a subprocess) or "url" (a remote server)'
            )
        mode = entry.get("mode", "auto")
        if mode not in get_args(ProtocolMode):
            raise self.fail(f"{path}.mode", f'must be "auto" or "legacy", got {_show(mode)}')
        timeout = entry.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
        ):
            raise self.fail(f"{path}.timeout", f"must be a positive number of seconds, got {_show(timeout)}")
        sampling = entry.get("sampling", False)
        if not isinstance(sampling, bool):
            raise self.fail(f"{path}.sampling", f"must be true or false, got {_show(sampling)}")
        client = _ClientKeys(mode=mode, timeout=timeout, roots=self.roots(entry, path), sampling=sampling)
        if "command" in entry:
            if kind not in (None, "stdio"):
                raise self.fail(
                    f"{path}.{type_key}", f'type {_show(kind)} needs "url", but the entry has "command"'
                )
            return self.stdio(name, entry, path, client)
        if kind == "stdio":
            raise self.fail(f"{path}.{type_key}", 'type "stdio" needs "command", but the entry has "url"')
        return self.remote(name, entry, path, _REMOTE_TYPES[kind] if kind else None, client)

    def check_keys(self, entry: Mapping[str, Any], path: str) -> None:
        """Unknown keys: errors when strict; else a warning for a likely typo, silence for the rest."""
        for key in entry:
            if key in ENTRY_KEYS:
                continue
            # A prefix catches what difflib's ratio misses: `enviroment` for `env`.
            close = difflib.get_close_matches(str(key), ENTRY_KEYS, n=1) or [
                known for known in ENTRY_KEYS if str(key).lower().startswith(known.lower())
            ]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            if self.strict:
                raise self.fail(
                    path, f"unknown key {str(key)!r}{hint}; the keys are: {', '.join(ENTRY_KEYS)}"
                )
            if close:
                _log.warning("%s: %s: ignoring unknown key %r%s", self.where, path, key, hint)

    def roots(self, entry: Mapping[str, Any], path: str) -> list[str] | None:
        """`roots`: folders the server may work in; relative paths are taken from the file's folder."""
        roots = entry.get("roots")
        if roots is None:
            return None
        if not isinstance(roots, list | tuple):
            raise self.fail(f"{path}.roots", f"must be a list of paths or URIs, got {_show(roots)}")
        found = []
        for index, root in enumerate(roots):
            text = self.string(root, f"{path}.roots[{index}]")
            found.append(text if "://" in text else str(self.folder / Path(text).expanduser()))
        return found

    def builtin(self, entry: Mapping[str, Any], path: str) -> Mapping[str, Any]:
        """`{"builtin": NAME, "args": [...]}`: a bundled server, run by this Python."""
        from mcpagents.servers import builtin_names

        if "command" in entry or "url" in entry:
            raise self.fail(path, 'has "builtin" and also "command" or "url"; keep one')
        name = entry["builtin"]
        if name not in builtin_names():
            known = ", ".join(builtin_names())
            raise self.fail(
                f"{path}.builtin", f"unknown bundled server {_show(name)}; expected one of {known}"
            )
        args = entry.get("args") or []
        if not isinstance(args, list | tuple):
            raise self.fail(f"{path}.args", f"must be a list of strings, got {_show(args)}")
        rest = {key: value for key, value in entry.items() if key != "builtin"}
        return {**rest, "command": sys.executable, "args": ["-m", f"mcpagents.servers.{name}", *args]}

    def remote(
        self,
        name: str | None,
        entry: Mapping[str, Any],
        path: str,
        transport: HttpTransport | None,
        client: _ClientKeys,
    ) -> HttpServer:
        url = self.string(entry["url"], f"{path}.url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise self.fail(f"{path}.url", f"must be an http:// or https:// URL, got {_show(url)}")
        if transport is None:
            transport = "sse" if parts.path.rstrip("/").endswith("/sse") else "streamable-http"
        headers = self.string_map(entry, "headers", path)
        return HttpServer(url, headers or None, transport, name, **client, oauth=self.oauth(entry, path))

    def oauth(self, entry: Mapping[str, Any], path: str) -> OAuth | None:
        """`oauth`: true, or an object of `OAuth` options (strings expanded like the other values)."""
        given = entry.get("oauth")
        if given is None or given is False:
            return None
        if given is True:
            return OAuth()
        if not isinstance(given, Mapping):
            raise self.fail(
                f"{path}.oauth", f"must be true or an object of sign-in options, got {_show(given)}"
            )
        known = tuple(option.name for option in fields(OAuth))
        if unknown := sorted(set(given) - set(known)):
            raise self.fail(
                f"{path}.oauth", f"unknown key {_show(unknown[0])}; expected one of {', '.join(known)}"
            )
        options: dict[str, Any] = {}
        for key in ("client_id", "client_secret", "scope", "client_metadata_url", "token_file"):
            if given.get(key) is not None:
                options[key] = self.string(given[key], f"{path}.oauth.{key}")
        if "token_file" in options:
            options["token_file"] = str(self.folder / Path(options["token_file"]).expanduser())
        for key in ("client_credentials", "token_exchange"):
            if not isinstance(given.get(key, False), bool):
                raise self.fail(f"{path}.oauth.{key}", f"must be true or false, got {_show(given[key])}")
        port = given.get("callback_port", 0)
        if isinstance(port, bool) or not isinstance(port, int):
            raise self.fail(f"{path}.oauth.callback_port", f"must be a port number, got {_show(port)}")
        try:
            return OAuth(
                **options,
                client_credentials=given.get("client_credentials", False),
                token_exchange=given.get("token_exchange", False),
                callback_port=port,
            )
        except ConfigError as error:
            raise self.fail(f"{path}.oauth", str(error)) from None

    def stdio(
        self, name: str | None, entry: Mapping[str, Any], path: str, client: _ClientKeys
    ) -> StdioServer:
        command = self.string(entry["command"], f"{path}.command")
        if not command:
            raise self.fail(f"{path}.command", "must not be empty")
        args = entry.get("args")
        if args is None:
            args = []
        elif not isinstance(args, list | tuple):
            raise self.fail(f"{path}.args", f"must be a list of strings, got {_show(args)}")
        env = self.string_map(entry, "env", path)
        if entry.get("envFile") is not None:
            env_file = self.workspace / Path(self.string(entry["envFile"], f"{path}.envFile")).expanduser()
            env = {**self.read_env_file(env_file, f"{path}.envFile"), **env}
        cwd = None
        if entry.get("cwd") is not None:
            cwd = str(self.folder / Path(self.string(entry["cwd"], f"{path}.cwd")).expanduser())
        return StdioServer(
            command,
            [self.string(arg, f"{path}.args[{index}]") for index, arg in enumerate(args)],
            env or None,
            cwd,
            name,
            **client,
        )

    def string_map(self, entry: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
        values = entry.get(key)
        if values is None:
            return {}
        if not isinstance(values, Mapping):
            raise self.fail(
                f"{path}.{key}", f"must be an object mapping names to strings, got {_show(values)}"
            )
        return {name: self.string(value, f"{path}.{key}.{name}") for name, value in values.items()}

    def string(self, value: Any, path: str) -> str:
        """`value`, which must be a string, with its variables expanded."""
        if not isinstance(value, str):
            raise self.fail(path, f"must be a string, got {_show(value)}")
        return _VARIABLE.sub(lambda match: self.variable(match, path), value)

    def variable(self, match: re.Match[str], path: str) -> str:
        scope, key, var, default = match.group("scope", "id", "var", "default")
        if scope == "env":
            if key not in self.environ:
                raise self.fail(path, f"{match.group()} is not set (set the environment variable {key})")
            return self.environ[key]
        if scope == "input":
            if key not in self.inputs:
                described = f" ({self.input_descriptions[key]})" if key in self.input_descriptions else ""
                hint = self.input_hint.format(id=key)
                raise self.fail(path, f"{match.group()}{described} has no value: {hint}")
            return self.inputs[key]
        if var == "userHome":
            return str(Path.home())
        if var == "workspaceFolder":
            return str(self.workspace)
        if var is None:
            raise self.fail(path, f"unsupported variable {match.group()}; supported: {_SUPPORTED_VARIABLES}")
        if var in self.environ:
            return self.environ[var]
        if default is not None:
            return default.removeprefix(":-")
        raise self.fail(path, f"${{{var}}} is not set (set it, or write ${{{var}:-default}})")

    def read_env_file(self, file: Path, path: str) -> dict[str, str]:
        """The variables of a dotenv file: `KEY=VALUE` lines, optionally quoted or prefixed by `export`."""
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise self.fail(path, f"cannot read the env file: {exc}") from exc
        values: dict[str, str] = {}
        for number, raw_line in enumerate(text.splitlines(), start=1):
            line = raw_line.strip()
            if not line or line.startswith("#"):
                continue
            key, equals, value = line.removeprefix("export ").partition("=")
            key, value = key.strip(), value.strip()
            if not equals or not key:
                raise self.fail(path, f"{file}, line {number}: expected KEY=VALUE, got {_show(line)}")
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1].replace("\\n", "\n") if value[0] == '"' else value[1:-1]
            else:
                value = value.split(" #", 1)[0].rstrip()
            values[key] = value
        return values
