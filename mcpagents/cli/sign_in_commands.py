"""`mcpagents login` and `mcpagents logout`: the user's sign-ins to MCP servers behind OAuth."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from mcpagents.cli.tool_commands import CONFIG_INPUT_HINT, add_config_input_option

if TYPE_CHECKING:
    from mcpagents.connections.specs import HttpServer


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    login = commands.add_parser(
        "login",
        help="sign in to an MCP server behind OAuth (a browser, once; the sign-in is kept and renewed)",
    )
    _add_target(login)
    login.add_argument("--client-id", help="a client registered beforehand (else one is registered now)")
    login.add_argument("--client-secret", help="that client's secret, when it has one")
    login.add_argument("--scope", help="the scopes to ask for, space-separated (default: the server's)")
    login.add_argument("--callback-port", type=int, help="the loopback port the browser comes back to")
    login.add_argument(
        "--no-browser", action="store_true", help="only print the address to open (in a browser elsewhere)"
    )
    login.set_defaults(run=_login)
    logout = commands.add_parser("logout", help="forget the sign-in to an MCP server")
    _add_target(logout)
    logout.set_defaults(run=_logout)


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", nargs="?", metavar="SERVER", help="an entry of --config or --spec")
    parser.add_argument("--config", help="a host config file (Claude Desktop, Cursor, VS Code, ...)")
    add_config_input_option(parser)
    parser.add_argument("--spec", help="an agent spec file (.yaml)")
    parser.add_argument("--url", help="the server's URL")


def _login(options: argparse.Namespace) -> int:
    from dataclasses import replace

    import anyio

    from mcpagents.sign_in.flow import sign_in
    from mcpagents.sign_in.options import OAuth

    server = _target(options)
    given = {
        key: value
        for key, value in (
            ("client_id", options.client_id),
            ("client_secret", options.client_secret),
            ("scope", options.scope),
            ("callback_port", options.callback_port),
        )
        if value is not None
    }
    oauth = replace(server.oauth or OAuth(), **given)
    done = anyio.run(
        lambda: sign_in(
            server.url,
            oauth,
            open_browser=not options.no_browser,
            announce=lambda text: print(text, flush=True),
        )
    )
    lasts = "" if done.expires_at is None else "; the access token is renewed as it expires"
    print(f"Signed in to {server.display_name} ({server.url}){lasts}.")
    return 0


def _logout(options: argparse.Namespace) -> int:
    from mcpagents.sign_in.token_store import default_store

    server = _target(options)
    store = default_store()
    where = store.where(server.url)
    if store.forget(server.url):
        print(f"Signed out of {server.display_name} ({server.url}): its sign-in is gone from {where}.")
    else:
        print(f"No sign-in to {server.display_name} ({server.url}) was kept in {where}.", file=sys.stderr)
    return 0


def _target(options: argparse.Namespace) -> HttpServer:
    """The server named on the command line: `--url`, or an entry of a config or spec file."""
    from mcpagents.connections.specs import HttpServer
    from mcpagents.errors import ConfigError

    if options.url:
        if options.server or options.config or options.spec:
            raise ConfigError("--url names the server already: drop SERVER, --config and --spec")
        return HttpServer(options.url)
    if not options.server or bool(options.config) == bool(options.spec):
        raise ConfigError("name the server: --url URL, or SERVER with --config FILE or --spec FILE")
    if options.config:
        from mcpagents.connections.host_config import load_server_config

        # Only that entry is read: another one's missing ${input:ID} is no concern of this sign-in.
        servers = load_server_config(
            options.config,
            servers=[options.server],
            inputs=dict(options.config_input),
            input_hint=CONFIG_INPUT_HINT,
        )
        where = options.config
    else:
        from mcpagents.spec import load_spec

        servers = {name: entry for name, entry in load_spec(options.spec).servers.items()}
        where = options.spec
    entry = servers.get(options.server)
    if entry is None:
        known = ", ".join(servers) or "none"
        raise ConfigError(f"{where} has no server {options.server!r} (it has: {known})")
    if not isinstance(entry, HttpServer):
        raise ConfigError(f"{where}: server {options.server!r} is started by a command: it needs no sign-in")
    return entry
