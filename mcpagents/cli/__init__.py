"""The `mcpagents` command: one module per group of subcommands, each adding itself to the parser."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from mcpagents import __version__
from mcpagents.cli import (
    batch_command,
    check_command,
    install_commands,
    run_command,
    runs_command,
    serve_command,
    sign_in_commands,
    tool_commands,
    ui_command,
)
from mcpagents.cli.exit_codes import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_SERVER_ERROR,
    EXIT_TOOL_ERROR,
    EXIT_USAGE,
)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in arguments:
        split = arguments.index("--")
        arguments, command = arguments[:split], arguments[split + 1 :]
    options = parser().parse_args(arguments)
    options.command = command
    from mcpagents.errors import ConfigError, MCPServerError, ToolError, WorkerFailed

    try:
        result: int = options.run(options)
        return result
    except ConfigError as error:
        print(f"mcpagents: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (MCPServerError, WorkerFailed) as error:
        print(f"mcpagents: {error}", file=sys.stderr)
        return EXIT_SERVER_ERROR
    except ToolError as error:
        print(f"mcpagents: {error}", file=sys.stderr)
        return EXIT_TOOL_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`mcpagents tools ... | head`): stop quietly, as Unix tools do, and keep
        # Python from failing again while flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="mcpagents",
        description="MCP-native agents. Servers come from a host config (--config) or a command after `--`.",
    )
    root.add_argument("--version", action="version", version=f"mcpagents {__version__}")
    commands = root.add_subparsers(required=True, metavar="COMMAND")
    tool_commands.register(commands)
    run_command.register(commands)
    runs_command.register(commands)
    serve_command.register(commands)
    check_command.register(commands)
    install_commands.register(commands)
    batch_command.register(commands)
    sign_in_commands.register(commands)
    ui_command.register(commands)
    return root
