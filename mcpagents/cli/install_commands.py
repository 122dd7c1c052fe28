"""`mcpagents install` and `mcpagents uninstall`: put an agent into a host's MCP config, or take it out."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mcpagents.errors import ConfigError
from mcpagents.hosts.config_file import (
    HOST_TITLES,
    HOSTS,
    KEPT_BACKUPS,
    SCOPES,
    Change,
    Host,
    install,
    server_entry,
    uninstall,
)

_HOSTS_HELP = f"one of: {', '.join(HOSTS)}"
_RESTART_HINTS: Mapping[Host, str] = {
    "claude-desktop": "Quit Claude Desktop completely and start it again to apply the change.",
    "vscode": "Restart VS Code (or run 'Developer: Reload Window') to apply the change.",
    "cursor": "Restart Cursor to apply the change.",
    "claude-code": "Start a new Claude Code session to apply the change (/mcp lists the servers).",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    adding = commands.add_parser(
        "install",
        help="add an agent to the MCP config of Claude Desktop, VS Code, Cursor or Claude Code",
        description="Add an entry that serves the agent of SPEC over stdio to the host's user-level MCP\n"
        "config: `python -m mcpagents serve SPEC`, with the absolute paths of this Python and of SPEC.\n"
        "Only that entry's text changes; comments and formatting stay. An entry of that name that\n"
        "mcpagents did not write is replaced only with --force; a replaced entry's env keys are kept.\n"
        f"The previous file is backed up next to it (the newest {KEPT_BACKUPS} backups are kept).",
        epilog="Examples:\n"
        "  mcpagents install claude-desktop agents/helper.yaml --env ANTHROPIC_API_KEY\n"
        "  mcpagents install vscode agents/helper.yaml --name helper-dev --dry-run\n"
        "  mcpagents install cursor agents/helper.yaml --config-path ./.cursor/mcp.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    adding.add_argument("host", choices=HOSTS, metavar="HOST", help=_HOSTS_HELP)
    adding.add_argument("spec", metavar="SPEC", help="the agent's spec file")
    adding.add_argument("--name", help="the entry's name (default: the spec's name)")
    adding.add_argument(
        "--force", action="store_true", help="replace an entry of that name that mcpagents did not write"
    )
    adding.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY[=VALUE]",
        help="an environment variable for the agent (repeatable); KEY alone copies its current value",
    )
    _add_file_options(adding)
    adding.set_defaults(run=_install)

    removing = commands.add_parser(
        "uninstall",
        help="remove an agent (or any server entry) from a host's MCP config",
        description="Remove the entry NAME from the host's user-level MCP config.\n"
        f"The previous file is backed up next to it (the newest {KEPT_BACKUPS} backups are kept).",
        epilog="Example:\n  mcpagents uninstall claude-desktop helper",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    removing.add_argument("host", choices=HOSTS, metavar="HOST", help=_HOSTS_HELP)
    removing.add_argument("name", metavar="NAME", help="the entry's name")
    _add_file_options(removing)
    removing.set_defaults(run=_uninstall)


def _add_file_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-path", metavar="FILE", help="edit this file instead of the host's standard one"
    )
    parser.add_argument("--dry-run", action="store_true", help="show the change without writing anything")
    parser.add_argument(
        "--scope",
        choices=SCOPES,
        default="user",
        help="claude-code only: ~/.claude.json (user, the default), the project's .mcp.json (project), "
        "or this folder's part of ~/.claude.json (local)",
    )


def _install(options: argparse.Namespace) -> int:
    spec = Path(options.spec)
    if not spec.is_file():
        raise ConfigError(
            f"spec file {options.spec} {'is not a file' if spec.exists() else 'does not exist'}"
        )
    name = options.name if options.name is not None else _spec_name(spec)
    entry = server_entry(options.host, spec, _environment(options.env))
    change = install(
        options.host,
        name,
        entry,
        options.config_path,
        dry_run=options.dry_run,
        force=options.force,
        scope=options.scope,
    )
    _report(change)
    return 0


def _uninstall(options: argparse.Namespace) -> int:
    _report(
        uninstall(
            options.host, options.name, options.config_path, dry_run=options.dry_run, scope=options.scope
        )
    )
    return 0


def _spec_name(spec: Path) -> str:
    from mcpagents.spec import load_spec

    return load_spec(spec).name


def _environment(pairs: Sequence[str]) -> dict[str, str]:
    """The `--env` values: `KEY=VALUE`, or `KEY` for its value in this environment."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not key:
            raise ConfigError(f"--env {pair!r}: expected KEY=VALUE, or KEY to copy its current value")
        if not equals:
            if key not in os.environ:
                raise ConfigError(f"--env {key}: {key} is not set here; set it, or pass --env {key}=VALUE")
            value = os.environ[key]
        env[key] = value
    return env


def _report(change: Change) -> None:
    where = f"{change.path} ({HOST_TITLES[change.host]})"
    dry_run = not change.written and change.action != "unchanged"
    if change.action == "unchanged":
        print(f"{change.name!r} in {where} is already this entry; nothing to write:")
        print(_json(change.new_entry))
        return
    if change.action == "added":
        print(f"{'Would add' if dry_run else 'Added'} {change.name!r} to {where}:")
        print(_json(change.new_entry))
    elif change.action == "replaced":
        print(f"{'Would replace' if dry_run else 'Replaced'} {change.name!r} in {where}.")
        print(f"Before:\n{_json(change.old_entry)}\nAfter:\n{_json(change.new_entry)}")
        if change.kept_env:
            print(f"Kept from the previous entry's env: {', '.join(change.kept_env)}")
    else:
        print(f"{'Would remove' if dry_run else 'Removed'} {change.name!r} from {where}:")
        print(_json(change.old_entry))
    if change.created:
        print("The file does not exist: it would be created." if dry_run else "The file was created.")
    if change.backup is not None:
        print(f"Backup of the previous file: {change.backup}")
    if dry_run:
        print("Dry run: nothing was written.")
    else:
        print(_RESTART_HINTS[change.host])


def _json(entry: Any) -> str:
    return json.dumps(entry, indent=2, ensure_ascii=False)
