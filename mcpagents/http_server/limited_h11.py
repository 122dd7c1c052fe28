"""uvicorn's HTTP/1.1 protocol (h11) with the limits it lacks: a deadline for each request to arrive,
and a cap on connections.

uvicorn closes a kept-alive connection that stays silent between requests, but waits for ever on a
request that arrives slowly: a client sending a byte every few seconds (slowloris) holds its
connection, and the file descriptor under it, as long as it likes. Here a request (its line, headers
and body) must arrive in full within `read_timeout` seconds of its first byte, or of the connection's
opening for the first request; the connection is closed otherwise. Responses are not timed: once
a request has arrived, its answer may stream for as long as the run lasts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

_RECEIVING = (h11.IDLE, h11.SEND_BODY)
"""The client's states while its request has not arrived in full."""

_REFUSAL = b"too many connections: try again later\n"
_FULL = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_REFUSAL), _REFUSAL)
)


class LimitedConfig(uvicorn.Config):
    """A uvicorn config serving HTTP/1.1 with `LimitedH11Protocol` (and no WebSockets: nothing here
    speaks them). `keep_alive_timeout`: seconds a connection may stay silent between requests."""

    def __init__(
        self,
        app: Any,
        *,
        read_timeout: float,
        keep_alive_timeout: int,
        max_connections: int,
        **options: Any,
    ) -> None:
        super().__init__(
            app, http=LimitedH11Protocol, ws="none", timeout_keep_alive=keep_alive_timeout, **options
        )
        self.read_timeout = read_timeout
        self.max_connections = max_connections


class LimitedH11Protocol(H11Protocol):
    """One connection: closed when a request does not arrive within the read timeout, refused with a
    503 when the server already holds `max_connections`."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert isinstance(config, LimitedConfig)
        self.read_timeout = config.read_timeout
        self.max_connections = config.max_connections
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        full = len(self.connections) >= self.max_connections
        super().connection_made(transport)
        if full:
            transport.write(_FULL)
            transport.close()
            return
        self._start_deadline()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._start_deadline()  # the first bytes of a kept-alive connection's next request
        super().data_received(data)
        if self._deadline is not None and self.conn.their_state not in _RECEIVING:
            self._stop_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        super().connection_lost(exc)

    def _start_deadline(self) -> None:
        self._deadline = self.loop.call_later(self.read_timeout, self._too_slow)

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()
