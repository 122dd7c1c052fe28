"""Exit codes a shell user can rely on."""

EXIT_OK = 0
EXIT_TOOL_ERROR = 1
"""A tool (or an agent's run) failed."""
EXIT_USAGE = 2
"""Bad command line, config or spec file."""
EXIT_SERVER_ERROR = 3
"""An MCP server could not be reached or died."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as shells report it)."""
EXIT_BROKEN_PIPE = 141
"""The reader of stdout went away (128 + SIGPIPE)."""
