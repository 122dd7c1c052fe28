"""One supervised connection per MCP server.

An owner task opens the SDK client and is the only task that ever closes it (the SDK hangs or raises
cancel-scope errors when a client is closed from another task). Requests run in the caller's task on
the client the owner holds, so cancelling a caller cancels its MCP request and nothing else. A
connection that is lost stays down until the next request asks for it again, which reconnects.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import anyio
import httpx2
import mcp_types
from mcp import Client, MCPError
from mcp.client.subscriptions import (
    ListenNotSupportedError,
    PromptsListChanged,
    ResourcesListChanged,
    SubscriptionLost,
    ToolsListChanged,
)
from mcp.server import MCPServer, Server
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from mcpagents import __version__
from mcpagents.connections.interaction import (
    Interaction,
)
from mcpagents.connections.protocol import ResponseGuard, describe_error, describe_invalid
from mcpagents.connections.server_requests import CallInFlight, ClientOffer, ServerRequests
from mcpagents.connections.specs import HttpServer, ServerLink, ServerProcess, ServerSpec
from mcpagents.connections.tasks import StatusHandler
from mcpagents.connections.tasks_extension import TasksExtension
from mcpagents.errors import MCPServerError, SignInRequired, ToolArgumentError, ToolError, ToolTimeoutError
from mcpagents.logs import ServerLog
from mcpagents.portal import spawn_detached
from mcpagents.sign_in import refusals
from mcpagents.sign_in.options import login_command

ProgressHandler = Callable[[float, float | None, str | None], Awaitable[None]]
ListChangeHandler = Callable[["Connection", "ListKind"], Coroutine[Any, Any, None]]
ResourceUpdateHandler = Callable[["Connection", str], Coroutine[Any, Any, None]]

_DEATH_REPORT_WAIT = 2.0
_HTTP_STREAM_LOST = "SSE stream "
"""How the SDK's streamable HTTP client begins the -32000 error it gives a request whose response
stream broke off (`SSE stream ended without a response`, `SSE stream failed: ...`)."""

T = TypeVar("T")
ListKind = Literal["tools", "resources", "prompts"]


class _Attempt:
    """One try at connecting, and the life of the client it produced."""

    def __init__(self) -> None:
        self.settled = anyio.Event()
        self.ended = anyio.Event()
        self.client: Client | None = None
        self.error: MCPServerError | None = None
        self.scope = anyio.CancelScope()
        self.link: ServerLink | None = None
        self.guard: ResponseGuard | None = None
        self.violation: str | None = None
        """What the server did that broke the protocol, which ended this attempt."""
        self.watchers: anyio.abc.TaskGroup | None = None
        self.http_refusal: tuple[int, str] | None = None
        """The last HTTP error status the server answered with (the SDK turns it into a bare error)."""
        self.challenge: str | None = None
        """The `WWW-Authenticate` header of the server's last 401."""

    @property
    def process(self) -> ServerProcess | None:
        """The server's process, when its spec runs one."""
        return self.link.process if self.link else None

    async def record_response(self, response: httpx2.Response) -> None:
        if response.status_code >= 400:
            self.http_refusal = (response.status_code, response.reason_phrase)
        if response.status_code == 401:
            self.challenge = response.headers.get("www-authenticate")

    def succeed(self, client: Client) -> None:
        self.client = client
        self.settled.set()

    def fail(self, error: MCPServerError) -> None:
        if self.error is None:
            self.error = error
        self.settled.set()
        self.ended.set()
        self.scope.cancel()


