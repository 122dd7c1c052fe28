"""Serving the hub page: on loopback by default, always with a token, its URL printed (and opened).

The token travels in the URL's fragment (`http://127.0.0.1:PORT/#token=...`), which browsers send
to no server and put in no Referer: it reaches neither a log nor another site. The page takes it
from there, keeps it in the tab's sessionStorage, clears it from the address bar (and so from the
history), and sends it with each API call as a bearer token. A browser attaches that header only
when the page's own script does, unlike a cookie, which it would send with any request to this
origin that another site's page triggers: the API needs no CSRF defence beyond the Origin check.
"""

from __future__ import annotations

import secrets
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

import anyio
import uvicorn

from mcpagents.agents.base import MultiStepAgent
from mcpagents.connections.specs import DEFAULT_CONNECT_TIMEOUT
from mcpagents.http_server.guard import LOOPBACK_HOSTS
from mcpagents.http_server.limits import HttpLimits
from mcpagents.hub.app import hub_app
from mcpagents.hub.chats import Chats
from mcpagents.hub.servers import ConfiguredEntry
from mcpagents.serving.serve import listen_or_explain


@dataclass(frozen=True)
class HubSettings:
    host: str = LOOPBACK_HOSTS[0]
    port: int = 0
    """0: any free port (the URL printed says which)."""
    token: str | None = None
    """None: a new random one."""
    allowed_hosts: Sequence[str] = ()
    allowed_origins: Sequence[str] = ()
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    open_browser: bool = False


def serve_hub(
    agents: Sequence[MultiStepAgent], servers: Sequence[ConfiguredEntry], settings: HubSettings
) -> None:
    """Serve the hub until SIGINT or SIGTERM (see `aserve_hub`)."""
    anyio.run(partial(aserve_hub, agents, servers, settings))


async def aserve_hub(
    agents: Sequence[MultiStepAgent], servers: Sequence[ConfiguredEntry], settings: HubSettings
) -> None:
    """Serve the hub; once it listens, print its URL on stderr and, with `open_browser`, open it."""
    token = settings.token or secrets.token_urlsafe(24)
    listener, base = listen_or_explain(settings.host, settings.port)
    url = f"{base}/#token={token}"

    def ready() -> None:
        print(f"mcpagents: the hub is at {url}  (Ctrl-C stops it)", file=sys.stderr, flush=True)
        if settings.open_browser:  # in a thread: starting a browser may take a while
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    # The address printed always opens the page, whatever --host says (beyond loopback names too).
    app = hub_app(
        agents,
        servers,
        token=token,
        allowed_hosts=(*settings.allowed_hosts, urlsplit(base).netloc),
        allowed_origins=(*settings.allowed_origins, base),
        connect_timeout=settings.connect_timeout,
    )
    config = HttpLimits().uvicorn_config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    try:
        await _HubServer(config, app.state.chats, ready).serve([listener])
    finally:
        listener.close()


class _HubServer(uvicorn.Server):
    """uvicorn, announcing the hub once it started, and ending its runs' streams when it stops
    (uvicorn would wait for them to end by themselves)."""

    def __init__(self, config: uvicorn.Config, chats: Chats, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self.chats = chats
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.on_ready()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.chats.cancel_all()
        await super().shutdown(sockets)
