"""Signing in to a server, once, with a person at a browser (what `mcpagents login` runs).

The MCP SDK's OAuth provider does the protocol: the server's 401 and its protected resource
metadata, the authorization server's metadata, the client's registration (dynamic, or a client ID
metadata document) unless one was registered beforehand, PKCE, `state`, the `resource` parameter,
the code exchange. Around it: the loopback address the browser comes back to, the address shown
(and opened), and the sign-in kept in the user's store (`default_store`) with what renewing it needs.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
from typing import Literal

import anyio
import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.utils import extract_resource_metadata_from_www_auth
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

from mcpagents.errors import SignInRequired, UsageError
from mcpagents.sign_in.discovery import discover
from mcpagents.sign_in.loopback import callback
from mcpagents.sign_in.options import OAuth
from mcpagents.sign_in.token_store import SignIn, SignInStore, default_store, expiry, server_key

SIGN_IN_WAIT = 300.0
"""Seconds the person has to finish signing in in the browser."""
_PING = {"jsonrpc": "2.0", "id": 0, "method": "ping"}
_ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def sign_in(
    url: str,
    options: OAuth | None = None,
    *,
    store: SignInStore | None = None,
    open_browser: bool = True,
    announce: Callable[[str], None] = print,
    wait: float = SIGN_IN_WAIT,
) -> SignIn:
    """Sign in to the MCP server at `url` and keep the sign-in in `store`: `announce` is told the
    address to open (which `open_browser` also opens in this machine's browser)."""
    options = options or OAuth()
    store = store if store is not None else default_store()
    url = server_key(url)
    if options.own_credentials:
        raise UsageError(
            f"{url} signs in with its client's own credentials (client_credentials or token_exchange):"
            " there is nothing to log in to; its tokens are fetched when they are used"
        )
    async with httpx2.AsyncClient(timeout=30) as http:
        try:
            first = await http.post(url, json=_PING, headers=_ACCEPT)
        except httpx2.TransportError as error:
            raise SignInRequired(f"{url} is unreachable: {error}", server=url) from None
        if first.status_code != 401:
            raise UsageError(
                f"{url} answered HTTP {first.status_code} without a token: it asks for no sign-in"
            )
        guard = await discover(http, url, extract_resource_metadata_from_www_auth(first))
    kept = MemoryStorage()
    async with callback(url, options.callback_port) as browser:
        metadata = OAuthClientMetadata(
            redirect_uris=[AnyUrl(browser.redirect_uri)],
            client_name="mcpagents",
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method=_client_auth(options),
            scope=options.scope,
        )
        if options.client_id is not None:
            kept.client = OAuthClientInformationFull(
                **metadata.model_dump(exclude={"token_endpoint_auth_method"}),
                token_endpoint_auth_method=_client_auth(options),
                client_id=options.client_id,
                client_secret=options.client_secret,
            )

        async def show(address: str) -> None:
            announce(f"To sign in to {url}, open this address in a browser:\n{address}")
            if open_browser:
                webbrowser.open(address)

        async def came_back() -> AuthorizationCodeResult:
            with anyio.fail_after(wait):
                return await browser.result()

        provider = OAuthClientProvider(
            url,
            metadata,
            kept,
            redirect_handler=show,
            callback_handler=came_back,
            client_metadata_url=options.client_metadata_url,
        )
        async with httpx2.AsyncClient(timeout=30, auth=provider) as http:
            try:
                await http.post(url, json=_PING, headers=_ACCEPT)
            except TimeoutError:
                raise SignInRequired(
                    f"nobody finished signing in to {url} within {wait:g} s", server=url
                ) from None
    if kept.tokens is None:
        raise SignInRequired(f"signing in to {url} brought no token", server=url)
    done = SignIn(
        url, kept.tokens, expiry(kept.tokens), kept.client, guard.issuer, guard.token_endpoint, guard.resource
    )
    store.save(done)
    return done


def _client_auth(options: OAuth) -> Literal["none", "client_secret_basic"]:
    return "client_secret_basic" if options.client_secret else "none"


class MemoryStorage:
    """An SDK `TokenStorage` in memory: the provider's during one sign-in (what is kept afterwards
    is a `SignIn`)."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info
