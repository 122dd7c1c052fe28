"""Tests of reading the MCP server entries of host config files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mcpagents.connections.host_config import load_server_config
from mcpagents.connections.specs import HttpServer, StdioServer
from mcpagents.errors import ConfigError
from mcpagents.tools.collection import ToolCollection


def write(path: Path, content: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def config_error(tmp_path: Path, data: Any, **options: Any) -> str:
    """The message of the ConfigError raised for a `.mcp.json` file holding `data`."""
    path = write(tmp_path / ".mcp.json", data)
    with pytest.raises(ConfigError) as caught:
        load_server_config(path, **options)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    return message


def one_server(entry: dict[str, Any], **options: Any) -> StdioServer | HttpServer:
    return load_server_config({"mcpServers": {"s": entry}}, **options)["s"]


# Formats


def test_claude_desktop_stdio_entry(tmp_path: Path) -> None:
    path = write(
        tmp_path / "claude_desktop_config.json",
        {
            "globalShortcut": "Ctrl+Space",
            "mcpServers": {
                "files": {
                    "command": "npx",
                    "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
                    "env": {"DEBUG": "1"},
                }
            },
        },
    )
    assert load_server_config(path) == {
        "files": StdioServer(
            "npx", ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"], {"DEBUG": "1"}, name="files"
        )
    }


def test_cursor_remote_entry_with_headers(tmp_path: Path) -> None:
    path = write(
        tmp_path / ".cursor" / "mcp.json",
        {"mcpServers": {"linear": {"url": "https://mcp.linear.app/mcp", "headers": {"X-Team": "core"}}}},
    )
    assert load_server_config(path) == {
        "linear": HttpServer("https://mcp.linear.app/mcp", {"X-Team": "core"}, "streamable-http", "linear")
    }


def test_claude_code_entries_of_each_kind(tmp_path: Path) -> None:
    path = write(
        tmp_path / ".mcp.json",
        {
            "mcpServers": {
                "local": {"type": "stdio", "command": "uvx", "args": ["mcp-server-time"]},
                "remote": {"type": "http", "url": "https://example.com/mcp"},
                "events": {"type": "sse", "url": "https://example.com/events"},
            }
        },
    )
    servers = load_server_config(path)
    assert servers == {
        "local": StdioServer("uvx", ["mcp-server-time"], name="local"),
        "remote": HttpServer("https://example.com/mcp", name="remote"),
        "events": HttpServer("https://example.com/events", transport="sse", name="events"),
    }
    assert list(servers) == ["local", "remote", "events"]


def test_vscode_workspace_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / ".vscode" / "mcp.json",
        {
            "inputs": [{"type": "promptString", "id": "token", "description": "API token", "password": True}],
            "servers": {
                "api": {
                    "type": "http",
                    "url": "https://api.example.com/mcp",
                    "headers": {"Authorization": "Bearer ${input:token}"},
                },
                "tool": {"type": "stdio", "command": "${workspaceFolder}/bin/tool", "dev": {"watch": "*.py"}},
            },
        },
    )
    assert load_server_config(path, inputs={"token": "s3cret"}) == {
        "api": HttpServer("https://api.example.com/mcp", {"Authorization": "Bearer s3cret"}, name="api"),
        "tool": StdioServer(f"{tmp_path}/bin/tool", name="tool"),
    }


def test_vscode_user_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path / "Code" / "User" / "settings.json",
        {
            "editor.fontSize": 14,
            "mcp": {
                "inputs": [{"id": "key", "description": "The key"}],
                "servers": {
                    "time": {"command": "uvx", "args": ["mcp-server-time"]},
                    "keyed": {"command": "tool", "args": ["--key", "${input:key}"]},
                },
            },
        },
    )
    assert load_server_config(path, inputs={"key": "k"}) == {
        "time": StdioServer("uvx", ["mcp-server-time"], name="time"),
        "keyed": StdioServer("tool", ["--key", "k"], name="keyed"),
    }
    with pytest.raises(
        ConfigError, match=r"mcp\.servers\.keyed\.args\[1\]: \$\{input:key\} \(The key\) has no"
    ):
        load_server_config(path)


def test_dict_source() -> None:
    servers = load_server_config({"servers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}})
    assert servers == {"time": StdioServer("uvx", ["mcp-server-time"], name="time")}


def test_path_given_as_string_and_with_tilde(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path / ".cursor" / "mcp.json", {"mcpServers": {"a": {"command": "a"}}})
    assert load_server_config("~/.cursor/mcp.json") == {"a": StdioServer("a", name="a")}


def test_empty_servers_give_no_specs(tmp_path: Path) -> None:
    assert load_server_config(write(tmp_path / "mcp.json", {"mcpServers": {}})) == {}


# JSONC


def test_jsonc_comments_and_trailing_commas(tmp_path: Path) -> None:
    path = write(
        tmp_path / ".vscode" / "mcp.json",
        """// VS Code MCP servers
{
  /* block comment with "quotes" and // slashes
     over two lines */
  "servers": {
    "web": {
      "url": "http://x//y", // a URL with a double slash
      "headers": {"X-Note": "/* not a comment */", "X-Quote": "say \\"hi\\" // still text",},
    },
    "local": {"command": "tool", "args": ["a,", "b]", "c\\\\",], /* trailing */ },
  },
}
""",
    )
    assert load_server_config(path) == {
        "web": HttpServer(
            "http://x//y", {"X-Note": "/* not a comment */", "X-Quote": 'say "hi" // still text'}, name="web"
        ),
        "local": StdioServer("tool", ["a,", "b]", "c\\"], name="local"),
    }


def test_invalid_json_reports_line_and_column_of_the_original_text(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        '{\n  /* a comment\n  over lines */ "mcpServers": {\n'
        '    "a": {"command": "x"} // fine\n'
        '    "b": {}\n  }\n}\n',
    )
    assert "invalid JSON at line 5, column 5: Expecting ',' delimiter" in message


def test_unterminated_block_comment_is_invalid_json(tmp_path: Path) -> None:
    message = config_error(tmp_path, '{"mcpServers": {}} /* never closed')
    assert "invalid JSON at line 1, column 20" in message


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[1, 2]")
    assert "expected a JSON object at the top level, got [1, 2]" in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"
    with pytest.raises(ConfigError, match="cannot read the config file") as caught:
        load_server_config(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_file_without_server_key(tmp_path: Path) -> None:
    message = config_error(tmp_path, {"globalShortcut": "x", "mcp": {"enabled": True}})
    assert '"mcpServers"' in message
    assert '"servers"' in message
    assert '"mcp": {"servers": ...}' in message
    assert 'top-level keys found: "globalShortcut", "mcp"' in message


def test_dict_source_errors_name_the_config_dict() -> None:
    with pytest.raises(ConfigError, match=r"^<config dict>: no MCP servers found"):
        load_server_config({})


# Variables


ENVIRON = {"TOKEN": "t0k", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${TOKEN}", "t0k"),
        ("Bearer ${TOKEN}!", "Bearer t0k!"),
        ("${MISSING:-fallback}", "fallback"),
        ("${MISSING:-}", ""),
        ("${TOKEN:-fallback}", "t0k"),
        ("${EMPTY:-fallback}", ""),
        ("${env:TOKEN}", "t0k"),
        ("${env:-no scope}", "no scope"),
        ("${input:api-key}", "k3y"),
        ("${TOKEN}-${env:TOKEN}-${input:api-key}", "t0k-t0k-k3y"),
        ("$TOKEN $ {TOKEN} ${ $${TOKEN} {TOKEN}", "$TOKEN $ {TOKEN} ${ $t0k {TOKEN}"),
    ],
)
def test_variable_expansion(text: str, expected: str) -> None:
    server = one_server({"command": "x", "args": [text]}, environ=ENVIRON, inputs={"api-key": "k3y"})
    assert isinstance(server, StdioServer)
    assert server.args == (expected,)


def test_user_home() -> None:
    server = one_server({"command": "${userHome}/bin/tool"})
    assert isinstance(server, StdioServer)
    assert server.command == f"{Path.home()}/bin/tool"


def test_variables_expand_in_every_string_field(tmp_path: Path) -> None:
    environ = {"V": "v"}
    stdio = one_server(
        {"command": "/${V}/cmd", "args": ["${V}"], "env": {"K": "${V}"}, "cwd": "/${V}"}, environ=environ
    )
    assert stdio == StdioServer("/v/cmd", ["v"], {"K": "v"}, "/v", "s")
    remote = one_server({"url": "https://${V}.example.com/mcp", "headers": {"H": "${V}"}}, environ=environ)
    assert remote == HttpServer("https://v.example.com/mcp", {"H": "v"}, name="s")


def test_environ_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPAGENTS_TEST_VAR", "from-os")
    server = one_server({"command": "x", "env": {"A": "${MCPAGENTS_TEST_VAR}"}})
    assert isinstance(server, StdioServer)
    assert server.env == {"A": "from-os"}


def test_workspace_folder_outside_vscode_folder_is_the_file_folder(tmp_path: Path) -> None:
    path = write(
        tmp_path / "project" / ".mcp.json", {"mcpServers": {"a": {"command": "${workspaceFolder}/a"}}}
    )
    assert load_server_config(path)["a"] == StdioServer(f"{tmp_path}/project/a", name="a")


def test_workspace_folder_of_dict_source_is_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert one_server({"command": "${workspaceFolder}/a"}) == StdioServer(f"{tmp_path}/a", name="s")


def test_missing_variable(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        {"mcpServers": {"github": {"command": "x", "env": {"TOKEN": "${GITHUB_TOKEN}"}}}},
        environ={},
    )
    assert message == (
        f"{tmp_path / '.mcp.json'}: mcpServers.github.env.TOKEN: ${{GITHUB_TOKEN}} is not set "
        "(set it, or write ${GITHUB_TOKEN:-default})"
    )


def test_missing_vscode_env_variable(tmp_path: Path) -> None:
    message = config_error(tmp_path, {"servers": {"a": {"command": "${env:TOOL}"}}}, environ={})
    assert "servers.a.command: ${env:TOOL} is not set (set the environment variable TOOL)" in message


def test_missing_input_names_its_id_and_description(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        {
            "inputs": [{"type": "promptString", "id": "gh-token", "description": "GitHub token"}],
            "servers": {
                "gh": {"url": "https://api.example.com/mcp", "headers": {"Auth": "${input:gh-token}"}}
            },
        },
    )
    assert (
        "servers.gh.headers.Auth: ${input:gh-token} (GitHub token) has no value: "
        'pass inputs={"gh-token": ...}' in message
    )


VSCODE_WITH_AN_INPUT = {
    "inputs": [{"type": "promptString", "id": "gh-token", "description": "GitHub token"}],
    "servers": {
        "gh": {"url": "https://api.example.com/mcp", "headers": {"Auth": "Bearer ${input:gh-token}"}},
        "calc": {"builtin": "calculator"},
    },
}


def test_only_the_selected_entries_are_read(tmp_path: Path) -> None:
    path = write(tmp_path / ".vscode" / "mcp.json", VSCODE_WITH_AN_INPUT)
    assert list(load_server_config(path, servers=["calc"])) == ["calc"]
    assert len(ToolCollection.from_config(path, servers=["calc"]).servers) == 1
    with pytest.raises(ConfigError, match=r"servers: no server named 'other'; servers there: 'gh', 'calc'"):
        load_server_config(path, servers=["other"])


def test_the_cli_reads_only_the_selected_entries_and_asks_for_inputs_as_options(tmp_path: Path) -> None:
    path = write(tmp_path / ".vscode" / "mcp.json", VSCODE_WITH_AN_INPUT)
    mcpagents = str(Path(sys.executable).with_name("mcpagents"))

    def tools(*arguments: str) -> subprocess.CompletedProcess[str]:
        command = [mcpagents, "tools", "--config", str(path), *arguments]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    listed = tools("--server", "calc", "--include", "evaluate")
    assert listed.returncode == 0, listed.stderr
    assert "evaluate" in listed.stdout
    missing = tools("--server", "gh")
    assert missing.returncode == 2
    assert missing.stderr == (
        f"mcpagents: {path}: servers.gh.headers.Auth: ${{input:gh-token}} (GitHub token) has no value: "
        "pass --config-input gh-token=VALUE\n"
    )


def test_missing_undeclared_input(tmp_path: Path) -> None:
    message = config_error(tmp_path, {"servers": {"a": {"command": "x", "args": ["${input:other}"]}}})
    assert 'servers.a.args[0]: ${input:other} has no value: pass inputs={"other": ...}' in message


@pytest.mark.parametrize(
    "variable", ["${command:pick}", "${config:editor.tabSize}", "${}", "${A-B}", "x${ 1 }"]
)
def test_unsupported_variable(tmp_path: Path, variable: str) -> None:
    message = config_error(tmp_path, {"mcpServers": {"a": {"command": variable}}})
    assert "mcpServers.a.command: unsupported variable ${" in message
    assert "supported: ${VAR}, ${VAR:-default}, ${env:VAR}, ${input:ID}" in message


# envFile and cwd


def test_env_file_is_merged_under_env_and_relative_to_the_workspace(tmp_path: Path) -> None:
    write(
        tmp_path / "config" / ".env",
        "# secrets\n"
        "\n"
        "export TOKEN=from-file\n"
        "SHARED = file\n"
        'QUOTED="a b # not a comment\\nline"\n'
        "SINGLE='c\\nd'\n"
        "PLAIN=value # comment\n"
        "EQUALS=a=b\n",
    )
    path = write(
        tmp_path / ".vscode" / "mcp.json",
        {"servers": {"a": {"command": "x", "envFile": "config/.env", "env": {"SHARED": "env", "OWN": "1"}}}},
    )
    server = load_server_config(path)["a"]
    assert isinstance(server, StdioServer)
    assert server.env == {
        "TOKEN": "from-file",
        "SHARED": "env",
        "QUOTED": "a b # not a comment\nline",
        "SINGLE": "c\\nd",
        "PLAIN": "value",
        "EQUALS": "a=b",
        "OWN": "1",
    }


def test_env_file_with_workspace_variable(tmp_path: Path) -> None:
    write(tmp_path / ".env", "A=1\n")
    path = write(
        tmp_path / ".vscode" / "mcp.json",
        {"servers": {"a": {"command": "x", "envFile": "${workspaceFolder}/.env"}}},
    )
    assert load_server_config(path)["a"] == StdioServer("x", env={"A": "1"}, name="a")


def test_missing_env_file(tmp_path: Path) -> None:
    message = config_error(tmp_path, {"servers": {"a": {"command": "x", "envFile": "nope.env"}}})
    assert "servers.a.envFile: cannot read the env file" in message
    assert str(tmp_path / "nope.env") in message


def test_malformed_env_file_line(tmp_path: Path) -> None:
    write(tmp_path / ".env", "A=1\nNOT A DEFINITION\n")
    message = config_error(tmp_path, {"servers": {"a": {"command": "x", "envFile": ".env"}}})
    assert (
        f'servers.a.envFile: {tmp_path / ".env"}, line 2: expected KEY=VALUE, got "NOT A DEFINITION"'
        in message
    )


def test_relative_cwd_is_resolved_against_the_config_folder(tmp_path: Path) -> None:
    path = write(
        tmp_path / "proj" / ".vscode" / "mcp.json",
        {"servers": {"rel": {"command": "x", "cwd": "sub/dir"}, "abs": {"command": "x", "cwd": "/srv/app"}}},
    )
    servers = load_server_config(path)
    assert servers["rel"] == StdioServer("x", cwd=f"{tmp_path}/proj/.vscode/sub/dir", name="rel")
    assert servers["abs"] == StdioServer("x", cwd="/srv/app", name="abs")


def test_relative_cwd_of_dict_source_is_resolved_against_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert one_server({"command": "x", "cwd": "work"}) == StdioServer("x", cwd=f"{tmp_path}/work", name="s")


def test_relative_config_path_gives_absolute_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / ".mcp.json", {"mcpServers": {"a": {"command": "x", "cwd": "."}}})
    monkeypatch.chdir(tmp_path)
    assert load_server_config(".mcp.json")["a"] == StdioServer("x", cwd=str(tmp_path), name="a")


# Transports, options, disabled entries


@pytest.mark.parametrize(
    ("url", "transport"),
    [
        ("https://example.com/sse", "sse"),
        ("https://example.com/api/sse/", "sse"),
        ("https://example.com/sse?key=1", "sse"),
        ("https://example.com/mcp", "streamable-http"),
        ("https://example.com/ssexyz", "streamable-http"),
        ("https://sse.example.com/", "streamable-http"),
    ],
)
def test_transport_inferred_from_url(url: str, transport: str) -> None:
    server = one_server({"url": url})
    assert isinstance(server, HttpServer)
    assert server.transport == transport


@pytest.mark.parametrize(
    ("entry", "transport"),
    [
        ({"type": "http"}, "streamable-http"),
        ({"type": "streamable-http"}, "streamable-http"),
        ({"type": "streamableHttp"}, "streamable-http"),
        ({"transport": "streamableHttp"}, "streamable-http"),
        ({"transport": "sse"}, "sse"),
        ({"type": "sse"}, "sse"),
    ],
)
def test_explicit_transport_wins_over_the_url(entry: dict[str, str], transport: str) -> None:
    url = "https://example.com/mcp" if transport == "sse" else "https://example.com/sse"
    server = one_server({"url": url, **entry})
    assert isinstance(server, HttpServer)
    assert server.transport == transport


def test_timeout_and_mode() -> None:
    assert one_server({"command": "x", "timeout": 30, "mode": "legacy"}) == StdioServer(
        "x", name="s", timeout=30, mode="legacy"
    )
    assert one_server({"url": "http://localhost:8000/mcp", "timeout": 2.5}) == HttpServer(
        "http://localhost:8000/mcp", name="s", timeout=2.5
    )


def test_unknown_keys_are_ignored() -> None:
    entry = {"command": "x", "autoApprove": ["read"], "alwaysAllow": [], "description": "mine"}
    assert one_server(entry) == StdioServer("x", name="s")


def test_disabled_entries_are_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path / ".mcp.json",
        {
            "mcpServers": {
                "off": {"command": "x", "disabled": True},
                "broken_but_off": {"args": "not a list", "disabled": True},
                "on": {"command": "y", "disabled": False},
            }
        },
    )
    assert load_server_config(path) == {"on": StdioServer("y", name="on")}


# Malformed entries


@pytest.mark.parametrize(
    ("entry", "location", "problem"),
    [
        ("npx server", "mcpServers.bad", 'must be an object with "command" or "url", got "npx server"'),
        (
            {},
            "mcpServers.bad",
            'needs "command" (a server started as a subprocess) or "url" (a remote server)',
        ),
        ({"command": "x", "url": "http://h/mcp"}, "mcpServers.bad", 'has both "command" and "url"'),
        ({"command": ["npx"]}, "mcpServers.bad.command", 'must be a string, got ["npx"]'),
        ({"command": ""}, "mcpServers.bad.command", "must not be empty"),
        (
            {"command": "x", "args": "-y server"},
            "mcpServers.bad.args",
            'must be a list of strings, got "-y server"',
        ),
        ({"command": "x", "args": ["-p", 8080]}, "mcpServers.bad.args[1]", "must be a string, got 8080"),
        (
            {"command": "x", "env": ["A=1"]},
            "mcpServers.bad.env",
            "must be an object mapping names to strings",
        ),
        ({"command": "x", "env": {"PORT": 3000}}, "mcpServers.bad.env.PORT", "must be a string, got 3000"),
        ({"command": "x", "cwd": 1}, "mcpServers.bad.cwd", "must be a string, got 1"),
        ({"command": "x", "envFile": False}, "mcpServers.bad.envFile", "must be a string, got false"),
        (
            {"url": "http://h/mcp", "headers": {"A": None}},
            "mcpServers.bad.headers.A",
            "must be a string, got null",
        ),
        (
            {"url": "localhost:8000/mcp"},
            "mcpServers.bad.url",
            'must be an http:// or https:// URL, got "localhost',
        ),
        ({"url": 8000}, "mcpServers.bad.url", "must be a string, got 8000"),
        (
            {"url": "http://h/mcp", "type": "websocket"},
            "mcpServers.bad.type",
            'unknown server type "websocket"',
        ),
        (
            {"url": "http://h/mcp", "transport": "ws"},
            "mcpServers.bad.transport",
            'expected one of "stdio", "http"',
        ),
        ({"url": "http://h/mcp", "type": "stdio"}, "mcpServers.bad.type", 'type "stdio" needs "command"'),
        (
            {"command": "x", "type": "sse"},
            "mcpServers.bad.type",
            'type "sse" needs "url", but the entry has "command"',
        ),
        (
            {"command": "x", "mode": "modern"},
            "mcpServers.bad.mode",
            'must be "auto" or "legacy", got "modern"',
        ),
        (
            {"command": "x", "timeout": 0},
            "mcpServers.bad.timeout",
            "must be a positive number of seconds, got 0",
        ),
        ({"command": "x", "timeout": -5}, "mcpServers.bad.timeout", "got -5"),
        ({"command": "x", "timeout": "30"}, "mcpServers.bad.timeout", 'got "30"'),
        ({"command": "x", "timeout": True}, "mcpServers.bad.timeout", "got true"),
        ({"command": "x", "disabled": "yes"}, "mcpServers.bad.disabled", 'must be true or false, got "yes"'),
    ],
)
def test_malformed_entry(tmp_path: Path, entry: Any, location: str, problem: str) -> None:
    message = config_error(tmp_path, {"mcpServers": {"good": {"command": "ok"}, "bad": entry}})
    assert message.startswith(f"{tmp_path / '.mcp.json'}: {location}: ")
    assert problem in message


def test_servers_must_be_an_object(tmp_path: Path) -> None:
    message = config_error(tmp_path, {"mcpServers": [{"command": "x"}]})
    assert message.endswith(": mcpServers: must be an object mapping server names to entries")


def test_vscode_settings_entry_path(tmp_path: Path) -> None:
    path = write(tmp_path / "settings.json", {"mcp": {"servers": {"a": {"command": "x", "args": [1]}}}})
    with pytest.raises(
        ConfigError, match=r"settings\.json: mcp\.servers\.a\.args\[0\]: must be a string, got 1"
    ):
        load_server_config(path)


def test_builtin_entries_run_bundled_servers_with_this_python(tmp_path: Path) -> None:
    path = write(tmp_path / ".mcp.json", {"mcpServers": {"calc": {"builtin": "calculator", "args": ["--x"]}}})
    assert load_server_config(path)["calc"] == StdioServer(
        sys.executable, ["-m", "mcpagents.servers.calculator", "--x"], name="calc"
    )
    unknown = config_error(tmp_path, {"mcpServers": {"calc": {"builtin": "calculater"}}})
    assert 'mcpServers.calc.builtin: unknown bundled server "calculater"; expected one of' in unknown
    assert "calculator" in unknown
    both = config_error(tmp_path, {"mcpServers": {"calc": {"builtin": "calculator", "command": "x"}}})
    assert 'has "builtin" and also "command" or "url"' in both


def test_a_builtin_server_answers(tmp_path: Path) -> None:
    path = write(tmp_path / ".mcp.json", {"mcpServers": {"calc": {"builtin": "calculator"}}})
    with ToolCollection.from_config(path) as tools:
        assert tools["evaluate"](expression="1/3 + 1/6") == {"value": 0.5, "exact": "1/2"}


def test_keys_of_other_hosts_pass_and_a_likely_typo_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Real host configs carry keys of their host: not ours to refuse (specs are strict: test_spec.py)."""
    entry = {"command": "server", "alwaysAllow": ["read"], "autoApprove": [], "timout": 5}
    with caplog.at_level("WARNING", logger="mcpagents.connections.host_config"):
        (server,) = load_server_config({"mcpServers": {"s": entry}}).values()
    assert isinstance(server, StdioServer) and server.timeout is None
    assert caplog.messages == [
        "<config dict>: mcpServers.s: ignoring unknown key 'timout' (did you mean 'timeout'?)"
    ]
