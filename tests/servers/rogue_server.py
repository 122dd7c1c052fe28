"""An MCP server written by hand on raw JSON-RPC, so each tool can break the protocol in one way.

Run: `python rogue_server.py` (stdio) or `python rogue_server.py --http` (streamable HTTP at `/mcp`,
JSON answers, SSE when a request gets several messages; prints `PORT <n>` once listening).
It speaks the 2025-11-25 handshake and refuses `server/discover`, so `auto` clients fall back to it.
Tools: `pid` answers properly (its process id); `error` answers with a JSON-RPC error object (code
`code`, -32603 unless given); `invalid` with a result whose `content` is not a list; `malformed`
with a response that is not JSON-RPC (its result is a number); `wrong_id` with an id no request has;
`null_id` with a JSON-RPC error whose id is null (a server that could not read the request);
`huge` with a proper answer `size` bytes long; `flood` sends `count` log notifications, then answers;
`late` answers (over stdio) only once the call is cancelled, as an answer crossing the cancellation.

`--handshake TOOL` answers `initialize` the way TOOL answers a call; `--fail METHOD` (repeatable)
answers METHOD (`tools/list`, `resources/list`, `resources/read`, `prompts/list`, `prompts/get`)
with a JSON-RPC error.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FLAGS = sys.argv[1:]
FAILING = {FLAGS[at + 1] for at, flag in enumerate(FLAGS) if flag == "--fail"}
HANDSHAKE = FLAGS[FLAGS.index("--handshake") + 1] if "--handshake" in FLAGS else None
TOOLS = [
    {"name": name, "inputSchema": {"type": "object", "properties": properties}}
    for name, properties in [
        ("pid", {}),
        ("error", {"code": {"type": "integer"}}),
        ("invalid", {}),
        ("malformed", {}),
        ("wrong_id", {}),
        ("null_id", {}),
        ("huge", {"size": {"type": "integer"}}),
        ("flood", {"count": {"type": "integer"}}),
        ("late", {}),
    ]
]
waiting_to_be_late: set[Any] = set()


def line(message: dict[str, Any]) -> str:
    return json.dumps({"jsonrpc": "2.0", **message})


def text(value: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": value}]}


def call_tool(request_id: Any, name: str, arguments: dict[str, Any]) -> list[str]:
    if name == "pid":
        return [line({"id": request_id, "result": text(str(os.getpid()))})]
    if name == "error":
        error = {"code": arguments.get("code", -32603), "message": "disk on fire", "data": {"disk": "sda1"}}
        return [line({"id": request_id, "error": error})]
    if name == "invalid":
        return [line({"id": request_id, "result": {"content": "not a list"}})]
    if name == "malformed":
        return [line({"id": request_id, "result": 42})]
    if name == "wrong_id":
        return [line({"id": 987654321, "result": text("for nobody")})]
    if name == "null_id":
        return [line({"id": None, "error": {"code": -32700, "message": "Parse error"}})]
    if name == "huge":
        framing = len(line({"id": request_id, "result": text("")}))
        return [line({"id": request_id, "result": text("x" * (arguments["size"] - framing))})]
    if name == "late":
        waiting_to_be_late.add(request_id)
        return []
    assert name == "flood"
    notes = [
        line({"method": "notifications/message", "params": {"level": "info", "data": f"log line {number}"}})
        for number in range(arguments["count"])
    ]
    return [*notes, line({"id": request_id, "result": text("after the flood")})]


def answer(request: dict[str, Any]) -> list[str]:
    """The lines that answer one request."""
    request_id, method, params = request["id"], request["method"], request.get("params") or {}
    if method == "initialize" and HANDSHAKE is not None:
        return call_tool(request_id, HANDSHAKE, {"size": 50_000_000})
    if method == "initialize":
        capabilities = {"tools": {}, "resources": {}, "prompts": {}, "logging": {}}
        info = {"name": "rogue", "version": "1.0"}
        result = {"protocolVersion": "2025-11-25", "capabilities": capabilities, "serverInfo": info}
        return [line({"id": request_id, "result": result})]
    if method in FAILING:
        return [line({"id": request_id, "error": {"code": -32603, "message": f"{method} is on fire"}})]
    if method == "tools/list":
        return [line({"id": request_id, "result": {"tools": TOOLS}})]
    if method == "tools/call":
        return call_tool(request_id, params["name"], params.get("arguments") or {})
    if method in ("resources/list", "prompts/list"):
        return [line({"id": request_id, "result": {method.split("/")[0]: []}})]
    return [line({"id": request_id, "error": {"code": -32601, "message": f"method not found: {method}"}})]


def cancelled(request_id: Any) -> list[str]:
    if request_id not in waiting_to_be_late:
        return []
    waiting_to_be_late.discard(request_id)
    return [line({"id": request_id, "result": text("too late")})]


def serve_stdio() -> None:
    for received in sys.stdin:
        message = json.loads(received)
        if "id" in message and "method" in message:
            replies = answer(message)
        elif message.get("method") == "notifications/cancelled":
            replies = cancelled(message["params"]["requestId"])
        else:
            replies = []
        for reply in replies:
            sys.stdout.write(reply + "\n")
        sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if "id" not in message or "method" not in message:
            self.send_response(202)
            self.end_headers()
            return
        replies = answer(message)
        if len(replies) == 1:
            body, kind = replies[0].encode(), "application/json"
        else:
            body, kind = (
                "".join(f"event: message\ndata: {reply}\n\n" for reply in replies).encode(),
                "text/event-stream",
            )
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.send_response(405)
        self.end_headers()

    do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_http() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve_http() if "--http" in sys.argv[1:] else serve_stdio()
