"""The access token on every request to a server that needs a sign-in.

A sign-in kept by `mcpagents login` is sent as it is, renewed when it has expired, and renewed once
more when the server refuses it; a client with credentials of its own gets a token whenever it needs
one, for itself or, in a chain, in exchange for the token of the caller it acts for. Whatever
cannot be fixed without a person fails at once with `SignInRequired`, naming the command to run: a
connection never waits for a browser nobody will open.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import AsyncGenerator
from pathlib import Path

import anyio
import httpx2
from mcp.client.auth.utils import extract_field_from_www_auth, extract_resource_metadata_from_www_auth
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from mcpagents.errors import SignInRequired
from mcpagents.sign_in import refusals, token_requests
from mcpagents.sign_in.discovery import Guard, discover
from mcpagents.sign_in.on_behalf import caller_token
from mcpagents.sign_in.options import OAuth, login_command
from mcpagents.sign_in.token_store import SignIn, SignInStore, default_store, expiry, server_key
from mcpagents.tls import tls_context

CALLERS_KEPT = 256
"""Tokens exchanged for callers' kept at most (the least recently made go first)."""


class SignedIn(httpx2.Auth):
    """Authenticates the requests to the server at `url` (named `server` in errors)."""

    def __init__(self, server: str, url: str, options: OAuth, store: SignInStore | None = None) -> None:
        self.server = server
        self.url = server_key(url)
        self.options = options
        self.store = store if store is not None else default_store()
        self._lock = anyio.Lock()
        self._own: SignIn | None = None
        """The token of a client with credentials of its own (kept in memory only)."""
        self._for_callers: OrderedDict[str, SignIn] = OrderedDict()
        """Tokens exchanged for callers' (`token_exchange`), by a digest of the caller's token,
        the most recently made last."""
        self._guard: Guard | None = None
        """The server's authorization server, once discovered (with credentials of the client's own)."""

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        try:
            sign_in = await self._current()
        except SignInRequired as error:
            _fail(error)
            yield request  # without a token: the server refuses it, its sender says why
            return
        request.headers["Authorization"] = f"Bearer {sign_in.tokens.access_token}"
        response = yield request
        if response.status_code == 401:
            await response.aread()
            try:
                sign_in = await self._after_refusal(sign_in, response)
            except SignInRequired as error:
                _fail(error)
                return
            request.headers["Authorization"] = f"Bearer {sign_in.tokens.access_token}"
            response = yield request
            if response.status_code == 401:
                _fail(
                    SignInRequired(
                        f"server {self.server!r} refused its access token even after renewing it"
                        f" ({_challenge(response)}): sign in again with `{login_command(self.url)}`",
                        server=self.server,
                    )
                )
        if (
            response.status_code == 403
            and extract_field_from_www_auth(response, "error") == "insufficient_scope"
        ):
            needed = extract_field_from_www_auth(response, "scope")
            _fail(
                SignInRequired(
                    f"server {self.server!r} needs more than the sign-in allows"
                    + (f" (scope {needed!r})" if needed else "")
                    + f": sign in again asking for it, `{login_command(self.url)} --scope ...`",
                    server=self.server,
                )
            )

    async def _current(self) -> SignIn:
        if self.options.token_file is not None:
            return self._issued_elsewhere(self.options.token_file)
        async with self._lock:
            sign_in = self._kept()
            if sign_in is None or sign_in.expired:
                sign_in = await self._renewed(sign_in)
            return sign_in

    def _kept(self) -> SignIn | None:
        """The sign-in a request made now would carry, if there is one yet."""
        if (subject := self._subject()) is not None:
            return self._for_callers.get(_digest(subject))
        if self.options.own_credentials:
            return self._own
        return self.store.load(self.url)

    def _subject(self) -> str | None:
        """The caller's token to exchange for this request's (`token_exchange`), if it is made for one."""
        return caller_token() if self.options.token_exchange else None

    async def _after_refusal(self, refused: SignIn, response: httpx2.Response) -> SignIn:
        if self.options.token_file is not None:
            raise SignInRequired(
                f"server {self.server!r} refused the token of {self.options.token_file}"
                f" ({_challenge(response)})",
                server=self.server,
            )
        async with self._lock:
            current = self._kept()
            if current is not None and current.tokens.access_token != refused.tokens.access_token:
                return current  # renewed meanwhile by another request
            if self.options.own_credentials:
                self._guard = None  # the server may have moved to another authorization server
                return await self._client_token(extract_resource_metadata_from_www_auth(response))
            if refused.tokens.refresh_token is None:
                raise SignInRequired(
                    f"server {self.server!r} refused its access token ({_challenge(response)}) and the"
                    f" sign-in cannot be renewed: sign in again with `{login_command(self.url)}`",
                    server=self.server,
                )
            return await self._renewed(refused)

    def _issued_elsewhere(self, path: str) -> SignIn:
        try:
            token = Path(path).expanduser().read_text().strip()
        except OSError as error:
            raise SignInRequired(
                f"the token file of server {self.server!r} cannot be read: {error}", server=self.server
            ) from None
        if not token:
            raise SignInRequired(
                f"the token file {path} of server {self.server!r} is empty", server=self.server
            )
        return SignIn(self.url, OAuthToken(access_token=token), None, None, "", "", self.url)

    async def _renewed(self, sign_in: SignIn | None) -> SignIn:
        if self.options.own_credentials:
            return await self._client_token(None)
        if sign_in is None:
            raise SignInRequired(
                f"server {self.server!r} ({self.url}) needs a sign-in: run `{login_command(self.url)}`",
                server=self.server,
            )
        if sign_in.tokens.refresh_token is None:
            raise SignInRequired(
                f"the sign-in to server {self.server!r} has expired: sign in again with"
                f" `{login_command(self.url)}`",
                server=self.server,
            )
        async with httpx2.AsyncClient(timeout=30, verify=tls_context()) as http:
            try:
                tokens = await token_requests.refresh(
                    http,
                    server=self.server,
                    endpoint=sign_in.token_endpoint,
                    refresh_token=sign_in.tokens.refresh_token,
                    resource=sign_in.resource,
                    client=sign_in.client,
                )
            except SignInRequired as error:
                raise SignInRequired(
                    f"the sign-in to server {self.server!r} has expired and could not be renewed ({error}):"
                    f" sign in again with `{login_command(self.url)}`",
                    server=self.server,
                ) from None
        renewed = sign_in.renewed(tokens)
        self.store.save(renewed)
        return renewed

    async def _client_token(self, resource_metadata: str | None) -> SignIn:
        """A token got with the client's own credentials: for itself (`client_credentials`), or
        exchanged for that of the caller it runs for (`token_exchange`)."""
        assert self.options.client_id is not None and self.options.client_secret is not None
        client = OAuthClientInformationFull(
            client_id=self.options.client_id,
            client_secret=self.options.client_secret,
            redirect_uris=None,
            token_endpoint_auth_method="client_secret_basic",
            grant_types=["client_credentials"],
        )
        subject = self._subject()
        async with httpx2.AsyncClient(timeout=30, verify=tls_context()) as http:
            if self._guard is None:
                self._guard = await discover(http, self.url, resource_metadata)
            guard = self._guard
            scope = self.options.scope or (" ".join(guard.scopes) or None)
            if subject is None:
                tokens = await token_requests.client_credentials(
                    http,
                    server=self.server,
                    endpoint=guard.token_endpoint,
                    resource=guard.resource,
                    scope=scope,
                    client=client,
                )
            else:
                try:
                    tokens = await token_requests.token_exchange(
                        http,
                        server=self.server,
                        endpoint=guard.token_endpoint,
                        subject_token=subject,
                        resource=guard.resource,
                        scope=scope,
                        client=client,
                    )
                except SignInRequired as error:
                    raise SignInRequired(
                        f"no token for server {self.server!r} in exchange for its caller's: {error}",
                        server=self.server,
                    ) from None
        sign_in = SignIn(
            self.url, tokens, expiry(tokens), client, guard.issuer, guard.token_endpoint, guard.resource
        )
        if subject is None:
            self._own = sign_in
        else:
            self._for_callers[_digest(subject)] = sign_in
            self._for_callers.move_to_end(_digest(subject))
            while len(self._for_callers) > CALLERS_KEPT:
                self._for_callers.popitem(last=False)
        return sign_in


def _fail(error: SignInRequired) -> None:
    """Tell the request's sender why it failed, or raise where no sender watches (connecting)."""
    if not refusals.tell(error):
        raise error


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _challenge(response: httpx2.Response) -> str:
    error = extract_field_from_www_auth(response, "error")
    description = extract_field_from_www_auth(response, "error_description")
    if error is None:
        return f"HTTP {response.status_code}"
    return error + (f": {description}" if description else "")
