"""A listening socket bound before the server starts, so that `port=0` has a URL to announce."""

from __future__ import annotations

import os
import socket


def listen(host: str, port: int) -> tuple[socket.socket, str]:
    """The socket listening on `host:port` (0: any free port) and its base URL.

    Its `proto` is TCP, not the 0 of `socket.create_server`: asyncio puts accepted connections in
    TCP_NODELAY only when the socket says TCP. Without it, a streamed (SSE) answer's first event
    waits for the client's delayed ACK of the response headers: 40 ms on Linux, on every call of a
    kept-alive connection.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # The options socket.create_server sets.
        if os.name not in ("nt", "cygwin"):
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and hasattr(socket, "IPV6_V6ONLY"):
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        listener.bind((host, port))
        listener.listen()
    except BaseException:
        listener.close()
        raise
    shown = f"[{host}]" if ":" in host else host
    return listener, f"http://{shown}:{listener.getsockname()[1]}"
