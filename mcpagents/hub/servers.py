"""The MCP servers the hub page lists and lets a person try: those configured in Claude Desktop,
VS Code, Cursor and Claude Code (user files, the project files of the folder the hub started in, and
Claude Code's entries for that folder in ~/.claude.json), in config files given, and in the agent
specs served.

The configs are read once, when the hub starts; a server starts only when the page opens it, and
stays open until the hub stops, so that its tools can be called by hand. A server that cannot start
is shown with the error mcpagents gives for it; a config that cannot be read, with the reason.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from mcpagents.connections.host_config import ConfiguredServer, load_server_config, strip_jsonc
from mcpagents.connections.interaction import Interaction
from mcpagents.connections.specs import DEFAULT_CONNECT_TIMEOUT
from mcpagents.errors import ConfigError, MCPAgentsError
from mcpagents.hosts.config_file import HOST_TITLES, HOSTS, default_config_path
from mcpagents.json_data import to_json
from mcpagents.spec import AgentSpec
from mcpagents.tools.collection import ToolCollection

PROJECT_CONFIGS = {
    "Claude Code (project)": Path(".mcp.json"),
    "Cursor (project)": Path(".cursor") / "mcp.json",
    "VS Code (workspace)": Path(".vscode") / "mcp.json",
}
"""The project-level config files, relative to the folder the hub started in."""

HAND_CALL = Interaction(
    decline_reason="the tool was called by hand from the hub page, which does not relay a server's"
    " questions for such calls"
)


@dataclass(frozen=True)
class ConfiguredEntry:
    """One server as configured somewhere (`server`), or a config that could not be read (`error`)."""

    id: str
    name: str
    source: str
    """Where it is configured: a host's config file, a config file given, or an agent spec."""
    server: ConfiguredServer | None
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        described = self.server.describe() if self.server is not None else None
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "describe": described,
            "error": self.error,
        }


def discover(
    specs: Sequence[AgentSpec] = (), config_files: Sequence[Path] = (), *, folder: Path | None = None
) -> list[ConfiguredEntry]:
    """Every server configured for the hosts (user files, `folder`'s project files and Claude Code's
    entries for `folder`: the current folder by default), in `config_files` and in `specs`, in that
    order."""
    folder = folder or Path.cwd()
    sources: list[tuple[str, Path]] = [(HOST_TITLES[host], default_config_path(host)) for host in HOSTS]
    sources += [(title, folder / path) for title, path in PROJECT_CONFIGS.items()]
    configs: list[tuple[str, Path, Path | dict[str, Any]]] = []
    for title, path in sources:
        if not path.is_file():
            continue
        data = _json_object(path)  # read once: ~/.claude.json can be megabytes of history
        if data is None or any(key in data for key in ("mcpServers", "servers", "mcp")):
            configs.append((f"{title}: {path}", path, path if data is None else data))
        if (
            title == HOST_TITLES["claude-code"]
            and data is not None
            and (local := _claude_code_local(data, folder))
        ):
            configs.append((f"Claude Code (local): {path}, {folder}", path, local))
    configs += [(f"config: {path}", path, path) for path in config_files]
    entries: list[ConfiguredEntry] = []
    for source, path, config in configs:
        try:
            servers = load_server_config(config, origin=path)
        except ConfigError as error:
            entries.append(ConfiguredEntry(str(len(entries)), path.name, source, None, str(error)))
            continue
        for name, server in servers.items():
            entries.append(ConfiguredEntry(str(len(entries)), name, source, server))
    for spec in specs:
        for name, server in spec.servers.items():
            entries.append(
                ConfiguredEntry(str(len(entries)), name, f"agent {spec.name}: {spec.path}", server)
            )
    return entries


