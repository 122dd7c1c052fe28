"""What every request to the hub page must pass, and what every response carries.

Requests pass the Host/Origin guard of every mcpagents HTTP server (`http_server.guard`: a page of
another site can neither reach this one by DNS rebinding nor post to it), and a POST must carry JSON,
which a cross-site HTML form cannot send. Responses carry a Content-Security-Policy that allows this
origin's own files only (and images as `data:` URLs, which tool results carry): no inline script,
no framing; the browser guesses no types (`nosniff`) and sends no Referer.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcp.server.transport_security import TransportSecurityMiddleware
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcpagents.http_server.guard import transport_security

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
        " form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class PageGuard:
    """The Host/Origin checks (421 / 403), JSON-only POSTs (400), and `SECURITY_HEADERS` on every answer."""

    def __init__(
        self, app: ASGIApp, allowed_hosts: Sequence[str] = (), allowed_origins: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.checks = TransportSecurityMiddleware(transport_security(allowed_hosts, allowed_origins))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        refusal = await self.checks.validate_request(Request(scope), is_post=scope["method"] == "POST")
        if refusal is not None:
            await refusal(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)
