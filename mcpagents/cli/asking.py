"""Who answers the servers' questions of a command: the person at the terminal, unless there is none."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcpagents.connections.interaction import Interaction


def add_input_options(parser: argparse.ArgumentParser) -> None:
    asking = parser.add_mutually_exclusive_group()
    asking.add_argument(
        "--no-input",
        action="store_true",
        help="never ask on the terminal: servers' questions are declined (default when stdin is no tty)",
    )
    asking.add_argument(
        "--input",
        action="store_true",
        help="answer servers' questions from stdin even when it is no terminal",
    )


def interaction_of(options: argparse.Namespace, command: str) -> Interaction:
    """The terminal's answers (asked on stderr: stdout holds the result), or declines saying why."""
    from mcpagents.agents.terminal_input import TerminalInput
    from mcpagents.connections.interaction import Interaction

    if options.input or (not options.no_input and sys.stdin.isatty()):
        return Interaction(elicitation=TerminalInput(output=sys.stderr))
    why = "--no-input was given" if options.no_input else "its input is not a terminal"
    return Interaction(decline_reason=f"mcpagents {command} has nobody to ask: {why}")
