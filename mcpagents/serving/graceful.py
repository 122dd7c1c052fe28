"""uvicorn, shut down so that runs in flight finish and their callers get the answers."""

from __future__ import annotations

import gc
import socket
from collections.abc import Callable

import anyio
import uvicorn
from sse_starlette.sse import AppStatus

from mcpagents.agents.mcp_server import RunsInFlight


class GracefulServer(uvicorn.Server):
    """On SIGINT or SIGTERM: stop accepting connections, give the runs in flight `grace` seconds,
    then end every SSE stream, idle ones included, and shut down.

    sse-starlette (under the SDK's HTTP transports) would end every stream at the signal, dropping
    the answers of runs still going; it is told to wait for this server instead.
    """

    def __init__(
        self, config: uvicorn.Config, runs: RunsInFlight, grace: float, on_ready: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self.runs = runs
        self.grace = grace
        self.on_ready = on_ready
        """Called once the app has started (its agents' tools open): then its URL may be announced."""
        self._froze = False

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]
        try:
            await super().serve(sockets)
        finally:
            if self._froze:
                gc.unfreeze()
            AppStatus.should_exit = False
            AppStatus.enable_automatic_graceful_drain_mode()  # type: ignore[no-untyped-call]

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # What is alive now (modules, the app, the agents and their tool connections) lives as long as
        # the server: leave it out of garbage collections, or every full collection (70 ms here, every
        # few hundred runs under load) stalls all runs in flight. Not when something else froze first.
        if self.started and gc.get_freeze_count() == 0:
            gc.freeze()
            self._froze = True
        if self.started:
            self.on_ready()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        with anyio.move_on_after(self.grace):
            await self.runs.wait()
        AppStatus.should_exit = True
        await super().shutdown(sockets)
