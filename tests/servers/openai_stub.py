"""A scriptable OpenAI-compatible HTTP server on 127.0.0.1, for testing what a client does with
rate limits, failures, slow answers, tool calls and streams. Each request takes the next reply."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Reply:
    status: int = 200
    text: str = "ok"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    error: str = "stub error"


@dataclass
class Stub:
    url: str
    replies: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)
    """Set when the first request has arrived."""


def completion(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
            }
            for i, c in enumerate(reply.tool_calls)
        ]
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def chunks(reply: Reply, model: str) -> Iterator[str]:
    header = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": model}
    for piece in reply.text.split(" "):
        delta = {
            **header,
            "choices": [{"index": 0, "delta": {"content": piece + " "}, "finish_reason": None}],
        }
        yield f"data: {json.dumps(delta)}\n\n"
    usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    end = {**header, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}
    yield f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n"


@contextmanager
def openai_stub(*replies: Reply) -> Iterator[Stub]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    stub = Stub(f"http://127.0.0.1:{sock.getsockname()[1]}/v1", list(replies))

    async def chat(request: Request) -> Response:
        body = await request.json()
        stub.requests.append(body)
        stub.received.set()
        reply = stub.replies[min(len(stub.requests), len(stub.replies)) - 1]
        await anyio.sleep(reply.delay)
        if reply.status != 200:
            error = {"error": {"message": reply.error, "type": "stub", "code": reply.status}}
            return JSONResponse(error, status_code=reply.status, headers=reply.headers)
        if body.get("stream"):
            return StreamingResponse(chunks(reply, body["model"]), media_type="text/event-stream")
        return JSONResponse(completion(reply, body["model"]), headers=reply.headers)

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="error"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.should_exit = True
        thread.join(10)
