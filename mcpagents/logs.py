"""Log files of the processes mcpagents starts (stdio servers, the code executor's zygote): where their
stderr goes, and what errors quote from it."""

from __future__ import annotations

import os
import time
from contextlib import suppress
from pathlib import Path
from typing import IO, Literal, get_args

LOG_DIR_VARIABLE = "MCPAGENTS_LOG_DIR"
LogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
"""The levels of MCP log messages (those of syslog), least severe first."""
LOG_LEVELS: tuple[LogLevel, ...] = get_args(LogLevel)


def default_log_dir() -> Path:
    """`$MCPAGENTS_LOG_DIR`, else `$XDG_STATE_HOME/mcpagents/logs`, else `~/.local/state/mcpagents/logs`."""
    return state_dir(LOG_DIR_VARIABLE, "logs")


def state_dir(variable: str, folder: str) -> Path:
    """`$variable`, else `folder` in mcpagents' folder of the user's state (XDG: logs and history)."""
    if configured := os.environ.get(variable):
        return Path(configured)
    state_home = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state_home) / "mcpagents" / folder


class ServerLog:
    """The log file of one server. Each start appends a header; `tail()` reads the latest start only."""

    def __init__(self, directory: Path, server_name: str) -> None:
        self.path = directory / f"{server_name}.log"
        self._start_offset = 0

    def open_for_start(self, description: str) -> IO[bytes]:
        """Append a start header and return the file for the child's stderr."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stream = self.path.open("ab")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        stream.write(f"--- {stamp} mcpagents starts: {description}\n".encode(errors="backslashreplace"))
        stream.flush()
        self._start_offset = stream.tell()
        return stream

    def note(self, text: str) -> None:
        """Add a line of mcpagents' own to the log (marked so it is not mistaken for server output).

        Best effort: a log that cannot be written must not break the connection that notes in it.
        """
        with suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as stream:
                stream.write(f"[mcpagents] {text}\n".encode(errors="replace"))

    def tail(self, lines: int = 12, max_bytes: int = 8192) -> str:
        """The last `lines` lines written since the latest start (at most `max_bytes` of them)."""
        try:
            with self.path.open("rb") as stream:
                end = stream.seek(0, os.SEEK_END)
                start = max(self._start_offset, end - max_bytes)
                stream.seek(start)
                text = stream.read(end - start).decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