class Connection:
    """A supervised connection to one MCP server."""

    def __init__(
        self,
        spec: ServerSpec,
        *,
        log_dir: Path,
        connect_timeout: float,
        request_timeout: float,
        on_list_changed: ListChangeHandler | None = None,
        offer: ClientOffer | None = None,
        on_resource_updated: ResourceUpdateHandler | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.display_name
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.log = ServerLog(log_dir, self.name)
        self.requests = ServerRequests(self.name, self.log, offer or ClientOffer())
        """What the server asks of this client, answered for the calls in flight."""
        self._on_list_changed = on_list_changed
        self._on_resource_updated = on_resource_updated
        self._attempt: _Attempt | None = None
        self._wake = anyio.Event()
        self._closing = False
        self._owner_done = anyio.Event()
        self._owner_started = False
        self._handling = 0
        self._handled = anyio.Event()
        self._subscriptions = 0
        """List-change subscriptions (2026-07-28) open now: their events arrive on a stream of their own."""

    # -- lifecycle -------------------------------------------------------------------------------

    async def connect(self) -> Client:
        """The connected client; starts or restarts the server if it is not connected."""
        attempt = self._attempt
        if attempt is not None and attempt.client is not None and not attempt.ended.is_set():
            if attempt.process is None or attempt.process.running:
                return attempt.client
            attempt.ended.set()  # the process exited while nobody was looking: start a new one
        if self._closing:
            raise MCPServerError(f"server {self.name!r} is closed", server=self.name)
        if not self._owner_started:
            self._owner_started = True
            spawn_detached(self._own())
        if attempt is None or attempt.ended.is_set():
            attempt = self._attempt = _Attempt()
            self._wake.set()
        with anyio.move_on_after(self.connect_timeout):
            await attempt.settled.wait()
        if not attempt.settled.is_set():
            attempt.fail(self._timeout_error(attempt))
        if attempt.error is not None:
            raise attempt.error
        assert attempt.client is not None
        return attempt.client

    @property
    def connected(self) -> bool:
        attempt = self._attempt
        return attempt is not None and attempt.client is not None and not attempt.ended.is_set()

    @property
    def protocol_version(self) -> str | None:
        attempt = self._attempt
        return attempt.client.protocol_version if attempt and attempt.client and self.connected else None

    @property
    def server_decides_tasks(self) -> bool:
        """Whether the server decides which calls become tasks (the Tasks extension of 2026-07-28,
        followed inside `call_tool`), rather than the client asking for one (2025-11-25)."""
        return self.protocol_version in MODERN_PROTOCOL_VERSIONS

    @property
    def instructions(self) -> str | None:
        """What the server said about using it (`instructions`), while connected."""
        attempt = self._attempt
        return attempt.client.instructions if attempt and attempt.client and self.connected else None

    async def aclose(self) -> None:
        """Close the client in its owner task and wait for the server to stop. Idempotent."""
        self._closing = True
        if not self._owner_started:
            return
        attempt = self._attempt
        if attempt is not None and not attempt.settled.is_set():
            # Still in its handshake (a server slow to start): give it up now rather than wait for it.
            attempt.fail(
                MCPServerError(f"server {self.name!r} was closed while it started", server=self.name)
            )
        if attempt is not None:
            attempt.ended.set()
        self._wake.set()
        with anyio.CancelScope(shield=True):
            await self._owner_done.wait()

    async def _own(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake = anyio.Event()
                if self._closing:
                    return
                assert self._attempt is not None
                await self._hold(self._attempt)
        finally:
            self._owner_done.set()

    async def _hold(self, attempt: _Attempt) -> None:
        """Open a client, keep it until the attempt ends (close or loss), close it here."""
        try:
            with attempt.scope:
                async with self._open_client(attempt) as client, anyio.create_task_group() as watchers:
                    attempt.watchers = watchers
                    self._watch_list_changes(client, watchers)
                    attempt.succeed(client)
                    await attempt.ended.wait()
                    watchers.cancel_scope.cancel()
        except Exception as error:
            if not attempt.settled.is_set():
                attempt.fail(await self._start_error(_leaf(error), attempt))
        finally:
            attempt.ended.set()

    @asynccontextmanager
    async def _open_client(self, attempt: _Attempt) -> AsyncIterator[Client]:
        """A client through what the spec opens; a transport's responses are checked on the way."""
        on_violation = partial(self._break_off, attempt)
        attempt.link = ServerLink(
            self.log,
            on_exit=attempt.ended.set,
            on_violation=on_violation,
            on_http_response=attempt.record_response,
        )
        target = self.spec.open(attempt.link)
        if not isinstance(target, MCPServer | Server):
            target = attempt.guard = ResponseGuard(target, self.log, on_violation=on_violation)
        requests = self.requests
        offer = requests.offer
        async with Client(
            target,
            mode=self.spec.mode,
            extensions=[TasksExtension()],
            client_info=mcp_types.Implementation(name="mcpagents", version=__version__),
            message_handler=self._handle_message,
            elicitation_callback=requests.elicit,
            sampling_callback=requests.sample if offer.sampling else None,
            list_roots_callback=requests.list_roots if offer.roots is not None else None,
            logging_callback=requests.log,
            log_level=offer.log_level,
        ) as client:
            if offer.log_level and client.server_capabilities.logging and not _modern(client):
                with _deprecated_features():  # 2026-07-28 deprecates logging; 2025-era servers still use it
                    await client.set_logging_level(offer.log_level)
            yield client

    def _break_off(self, attempt: _Attempt, violation: str) -> None:
        """The server broke the protocol: give its connection up (a request may not be there to say so)."""
        if attempt.violation is None:
            attempt.violation = violation
            self.log.note(f"connection given up: the server broke the MCP protocol: {violation}")
        attempt.ended.set()

    # -- requests --------------------------------------------------------------------------------

    async def call_tool(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        timeout: float,
        on_progress: ProgressHandler | None = None,
        on_status: StatusHandler | None = None,
        meta: Mapping[str, Any] | None = None,
        interaction: Interaction | None = None,
    ) -> mcp_types.CallToolResult:
        """Call a tool. `timeout` is the longest silence allowed: each progress report restarts it,
        and it is paused while a person or a model answers the server's questions. `interaction`
        answers the questions the server asks during this call. A call a 2026-07-28 server turns
        into a task is followed to its end (see `tasks_extension`): `on_status` is told each state
        of the task, which also restarts the silence."""

        async def send(client: Client) -> mcp_types.CallToolResult:
            unaddressed = self._unaddressed_errors()
            with anyio.CancelScope(deadline=anyio.current_time() + timeout) as silence:

                def heard() -> None:
                    if not self.requests.answering:
                        silence.deadline = anyio.current_time() + timeout

                async def progress(progress: float, total: float | None, message: str | None) -> None:
                    heard()
                    if on_progress is not None:
                        await on_progress(progress, total, message)

                async def status(task: mcp_types.Task) -> None:
                    heard()
                    if on_status is not None:
                        await on_status(task)

                with self.requests.in_flight(CallInFlight(interaction, silence, timeout, status)):
                    call_meta = cast(mcp_types.RequestParamsMeta, dict(meta)) if meta else None
                    try:
                        return await client.call_tool(
                            tool, arguments, progress_callback=progress, meta=call_meta
                        )
                    except MCPError as error:
                        if error.code != mcp_types.URL_ELICITATION_REQUIRED:
                            raise
                        await self.requests.open_required_pages(tool, error)
                    # Once the pages are seen to, the call is made again, as the error asks.
                    return await client.call_tool(tool, arguments, progress_callback=progress, meta=call_meta)
            raise ToolTimeoutError(
                f"tool {tool!r} on server {self.name!r} sent no answer and no progress for {timeout:g} s"
                f"{self._unaddressed_since(unaddressed)};"
                " the request was cancelled (raise the timeout if the tool needs longer)",
                tool=tool,
                server=self.name,
            )

        return await self._send(f"the call to tool {tool!r}", send, tool=tool)

    async def follow_task(
        self,
        tool: str,
        work: Callable[[Client, Callable[[], None]], Awaitable[T]],
        *,
        timeout: float,
        interaction: Interaction | None = None,
        on_silence: str = "the task was cancelled",
    ) -> T:
        """Run `work`, the requests that start, watch or collect a task of `tool` (see tasks.py), as
        a call of that tool: `timeout` is the longest silence allowed (`work` calls `heard()` on news
        of the task, which restarts it; it is paused while someone answers the server), `interaction`
        answers what the server asks meanwhile, and errors name the tool. `on_silence` says what
        became of the task when the silence ran out."""

        async def send(client: Client) -> T:
            unaddressed = self._unaddressed_errors()
            with anyio.CancelScope(deadline=anyio.current_time() + timeout) as silence:

                def heard() -> None:
                    if not self.requests.answering:
                        silence.deadline = anyio.current_time() + timeout

                with self.requests.in_flight(CallInFlight(interaction, silence, timeout)):
                    return await work(client, heard)
            raise ToolTimeoutError(
                f"tool {tool!r} on server {self.name!r} sent no news of its task for {timeout:g} s"
                f"{self._unaddressed_since(unaddressed)}; {on_silence}"
                " (raise the timeout if the tool needs longer)",
                tool=tool,
                server=self.name,
            )

        return await self._send(f"the task of tool {tool!r}", send, tool=tool)

    async def request(self, what: str, send: Callable[[Client], Awaitable[T]]) -> T:
        """Any other request (listings, resources, prompts), bounded by the request timeout."""

        async def bounded(client: Client) -> T:
            unaddressed = self._unaddressed_errors()
            with anyio.move_on_after(self.request_timeout):
                return await send(client)
            raise MCPServerError(
                f"server {self.name!r} did not answer {what} within {self.request_timeout:g} s"
                f"{self._unaddressed_since(unaddressed)}",
                server=self.name,
            )

        return await self._send(what, bounded)

    def _unaddressed_errors(self) -> int:
        guard = self._attempt.guard if self._attempt else None
        return guard.unaddressed_errors if guard else 0

    def _unaddressed_since(self, count: int) -> str:
        """A request that was never answered may have been answered by an error without an id."""
        guard = self._attempt.guard if self._attempt else None
        if guard is None or guard.unaddressed_errors == count:
            return ""
        return (
            " (meanwhile it sent an error about no request, perhaps meant for this one:"
            f" {guard.last_unaddressed})"
        )

    async def _send(self, what: str, send: Callable[[Client], Awaitable[T]], tool: str | None = None) -> T:
        """Send on the current client; after an expired HTTP session, reconnect and send once more
        (the server refused the request without running it, so repeating it is safe)."""
        retried = False
        while True:
            client = await self.connect()
            attempt = self._attempt
            if attempt is not None:
                attempt.http_refusal = None
            with refusals.watch() as refused:
                try:
                    return await send(client)
                except Exception as error:
                    failure = _leaf(error)
            if refused:
                raise refused[0] from failure
            if attempt is not None and not retried and _session_expired(failure, attempt):
                attempt.ended.set()
                retried = True
                continue
            raise await self._request_error(failure, attempt, what, tool=tool) from failure

    async def set_roots(self, roots: tuple[mcp_types.Root, ...]) -> None:
        """Offer other roots; a connected server is told they changed (`roots/list_changed`)."""
        self.requests.offer = replace(self.requests.offer, roots=roots)
        attempt = self._attempt
        if self.connected and attempt is not None and attempt.client is not None:
            with _deprecated_features():
                await attempt.client.send_roots_list_changed()

    # -- notifications ---------------------------------------------------------------------------

    async def _handle_message(self, message: mcp_types.ServerNotification | Exception) -> None:
        if kind := _LEGACY_LIST_CHANGES.get(type(message)):
            self._list_changed(kind)
        elif isinstance(message, mcp_types.ResourceUpdatedNotification):
            attempt = self._attempt
            if self._on_resource_updated and attempt is not None and attempt.watchers is not None:
                # Beside the receive loop, like a list change: the handler may read the resource.
                attempt.watchers.start_soon(self._on_resource_updated, self, str(message.params.uri))

    def _list_changed(self, kind: ListKind) -> None:
        # Never awaited here: the handler re-lists over this same connection, and the SDK's receive
        # loop, which delivers notifications, would wait for the answer it is itself blocking.
        attempt = self._attempt
        if self._on_list_changed is not None and attempt is not None and attempt.watchers is not None:
            if self._handling == 0:
                self._handled = anyio.Event()
            self._handling += 1
            attempt.watchers.start_soon(self._handle_list_change, self._on_list_changed, kind)

    async def _handle_list_change(self, handler: ListChangeHandler, kind: ListKind) -> None:
        try:
            await handler(self, kind)
        finally:
            self._handling -= 1
            if self._handling == 0:
                self._handled.set()

    async def settled(self) -> None:
        """Wait until the list changes announced so far are handled.

        A call that made its server change its tools returns only after the collection shows them.
        A notification that came before the answer is being handled already; an event on a
        subscription stream gets one checkpoint to be delivered (the answer came on another stream).
        """
        if self._subscriptions:
            await anyio.lowlevel.checkpoint()
        if self._handling:
            await self._handled.wait()

    def _watch_list_changes(self, client: Client, watchers: anyio.abc.TaskGroup) -> None:
        """On 2026-07-28 connections list changes arrive on a `subscriptions/listen` stream."""
        capabilities = client.server_capabilities
        if self._on_list_changed is None or client.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            return
        tools = bool(capabilities.tools and capabilities.tools.list_changed)
        resources = bool(capabilities.resources and capabilities.resources.list_changed)
        prompts = bool(capabilities.prompts and capabilities.prompts.list_changed)
        if tools or resources or prompts:
            watchers.start_soon(self._listen, client, tools, resources, prompts)

    async def _listen(self, client: Client, tools: bool, resources: bool, prompts: bool) -> None:
        try:
            listening = client.listen(
                tools_list_changed=tools, resources_list_changed=resources, prompts_list_changed=prompts
            )
            async with listening as subscription:
                self._subscriptions += 1
                try:
                    async for event in subscription:
                        if kind := _MODERN_LIST_CHANGES.get(type(event)):
                            self._list_changed(kind)
                finally:
                    self._subscriptions -= 1
        except (ListenNotSupportedError, SubscriptionLost, MCPError, TimeoutError) as error:
            self.log.note(f"list-change subscription ended: {error}")

    # -- errors ----------------------------------------------------------------------------------

    def _timeout_error(self, attempt: _Attempt) -> MCPServerError:
        return self._server_error(
            f"server {self.name!r} ({self.spec.describe()}) did not finish the MCP handshake within"
            f" {self.connect_timeout:g} s",
            attempt,
        )

    async def _start_error(self, error: BaseException, attempt: _Attempt) -> MCPServerError:
        if isinstance(error, MCPServerError):
            return error
        where = f"server {self.name!r} ({self.spec.describe()})"
        if attempt.violation is not None:
            return self._server_error(
                f"{where} broke the MCP protocol before finishing the handshake: {attempt.violation}", attempt
            )
        if attempt.process is not None and _is_connection_lost(error, attempt):
            await _wait(attempt.process.exited, _DEATH_REPORT_WAIT)
            return self._server_error(
                f"{where} {attempt.process.describe_exit()} before finishing the MCP handshake", attempt
            )
        if isinstance(error, httpx2.HTTPStatusError):
            attempt.http_refusal = (error.response.status_code, error.response.reason_phrase)
        if attempt.http_refusal is not None and isinstance(error, MCPError | httpx2.HTTPStatusError):
            code, reason = attempt.http_refusal
            if code == 401 and _asks_for_oauth(attempt.challenge) and isinstance(self.spec, HttpServer):
                return SignInRequired(
                    f"{where} needs an OAuth sign-in: run `{login_command(self.spec.url)}`",
                    server=self.name,
                )
            hint = " (check the headers/token of this server)" if code in (401, 403) else ""
            return self._server_error(f"{where} answered HTTP {code} {reason}{hint}", attempt)
        if isinstance(error, httpx2.TransportError):
            return self._server_error(f"{where} is unreachable: {_describe(error)}", attempt)
        if isinstance(error, MCPError):
            return self._server_error(
                f"{where} failed the MCP handshake: {describe_error(error.error)}", attempt
            )
        if isinstance(error, ValidationError):
            return self._server_error(
                f"{where} sent an invalid answer during the MCP handshake: {describe_invalid(error)}", attempt
            )
        return self._server_error(f"{where} could not be connected: {_describe(error)}", attempt)

    async def _request_error(
        self, error: Exception, attempt: _Attempt | None, what: str, *, tool: str | None = None
    ) -> Exception:
        """Turn an SDK or transport failure into an error that says what happened to whom."""
        if isinstance(error, MCPServerError | ToolError):
            return error
        if attempt is not None and (
            _is_connection_lost(error, attempt) or isinstance(error, httpx2.TransportError)
        ):
            attempt.ended.set()
            return self._server_error(
                f"{await self._loss(error, attempt, what)}; the next request restarts it", attempt
            )
        refusal = attempt.http_refusal if attempt is not None else None
        if refusal is not None and isinstance(error, MCPError | httpx2.HTTPStatusError):
            code, reason = refusal
            return self._server_error(
                f"server {self.name!r} answered HTTP {code} {reason} to {what}", attempt
            )
        if tool is None:
            if isinstance(error, MCPError):
                problem = f"answered {what} with {describe_error(error.error)}"
            elif isinstance(error, ValidationError):
                problem = f"returned an invalid result to {what}: {describe_invalid(error)}"
            else:
                problem = f"failed {what}: {_describe(error)}"
            return self._server_error(f"server {self.name!r} {problem}", attempt)
        failed = f"tool {tool!r} on server {self.name!r}"
        if isinstance(error, MCPError) and error.code == mcp_types.INVALID_PARAMS:
            return ToolArgumentError(
                f"server {self.name!r} rejected the arguments of tool {tool!r}:"
                f" {describe_error(error.error)}",
                tool=tool,
                server=self.name,
            )
        if isinstance(error, MCPError):
            message = f"{failed} failed with {describe_error(error.error)}"
        elif isinstance(error, ValidationError):
            message = f"{failed} returned an invalid result: {describe_invalid(error)}"
        else:
            message = f"{failed} failed: {_describe(error)}"
        return ToolError(message, tool=tool, server=self.name)

    async def _loss(self, error: Exception, attempt: _Attempt, what: str) -> str:
        """What happened to the server that lost the connection during `what`."""
        if attempt.violation is not None:
            return f"server {self.name!r} broke the MCP protocol during {what}: {attempt.violation}"
        if attempt.process is not None:
            await _wait(attempt.process.exited, _DEATH_REPORT_WAIT)
            return f"server {self.name!r} {attempt.process.describe_exit()} during {what}"
        return f"server {self.name!r} lost its connection ({_describe(error)}) during {what}"

    def _server_error(self, message: str, attempt: _Attempt | None) -> MCPServerError:
        process = attempt.process if attempt else None
        return MCPServerError(
            message,
            server=self.name,
            exit_code=process.exit_code if process else None,
            stderr_tail=self.log.tail() if process else "",
            log_path=self.log.path if process else None,
        )


_LEGACY_LIST_CHANGES: dict[type[Any], ListKind] = {
    mcp_types.ToolListChangedNotification: "tools",
    mcp_types.ResourceListChangedNotification: "resources",
    mcp_types.PromptListChangedNotification: "prompts",
}
_MODERN_LIST_CHANGES: dict[type[Any], ListKind] = {
    ToolsListChanged: "tools",
    ResourcesListChanged: "resources",
    PromptsListChanged: "prompts",
}


@contextmanager
def _deprecated_features() -> Iterator[None]:
    """Roots and logging are deprecated by 2026-07-28 and are offered for the servers that use them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        yield


def _asks_for_oauth(challenge: str | None) -> bool:
    """Whether a 401's `WWW-Authenticate` points to OAuth protected resource metadata (RFC 9728)."""
    return (
        challenge is not None and challenge.lower().startswith("bearer") and "resource_metadata" in challenge
    )


def _modern(client: Client) -> bool:
    return client.protocol_version in MODERN_PROTOCOL_VERSIONS


def _leaf(error: Exception) -> Exception:
    """The first real error inside (possibly nested) exception groups raised by the SDK's task groups."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            if isinstance(inner, Exception):
                return _leaf(inner)
    return error


def _is_connection_lost(error: BaseException, attempt: _Attempt) -> bool:
    """Whether `error` says the connection is gone (rather than being the server's answer)."""
    if isinstance(error, MCPError):
        if error.code != mcp_types.CONNECTION_CLOSED:
            return False
        # -32000 is also the first code JSON-RPC leaves to servers for errors of their own. Once the
        # stream from the server has ended, it is the SDK's "connection closed"; before, only the
        # SDK's HTTP client makes one (for a response stream that broke off).
        guard = attempt.guard
        return guard is None or guard.ended or error.message.startswith(_HTTP_STREAM_LOST)
    return isinstance(error, anyio.ClosedResourceError | anyio.BrokenResourceError | anyio.EndOfStream)


def _session_expired(error: Exception, attempt: _Attempt) -> bool:
    """The HTTP server no longer knows our session (it restarted, or the session idled out)."""
    refusal = attempt.http_refusal
    return refusal is not None and refusal[0] == 404 and isinstance(error, MCPError)


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def _wait(event: anyio.Event, seconds: float) -> None:
    with anyio.move_on_after(seconds):
        await event.wait()
