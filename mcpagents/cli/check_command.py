"""`mcpagents check SPEC...`: what `run` and `serve` would find wrong, found without running the agent;
and `mcpagents schema`, the JSON Schema of spec files for editors.

Each spec is loaded, its agent built (its model checked, not called), and its servers and managed
agents started, listed and stopped. The exit code: 2 when a spec or its model has a problem, else 3
when a server failed, else 0.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mcpagents.cli.exit_codes import EXIT_OK, EXIT_SERVER_ERROR, EXIT_USAGE
from mcpagents.cli.tool_commands import failures_reported_here

if TYPE_CHECKING:
    from mcpagents.spec import AgentSpec
    from mcpagents.tools.collection import ToolCollection

_EXAMPLES = """\
Exit codes: 0 every spec is ready, 2 a spec or its model has a problem, else 3 a server failed.

Examples:
  mcpagents check agent.yaml
  mcpagents check agents/*.yaml
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check",
        help="check agent specs: the spec, its model (built, not called) and its servers (started, listed)",
        description="Check each agent spec file as `run` and `serve` would use it, without running the agent:"
        " load the spec, build its model, start its servers and managed agents, list their tools, stop them.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("specs", nargs="+", metavar="SPEC", help="agent spec files (.yaml or .yml)")
    check.set_defaults(run=_check)
    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of agent spec files, for editors",
        description="Print the JSON Schema of agent spec files: save it, and point your editor at it"
        " (e.g. `# yaml-language-server: $schema=spec.schema.json` at the top of a spec).",
    )
    schema.set_defaults(run=_schema)


def _schema(options: argparse.Namespace) -> int:
    import json

    from mcpagents.spec_schema import spec_schema

    print(json.dumps(spec_schema(), indent=2))
    return EXIT_OK


def _check(options: argparse.Namespace) -> int:
    found = [_check_one(path) for path in options.specs]
    return EXIT_USAGE if EXIT_USAGE in found else max(found)


def _check_one(path: str) -> int:
    from mcpagents.errors import ConfigError
    from mcpagents.spec import load_spec

    try:
        spec = load_spec(path)
        agent = spec.build(verbosity_level=0)
    except ConfigError as error:
        print(f"problem: {error}")
        return EXIT_USAGE
    print(f"{path}: agent {spec.name!r} ({spec.type})")
    print(f"  model {agent.model.model_id}: ready (built, not called)")
    servers_ok = all(_check_servers(tools) for tools in _collections(spec))
    if not servers_ok:
        print(f"{path}: problem: a server failed")
    return EXIT_OK if servers_ok else EXIT_SERVER_ERROR


def _collections(spec: AgentSpec) -> Iterator[ToolCollection]:
    """The spec's servers, then the agents it manages (each served by a process of its own)."""
    from mcpagents.tools.collection import ToolCollection

    if (tools := spec.tools()) is not None:  # not truthiness: an unconnected collection has no tools
        yield tools
    if spec.managed_agents:
        yield ToolCollection.from_mcp(list(spec.managed_agents))


def _check_servers(tools: ToolCollection) -> bool:
    """Start every server, print what each offers or why it failed, stop them; True if none failed."""
    from mcpagents.errors import MCPServerError

    tools.patience = None  # wait for the slow ones: a check is no race
    try:
        with failures_reported_here(), tools:
            statuses = tools.status()
    except MCPServerError as error:  # every server failed
        for name in tools.failures or {"servers": error}:
            print(f"  server {name}: failed: {_indented(tools.failures.get(name, error))}")
        return False
    for status in statuses:
        counted = f"{status.tools} tool" + ("" if status.tools == 1 else "s")
        result = (
            f"{status.protocol_version}, {counted}"
            if status.connected
            else f"failed: {_indented(status.error)}"
        )
        print(f"  server {status.name}: {result}")
    return all(status.connected for status in statuses)


def _indented(error: BaseException | None) -> str:
    """An error's later lines (the server's log, its stderr) under its server's line."""
    return str(error).replace("\n", "\n    ")
