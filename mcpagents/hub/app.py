"""The hub's Starlette app: the page (`/`, `/static/...`) and its JSON API under `/api/`.

The page's files are public (they hold no data); every API call needs the token, as a bearer
token (`Authorization: Bearer ...`), which the page sends with each `fetch`. Behind both: the
Host/Origin guard and the security headers of `guard.PageGuard`.

API:
  GET  /api/agents                           the agents of the specs served
  POST /api/chats {agent}                    a new chat: {id, agent}
  POST /api/chats/{chat}/messages {task}     run the next turn: its records as Server-Sent Events
  POST /api/chats/{chat}/cancel              cancel the running turn
  POST /api/chats/{chat}/answers/{question}  {action: accept|decline|cancel, content}: answer a question
  GET  /api/runs, /api/runs/{run}, /api/traces/{trace}    past runs (`runs`)
  GET  /api/servers, /api/servers/{id}       configured servers; one opened (`servers`)
  POST /api/servers/{id}/call {tool, arguments}           a tool called by hand
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mcpagents.agents.base import MultiStepAgent
from mcpagents.connections.specs import DEFAULT_CONNECT_TIMEOUT
from mcpagents.errors import ToolArgumentError
from mcpagents.http_server.auth import BearerToken
from mcpagents.hub import runs as past_runs
from mcpagents.hub.chats import Chat, ChatBusy, Chats
from mcpagents.hub.event_stream import RunEvents
from mcpagents.hub.guard import PageGuard
from mcpagents.hub.questions import ACTIONS
from mcpagents.hub.servers import ConfiguredEntry, ServerTrials

STATIC = files("mcpagents.hub") / "static"
Endpoint = Callable[[Request], Awaitable[Response]]


class _Refused(Exception):
    """A request the API refuses: its status and the reason, shown by the page."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def hub_app(
    agents: Sequence[MultiStepAgent],
    servers: Sequence[ConfiguredEntry],
    *,
    token: str,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Starlette:
    """The hub for `agents` (closed by the app's lifespan) and the configured `servers`.
    `app.state.chats` holds the chats (`Chats`)."""
    chats = Chats(agents)
    trials = ServerTrials(servers, connect_timeout)
    api = _Api(chats, trials)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with chats.running():
                yield
        finally:
            await trials.aclose()

    routes: list[BaseRoute] = [
        Route("/", _index, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=str(STATIC))),
        Mount("/api", app=BearerToken(Starlette(routes=api.routes()), token)),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.chats = chats
    app.add_middleware(PageGuard, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins)
    return app


async def _index(request: Request) -> Response:
    return FileResponse(str(STATIC / "index.html"), media_type="text/html; charset=utf-8")


class _Api:
    def __init__(self, chats: Chats, trials: ServerTrials) -> None:
        self.chats = chats
        self.trials = trials

    def routes(self) -> list[BaseRoute]:
        def route(path: str, endpoint: Endpoint, method: str = "GET") -> Route:
            return Route(path, _refusals(endpoint), methods=[method])

        return [
            route("/agents", self.agents),
            route("/chats", self.new_chat, "POST"),
            route("/chats/{chat}/messages", self.message, "POST"),
            route("/chats/{chat}/cancel", self.cancel, "POST"),
            route("/chats/{chat}/answers/{question}", self.answer, "POST"),
            route("/runs", self.runs),
            route("/runs/{run}", self.run),
            route("/traces/{trace}", self.trace),
            route("/servers", self.servers),
            route("/servers/{server}", self.server),
            route("/servers/{server}/call", self.call, "POST"),
        ]

    async def agents(self, request: Request) -> Response:
        return JSONResponse(
            [
                {"name": name, "description": agent.description, "model": agent.model.model_id}
                for name, agent in self.chats.agents.items()
            ]
        )

    async def new_chat(self, request: Request) -> Response:
        agent = _text(await _body(request), "agent")
        if agent not in self.chats.agents:
            raise _Refused(404, f"no agent named {agent!r}: the hub serves {', '.join(self.chats.agents)}")
        chat = self.chats.new(agent)
        return JSONResponse({"id": chat.id, "agent": agent}, status_code=201)

    async def message(self, request: Request) -> Response:
        chat = self._chat(request)
        task = _text(await _body(request), "task")
        if not task.strip():
            raise _Refused(400, "the task is empty")
        try:
            return RunEvents(self.chats.start(chat, task))
        except ChatBusy as busy:
            raise _Refused(409, str(busy)) from None

    async def cancel(self, request: Request) -> Response:
        run = self._chat(request).run
        if run is None:
            raise _Refused(409, "nothing to cancel: the chat is not running")
        run.cancel()
        return Response(status_code=204)

    async def answer(self, request: Request) -> Response:
        run = self._chat(request).run
        body = await _body(request)
        action = body.get("action")
        if action not in ACTIONS:
            raise _Refused(400, f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        content = body.get("content")
        if content is not None and not isinstance(content, dict):
            raise _Refused(400, "content must be an object of the form's values")
        unknown = _Refused(404, "no such question waits for an answer (the run ended?)")
        if run is None:
            raise unknown
        try:
            run.questions.answer(request.path_params["question"], action, content)
        except KeyError:
            raise unknown from None
        except ToolArgumentError as error:
            raise _Refused(400, str(error)) from None
        return Response(status_code=204)

    async def runs(self, request: Request) -> Response:
        return JSONResponse(past_runs.runs())

    async def run(self, request: Request) -> Response:
        try:
            return JSONResponse(past_runs.run(request.path_params["run"]))
        except KeyError as error:
            raise _Refused(404, str(error.args[0])) from None

    async def trace(self, request: Request) -> Response:
        try:
            return JSONResponse(past_runs.trace(request.path_params["trace"]))
        except KeyError as error:
            raise _Refused(404, str(error.args[0])) from None

    async def servers(self, request: Request) -> Response:
        return JSONResponse([entry.summary() for entry in self.trials.entries.values()])

    async def server(self, request: Request) -> Response:
        entry = self._server(request)
        return JSONResponse(await self.trials.describe(entry))

    async def call(self, request: Request) -> Response:
        entry = self._server(request)
        body = await _body(request)
        arguments = body.get("arguments", {})
        if not isinstance(arguments, dict):
            raise _Refused(400, "arguments must be an object")
        return JSONResponse(await self.trials.call(entry, _text(body, "tool"), arguments))

    def _chat(self, request: Request) -> Chat:
        try:
            return self.chats.get(request.path_params["chat"])
        except KeyError:
            raise _Refused(404, "no such chat (the hub was restarted?): start a new one") from None

    def _server(self, request: Request) -> str:
        entry: str = request.path_params["server"]
        if entry not in self.trials.entries:
            raise _Refused(404, f"no configured server {entry!r}")
        return entry


def _refusals(endpoint: Endpoint) -> Endpoint:
    async def refusing(request: Request) -> Response:
        try:
            return await endpoint(request)
        except _Refused as refused:
            return JSONResponse({"error": str(refused)}, status_code=refused.status)

    return refusing


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _Refused(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _Refused(400, "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise _Refused(400, f"{name!r} must be a string")
    return value
