"""Bearer-token auth for HTTP servers: a shared secret, compared in constant time."""

from __future__ import annotations

import hmac

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN_VARIABLE = "MCPAGENTS_TOKEN"
"""The environment variable a server takes its token from when none is given."""


class BearerToken:
    """401 unless `Authorization: Bearer <token>`; `/health` stays open for probes."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != "/health":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                reason = (
                    "wrong bearer token" if given else "this server needs `Authorization: Bearer <token>`"
                )
                response = PlainTextResponse(reason, status_code=401, headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
