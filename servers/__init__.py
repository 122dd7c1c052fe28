"""The MCP tool servers mcpagents ships, each runnable as `python -m mcpagents.servers.NAME` and
launchable from a spec or config entry as `{"builtin": "NAME", "args": [...]}`."""

import pkgutil

_NOT_SERVERS = ("launch", "workers")
"""What the servers share: their launcher, their worker processes."""


def builtin_names() -> list[str]:
    """The names of the bundled servers."""
    return sorted(
        module.name
        for module in pkgutil.iter_modules(__path__)
        if module.name not in _NOT_SERVERS and not module.name.startswith("_")
    )
