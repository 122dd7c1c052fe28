"""The limits an HTTP server puts on its clients' connections (see `limited_h11` for how)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from mcpagents.errors import ConfigError

if TYPE_CHECKING:
    import uvicorn


@dataclass(frozen=True)
class HttpLimits:
    read_timeout: float = 30.0
    """Seconds a client has to send a whole request (line, headers and body), from its first byte
    (from connecting, for a connection's first request); its connection is closed otherwise. The
    answer is not timed: a run's progress streams for as long as the run lasts."""
    keep_alive_timeout: int = 5
    """Seconds a connection may stay silent between two requests."""
    max_connections: int = 512
    """Connections one process holds at once; one more is answered 503 and closed. Below the usual
    open-file limit (1024), with room for the calls' own connections."""

    def __post_init__(self) -> None:
        for name in ("read_timeout", "keep_alive_timeout", "max_connections"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigError(f"{name} must be positive, not {value!r}")

    def uvicorn_config(self, app: Any, **options: Any) -> uvicorn.Config:
        """The uvicorn config serving `app` with these limits (`options`: uvicorn's own)."""
        from mcpagents.http_server.limited_h11 import LimitedConfig

        return LimitedConfig(
            app,
            read_timeout=self.read_timeout,
            keep_alive_timeout=self.keep_alive_timeout,
            max_connections=self.max_connections,
            **options,
        )


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """`--read-timeout`, `--keep-alive-timeout`, `--max-connections`, with `HttpLimits`' defaults."""
    meanings = {
        "read_timeout": "seconds to send a whole request (line, headers, body); answers are not timed",
        "keep_alive_timeout": "seconds a connection may stay silent between requests",
        "max_connections": "connections each process holds at once; more are answered 503",
    }
    for field in fields(HttpLimits):
        default = getattr(HttpLimits, field.name)
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            type=type(default),
            default=default,
            help=f"HTTP: {meanings[field.name]} (default {default:g})",
        )


def limits_from(options: argparse.Namespace) -> HttpLimits:
    """The limits a parser given `add_limit_options` read (`ConfigError` for a value that is not positive)."""
    return HttpLimits(options.read_timeout, options.keep_alive_timeout, options.max_connections)
