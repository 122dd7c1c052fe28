"""`mcpagents ui [SPEC ...]`: the hub page, a local web app to chat with agents, see past runs and
try MCP servers (see `mcpagents.hub`)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mcpagents.cli.exit_codes import EXIT_OK
from mcpagents.connections.specs import DEFAULT_CONNECT_TIMEOUT
from mcpagents.http_server.auth import TOKEN_VARIABLE
from mcpagents.http_server.guard import LOOPBACK_HOSTS

EXAMPLES = """examples:
  mcpagents ui helper.yaml                        # chat with helper; runs; servers of the host configs
  mcpagents ui                                    # past runs and configured servers only
  mcpagents ui a.yaml b.yaml --port 8770 --no-browser
  mcpagents ui helper.yaml --config .cursor/mcp.json
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ui = commands.add_parser(
        "ui",
        help="open the hub page: chat with agents, see past runs, try MCP servers",
        description="Serve the hub page on this machine and print its URL, with a token in it"
        " (opened in the browser when run in a terminal). The page chats with the agents of the SPEC"
        " files, shows the runs logged here, and lists the MCP servers of Claude Desktop, VS Code,"
        " Cursor and Claude Code (user and project configs), of --config files and of the specs.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ui.add_argument("specs", nargs="*", metavar="SPEC", help="agent spec files (YAML) to chat with")
    ui.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="FILE",
        help="also list the servers of this MCP config file (repeatable)",
    )
    ui.add_argument("--model", help="use this model instead of the specs' (e.g. local, openai/gpt-5-mini)")
    ui.add_argument(
        "--host", default=LOOPBACK_HOSTS[0], help=f"the address to listen on (default {LOOPBACK_HOSTS[0]})"
    )
    ui.add_argument("--port", type=int, default=0, help="the port (default 0: any free port)")
    ui.add_argument(
        "--token", help=f"the token the page must present (default ${TOKEN_VARIABLE}, else a random one)"
    )
    ui.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST[:PORT|:*]",
        help="a Host header to accept besides loopback names (repeatable)",
    )
    ui.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a browser Origin to accept besides loopback ones (repeatable)",
    )
    ui.add_argument(
        "--connect-timeout",
        type=float,
        default=DEFAULT_CONNECT_TIMEOUT,
        help=f"seconds a server opened in the page has to start (default {DEFAULT_CONNECT_TIMEOUT:g})",
    )
    ui.add_argument("--no-browser", action="store_true", help="print the URL only; open no browser")
    ui.set_defaults(run=_ui)


def _ui(options: argparse.Namespace) -> int:
    from dataclasses import replace

    from mcpagents.errors import ConfigError
    from mcpagents.hub.server import HubSettings, serve_hub
    from mcpagents.hub.servers import discover
    from mcpagents.spec import load_spec

    specs = [load_spec(path) for path in options.specs]
    if options.model:
        specs = [replace(spec, model=options.model, model_options={}) for spec in specs]
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ConfigError(
            f"two specs name the same agent ({', '.join(names)}): the page tells agents by name"
        )
    if options.connect_timeout <= 0:
        raise ConfigError(f"--connect-timeout must be positive, not {options.connect_timeout:g}")
    agents = [spec.build(verbosity_level=0) for spec in specs]  # the page shows the steps, not stderr
    settings = HubSettings(
        host=options.host,
        port=options.port,
        token=options.token or os.environ.get(TOKEN_VARIABLE) or None,
        allowed_hosts=tuple(options.allowed_host),
        allowed_origins=tuple(options.allowed_origin),
        connect_timeout=options.connect_timeout,
        open_browser=not options.no_browser and sys.stderr.isatty(),
    )
    serve_hub(agents, discover(specs, [Path(file) for file in options.config]), settings)
    return EXIT_OK
