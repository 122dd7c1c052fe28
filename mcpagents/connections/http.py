"""The SDK's HTTP transports (streamable HTTP, and the older HTTP+SSE) for an `HttpServer`.

The SDK turns an HTTP error status into a bare error: every response is shown to the connection's
`on_http_response` hook, so that a refusal (401, an expired session's 404) can be told by its status.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx2
from mcp.client import Transport
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

if TYPE_CHECKING:
    from mcp.client._transport import TransportStreams

    from mcpagents.connections.specs import HttpServer, ServerLink

from mcpagents.errors import ConfigError
from mcpagents.tls import tls_context

_TIMEOUT = httpx2.Timeout(30, read=300)
logger = logging.getLogger("mcpagents")


def http_transport(spec: HttpServer, link: ServerLink) -> Transport:
    """The transport `spec.transport` names, sending `spec.headers` with every request, and an
    access token when the server is signed in to (see `mcpagents.sign_in`)."""
    signed_in = _sign_in(spec)

    def http_client(
        headers: dict[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: httpx2.Auth | None = None,
    ) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            headers={**(spec.headers or {}), **(headers or {})},
            timeout=timeout or _TIMEOUT,
            auth=auth or signed_in,
            event_hooks={"response": [link.on_http_response]},
            verify=tls_context(),
        )

    if spec.transport == "sse":
        return sse_client(spec.url, httpx_client_factory=http_client)
    return _streamable_http(spec.url, http_client)


def _sign_in(spec: HttpServer) -> httpx2.Auth | None:
    """The sign-in of a server with OAuth options, or with a sign-in kept for its URL; None for one
    whose headers carry its credentials (an `Authorization` header is used as it is)."""
    if spec.headers and any(name.lower() == "authorization" for name in spec.headers):
        return None
    from mcpagents.sign_in.bearer import SignedIn
    from mcpagents.sign_in.options import OAuth
    from mcpagents.sign_in.token_store import default_store

    store = default_store()
    if spec.oauth is None:
        try:
            kept = store.load(spec.url)
        except ConfigError as error:  # a locked keyring must not stop servers that need no sign-in
            logger.warning("server %r is connected without its kept sign-in: %s", spec.display_name, error)
            return None
        if kept is None:
            return None
    return SignedIn(spec.display_name, spec.url, spec.oauth or OAuth(), store)


@asynccontextmanager
async def _streamable_http(
    url: str, http_client: Callable[[], httpx2.AsyncClient]
) -> AsyncIterator[TransportStreams]:
    async with http_client() as http, streamable_http_client(url, http_client=http) as streams:
        yield streams
