"""A listening socket bound before the server starts, so that `port=0` has a URL to announce."""

from __future__ import annotations

import socket


def listen(host: str, port: int) -> tuple[socket.socket, str]:
    """The socket listening on `host:port` (0: any free port) and its base URL."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family)
    shown = f"[{host}]" if ":" in host else host
    return listener, f"http://{shown}:{listener.getsockname()[1]}"
