"""A run's records as Server-Sent Events: one `data: <JSON>` event per record, until the run ends.

An ASGI response of its own rather than Starlette's `StreamingResponse`, because the run must be
cancelled as soon as the page goes away, even while no record is being written (a run waiting for
an answer writes none): it listens for the client's disconnect alongside.
"""

from __future__ import annotations

import json

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mcpagents.hub.chats import ChatRun


class RunEvents(Response):
    """The response streaming `run`'s records; the run is cancelled if the client leaves first."""

    media_type = "text/event-stream"

    def __init__(self, run: ChatRun) -> None:
        # As StreamingResponse: no body, so no Content-Length. Proxies pass each event on at once.
        self.status_code = 200
        self.background = None
        self.init_headers({"X-Accel-Buffering": "no"})
        self.run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        async with anyio.create_task_group() as tasks:

            async def until_disconnected() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                tasks.cancel_scope.cancel()

            tasks.start_soon(until_disconnected)
            try:
                async with self.run.records:
                    async for record in self.run.records:
                        data = json.dumps(record, ensure_ascii=False, default=str)
                        body = f"data: {data}\n\n".encode()
                        await send({"type": "http.response.body", "body": body, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                self.run.cancel()  # already over, unless the page left or the stream broke
                tasks.cancel_scope.cancel()
