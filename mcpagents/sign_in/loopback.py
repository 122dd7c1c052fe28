"""The address the browser comes back to after a sign-in: a one-request HTTP server on 127.0.0.1
(RFC 8252's loopback redirect), which takes the authorization code, or the error, from the query."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

from mcp.shared.auth import AuthorizationCodeResult

from mcpagents.errors import SignInRequired

_PAGE = (
    "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n"
    "<!doctype html><title>mcpagents</title><p>{text}</p>"
)


class Callback:
    """Waits for the browser at `redirect_uri`."""

    def __init__(self, server: str, port: int) -> None:
        self.server = server
        self.redirect_uri = f"http://127.0.0.1:{port}/callback"
        self._answer: asyncio.Future[AuthorizationCodeResult] = asyncio.get_running_loop().create_future()

    async def result(self) -> AuthorizationCodeResult:
        return await asyncio.shield(self._answer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode("latin-1")
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # the headers say nothing this page needs
            parts = request_line.split()
            target = urlsplit(parts[1]) if len(parts) == 3 else None
            if target is None or target.path != "/callback":
                writer.write(_PAGE.format(status="404 Not Found", text="Nothing here.").encode())
                return
            query = {key: values[0] for key, values in parse_qs(target.query).items()}
            if self._answer.done():
                text = "This sign-in is already over."
            elif "code" in query:
                self._answer.set_result(
                    AuthorizationCodeResult(
                        code=query["code"], state=query.get("state"), iss=query.get("iss")
                    )
                )
                text = f"Signed in to {self.server}. You can close this tab."
            else:
                reason = query.get("error_description") or query.get("error") or "no code came back"
                self._answer.set_exception(
                    SignInRequired(f"signing in to {self.server} failed: {reason}", server=self.server)
                )
                text = f"Signing in failed: {reason}"
            writer.write(_PAGE.format(status="200 OK", text=text).encode())
        finally:
            await writer.drain()
            writer.close()


@asynccontextmanager
async def callback(server: str, port: int = 0) -> AsyncIterator[Callback]:
    """A callback listening on 127.0.0.1:`port` (0: a free one) while the block runs."""
    waiting: list[Callback] = []
    listener = await asyncio.start_server(lambda r, w: waiting[0]._serve(r, w), "127.0.0.1", port)
    try:
        bound = listener.sockets[0].getsockname()[1]
        waiting.append(Callback(server, bound))
        yield waiting[0]
    finally:
        listener.close()
        await listener.wait_closed()
