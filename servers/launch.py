"""How every bundled server runs: over stdio by default; with `--http PORT` over streamable HTTP on
127.0.0.1 (`--host` to change), with Host/Origin checks, the connection limits of a served agent
(`--read-timeout`, `--keep-alive-timeout`, `--max-connections`) and, given `--token` or
$MCPAGENTS_TOKEN, bearer-token auth. A host other than loopback needs a token. The URL is printed on
stderr."""

from __future__ import annotations

import argparse
import os
import sys

import anyio
from mcp.server import MCPServer

from mcpagents.errors import ConfigError
from mcpagents.http_server.auth import TOKEN_VARIABLE, BearerToken
from mcpagents.http_server.guard import LOOPBACK_HOSTS, transport_security
from mcpagents.http_server.limits import add_limit_options, limits_from
from mcpagents.http_server.listen import listen


def add_transport_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--http", type=int, metavar="PORT", help="serve streamable HTTP on PORT (0: any free one)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="HTTP: the address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--token", help=f"HTTP: require `Authorization: Bearer TOKEN` (or set ${TOKEN_VARIABLE})"
    )
    add_limit_options(parser)


def run(server: MCPServer, options: argparse.Namespace) -> None:
    """Serve `server` as `options` (from a parser given `add_transport_options`) say."""
    if options.http is None:
        server.run()
        return
    import uvicorn

    token = options.token or os.environ.get(TOKEN_VARIABLE)
    if token is None and options.host not in LOOPBACK_HOSTS:
        sys.exit(
            f"{server.name}: serving on {options.host} (not loopback) needs --token or ${TOKEN_VARIABLE}"
        )
    try:
        limits = limits_from(options)
    except ConfigError as error:
        sys.exit(f"{server.name}: {error}")
    app = server.streamable_http_app(transport_security=transport_security(), host=options.host)
    guarded = BearerToken(app, token) if token else app
    listener, base = listen(options.host, options.http)
    print(f"{server.name}: serving at {base}/mcp", file=sys.stderr, flush=True)
    config = limits.uvicorn_config(guarded, log_level="warning", lifespan="on")
    anyio.run(uvicorn.Server(config).serve, [listener])
