"""`mcpagents tools` and `mcpagents call`: the tools of any MCP server, from the terminal."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcpagents.cli.asking import add_input_options, interaction_of
from mcpagents.cli.exit_codes import EXIT_OK, EXIT_SERVER_ERROR
from mcpagents.connections.specs import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from mcpagents.tools.collection import ToolCollection
    from mcpagents.tools.tool import Progress, Tool


_TOOLS_EXAMPLES = """\
Examples:
  mcpagents tools agent.yaml
  mcpagents tools --config ~/.cursor/mcp.json --strict      # exit 3 if a server failed
  mcpagents tools -- npx -y @modelcontextprotocol/server-everything stdio
"""

_CALL_EXAMPLES = """\
Examples:
  mcpagents call add a=2 b=40 -- python -m mcpagents.servers.calculator
  mcpagents call read_file path=README.md --config .cursor/mcp.json --server files
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser(
        "tools",
        help="list the tools of MCP servers, or of an agent spec",
        epilog=_TOOLS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument(
        "spec", nargs="?", metavar="SPEC", help="an agent spec file (.yaml): the tools its agent would have"
    )
    add_server_options(listing)
    listing.add_argument("--json", action="store_true", help="print the tool definitions as JSON")
    listing.add_argument(
        "--strict", action="store_true", help="exit with 3 when a server failed (by default, list the others)"
    )
    listing.set_defaults(run=_list_tools)

    call = commands.add_parser(
        "call",
        help="call one tool and print its result",
        description="Call TOOL of the server of --config, --url or a command after `--`, and print its"
        " result: mcpagents call TOOL [NAME=VALUE ...] -- COMMAND [ARG ...]",
        epilog=_CALL_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    call.add_argument("tool", help="the tool's name (server__tool when names collide)")
    call.add_argument("arguments", nargs="*", metavar="NAME=VALUE", help="arguments; values are JSON or text")
    add_server_options(call)
    call.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds of silence allowed (default {DEFAULT_TIMEOUT:g})",
    )
    call.add_argument(
        "--save-dir",
        metavar="DIR",
        help="where images and audio the tool returns are saved (default: $MCPAGENTS_MEDIA_DIR,"
        " else mcpagents-media-UID in the temporary folder)",
    )
    add_input_options(call)
    call.set_defaults(run=_call_tool)


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="a Claude Desktop / Cursor / Claude Code / VS Code MCP config file")
    parser.add_argument(
        "--server", action="append", help="use only this config entry (repeatable); others are not read"
    )
    add_config_input_option(parser)
    parser.add_argument("--url", help="a streamable HTTP server URL (SSE if it ends with /sse)")
    parser.add_argument(
        "--header",
        action="append",
        type=_header,
        default=[],
        metavar="'NAME: VALUE'",
        help="with --url: a header to send, e.g. 'Authorization: Bearer TOKEN' (repeatable)",
    )
    parser.add_argument("--include", action="append", help="glob of tool names to keep (repeatable)")
    parser.add_argument("--exclude", action="append", help="glob of tool names to drop (repeatable)")


CONFIG_INPUT_HINT = "pass --config-input {id}=VALUE"
"""How errors ask for a VS Code `${input:ID}` on the command line (`--input` answers servers' questions)."""


def add_config_input_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-input",
        action="append",
        type=_input_value,
        default=[],
        metavar="ID=VALUE",
        help="the value of ${input:ID} in a VS Code config (repeatable)",
    )


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not name.strip() or not colon:
        raise argparse.ArgumentTypeError(f"expected 'NAME: VALUE', got {text!r}")
    return name.strip(), value.strip()