def _json_object(path: Path) -> dict[str, Any] | None:
    """A host's config file, parsed; None when it is not a readable JSON object (the reader then
    reads it again, to say what is wrong with it)."""
    try:
        data = json.loads(strip_jsonc(path.read_text(encoding="utf-8-sig")))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _claude_code_local(data: dict[str, Any], folder: Path) -> dict[str, Any] | None:
    """The servers Claude Code keeps for `folder` in ~/.claude.json (`data`; its "local" scope, what
    `claude mcp add` writes by default): `projects[<folder>].mcpServers`, as a config of their own."""
    projects = data.get("projects")
    project = (
        (projects.get(str(folder)) or projects.get(str(folder.resolve())))
        if isinstance(projects, dict)
        else None
    )
    servers = project.get("mcpServers") if isinstance(project, dict) else None
    return {"mcpServers": servers} if servers else None


class ServerTrials:
    """The configured servers, each started on first use and kept open for calls by hand."""

    def __init__(
        self, entries: Sequence[ConfiguredEntry], connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    ) -> None:
        self.entries = {entry.id: entry for entry in entries}
        self.connect_timeout = connect_timeout
        self._open: dict[str, ToolCollection] = {}
        self._turns: defaultdict[str, anyio.Lock] = defaultdict(anyio.Lock)

    async def open(self, entry_id: str) -> ToolCollection:
        """The server's tools, started now unless open (`KeyError` for an unknown id; the error of a
        server that cannot start, or of a config that cannot be read)."""
        entry = self.entries[entry_id]
        if entry.server is None:
            raise ConfigError(str(entry.error))
        async with self._turns[entry_id]:  # two pages opening one server start it once
            tools = self._open.get(entry_id)
            if tools is None or not tools.connected:
                tools = ToolCollection([entry.server], connect_timeout=self.connect_timeout, patience=None)
                await tools.aconnect()
                self._open[entry_id] = tools
            return tools

    async def describe(self, entry_id: str) -> dict[str, Any]:
        """The server's status, tools (with their input schemas), resources and prompts; or its error."""
        entry = self.entries[entry_id]
        try:
            tools = await self.open(entry_id)
        except MCPAgentsError as error:
            return {**entry.summary(), "connected": False, "error": str(error)}
        status = tools.status()[0]
        described: dict[str, Any] = {
            **entry.summary(),
            "connected": status.connected,
            "protocol_version": status.protocol_version,
            "instructions": tools.instructions.get(entry.name),
            "tools": [
                {
                    "name": tool.name,
                    "title": tool.title,
                    "description": tool.description,
                    "input_schema": tool.input_schema,
                    "read_only": tool.read_only,
                }
                for tool in tools
            ],
        }
        try:
            resources = await tools.alist_resources()
            templates = await tools.alist_resource_templates()
            prompts = await tools.alist_prompts()
        except MCPAgentsError as error:
            return {**described, "resources": [], "prompts": [], "listing_error": str(error)}
        return {
            **described,
            "resources": [
                {
                    "uri": item.uri,
                    "name": item.name,
                    "description": item.description,
                    "mime_type": item.mime_type,
                }
                for item in resources
            ]
            + [
                {
                    "uri": item.uri_template,
                    "name": item.name,
                    "description": item.description,
                    "mime_type": item.mime_type,
                }
                for item in templates
            ],
            "prompts": [
                {
                    "name": prompt.name,
                    "description": prompt.description,
                    "arguments": [argument.name for argument in prompt.arguments],
                }
                for prompt in prompts
            ],
        }

    async def call(self, entry_id: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """`{"result": ...}` (as JSON data: images `{"type": "image", "mime_type", "data"}`) or
        `{"error": ...}`: the tool's own error, or why it could not be called."""
        try:
            tools = await self.open(entry_id)
            value = await tools[tool].acall_with(arguments, interaction=HAND_CALL)
        except MCPAgentsError as error:
            return {"error": str(error)}
        return {"result": to_json(value)}

    async def aclose(self) -> None:
        """Stop the servers started."""
        opened, self._open = self._open, {}
        for tools in opened.values():
            await tools.aclose()