def _input_value(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not key or not equals:
        raise argparse.ArgumentTypeError(f"expected ID=VALUE, got {text!r}")
    return key, value


def server_options_given(options: argparse.Namespace) -> list[str]:
    """The server options on the command line (a spec file brings its own servers instead)."""
    names = ("config", "server", "config_input", "url", "header", "include", "exclude")
    given = [f"--{name.replace('_', '-')}" for name in names if getattr(options, name)]
    return [*given, "a command after `--`"] if options.command else given


def collection(options: argparse.Namespace) -> ToolCollection:
    from mcpagents.connections.specs import HttpServer, ServerSpec, StdioServer
    from mcpagents.errors import ConfigError
    from mcpagents.tools.collection import ToolCollection

    if getattr(options, "spec", None):
        return _spec_collection(options)
    filters = {
        "include": options.include,
        "exclude": options.exclude,
        "log_level": getattr(options, "log_level", None),
    }
    if options.config:
        from mcpagents.connections.host_config import load_server_config

        entries = load_server_config(
            options.config,
            servers=options.server,
            inputs=dict(options.config_input),
            input_hint=CONFIG_INPUT_HINT,
        )
        return ToolCollection.from_mcp(list(entries.values()), **filters)
    servers: list[ServerSpec] = []
    if options.header and not options.url:
        raise ConfigError("--header goes with --url: the headers of an HTTP server")
    if options.url:
        sse = options.url.rstrip("/").endswith("/sse")
        headers = dict(options.header) or None
        servers.append(HttpServer(options.url, headers, transport="sse" if sse else "streamable-http"))
    if options.command:
        servers.append(StdioServer(options.command[0], options.command[1:]))
    if not servers:
        raise ConfigError("no server given: pass --config FILE, --url URL, or a command after `--`")
    return ToolCollection.from_mcp(servers, **filters)


def _spec_collection(options: argparse.Namespace) -> ToolCollection:
    from mcpagents.errors import ConfigError
    from mcpagents.spec import load_spec

    if not options.spec.endswith((".yaml", ".yml")):
        raise ConfigError(
            f"{options.spec}: expected an agent spec file (.yaml); put a server command after `--`"
        )
    if given := server_options_given(options):
        raise ConfigError(f"{options.spec} brings its own mcpServers and filters: drop {', '.join(given)}")
    tools = load_spec(options.spec).tools()
    if tools is None:
        raise ConfigError(f"{options.spec}: no mcpServers: its agent has no tools of its own")
    return tools


def _list_tools(options: argparse.Namespace) -> int:
    with failures_reported_here(), _every_server(collection(options)) as tools:
        if options.json:
            definitions = [
                {"server": tool.server, **tool.definition.model_dump(by_alias=True, exclude_none=True)}
                for tool in tools
            ]
            print(json.dumps(definitions, indent=2))
        else:
            _print_listing(tools)
        for name, error in tools.failures.items():
            print(f"\nserver {name!r} failed: {error}", file=sys.stderr)
    return EXIT_SERVER_ERROR if options.strict and tools.failures else EXIT_OK


def _print_listing(tools: ToolCollection) -> None:
    for status in tools.status():
        counted = f"{status.tools} tool" + ("" if status.tools == 1 else "s")
        state = f"{status.protocol_version}, {counted}" if status.connected else "failed"
        print(f"{status.name}  ({status.description}; {state})")
        for tool in tools:
            if tool.server == status.name:
                summary = tool.description.strip().splitlines()[0] if tool.description.strip() else ""
                print(f"  {tool.name}{tool.signature}\n      {summary}")


def _call_tool(options: argparse.Namespace) -> int:
    with _every_server(collection(options)) as tools:
        tool = tools[options.tool]
        value = tool.call_with(
            _parse_arguments(tool, options.arguments),
            on_progress=_show,
            timeout=options.timeout,
            interaction=interaction_of(options, "call"),
        )
    print(_shown(value, Path(options.save_dir) if options.save_dir else None))
    return 0


@contextmanager
def failures_reported_here() -> Iterator[None]:
    """Mute the collection's "continuing without server" warnings while a command lists the failed
    servers itself, which would otherwise be told twice."""
    log = logging.getLogger("mcpagents")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _every_server(tools: ToolCollection) -> ToolCollection:
    """Listing or calling one tool waits for every server (an agent run starts without the slow ones)."""
    tools.patience = None
    return tools


def _shown(value: Any, save_dir: Path | None) -> str:
    """A result as text; each image or audio as one line saying where it was saved."""
    from mcpagents.json_data import to_json
    from mcpagents.tools.image import Image
    from mcpagents.tools.media import Audio, saved

    items = value if isinstance(value, list) else [value]
    if not any(isinstance(item, Image | Audio) for item in items):
        return value if isinstance(value, str) else json.dumps(to_json(value), indent=2)
    lines = []
    for item in items:
        if isinstance(item, Image | Audio) and item.data:
            lines.append(saved(item, save_dir))
        else:
            lines.append(item if isinstance(item, str) else json.dumps(to_json(item)))
    return "\n".join(lines)


def _parse_arguments(tool: Tool, pairs: Sequence[str]) -> dict[str, Any]:
    """`name=value` pairs; a value is JSON unless the parameter is a plain string."""
    from mcpagents.errors import ToolArgumentError

    properties = tool.input_schema.get("properties") or {}
    arguments: dict[str, Any] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals:
            raise ToolArgumentError(
                f"{tool.name}(): {pair!r} is not NAME=VALUE", tool=tool.name, server=tool.server
            )
        if (properties.get(name) or {}).get("type") == "string":
            arguments[name] = text
            continue
        try:
            arguments[name] = json.loads(text)
        except json.JSONDecodeError:
            arguments[name] = text
    return arguments


def _show(report: Progress) -> None:
    total = f"/{report.total:g}" if report.total else ""
    message = f" {report.message}" if report.message else ""
    print(f"[{report.tool} {report.progress:g}{total}]{message}", file=sys.stderr)
