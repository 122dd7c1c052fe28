"""The public signing keys of an OAuth authorization server, found through its metadata and kept.

A server that accepts an authorization server's access tokens checks their signatures with the JWK
set at the `jwks_uri` of the authorization server's metadata (RFC 8414, or OpenID Connect
discovery). Both are fetched when the first token arrives, not at startup, so that a server can
start while its authorization server is briefly away. They are fetched again

* when a token names a key the set lacks (the authorization server rotated its keys), at most once
  per `refetch_interval`: tokens naming made-up keys cannot make this server hammer the
  authorization server;
* when the set is older than `max_age`, so that a withdrawn key stops being accepted.

A failed fetch keeps the keys already held; with none, tokens cannot be checked until one succeeds.
The metadata's discovery (`issuer_metadata`) also serves `introspection`, which looks up another
endpoint there.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWTError

from mcpagents.errors import MCPAgentsError
from mcpagents.tls import tls_context

logger = logging.getLogger("mcpagents.http_server")

_NOT_HERE = frozenset({400, 404, 405})
"""Answers to a metadata location that mean "try the next one" rather than "the server failed"."""


class AuthorizationServerError(MCPAgentsError):
    """The authorization server's metadata or keys could not be fetched or read: its tokens cannot
    be checked until it answers."""


class IssuerKeys:
    """The keys of the authorization server whose issuer URL is `issuer` (compared exactly, as
    RFC 8414 asks: a trailing slash makes another issuer)."""

    def __init__(
        self,
        issuer: str,
        *,
        max_age: float = 3600.0,
        refetch_interval: float = 30.0,
        timeout: float = 10.0,
    ) -> None:
        self.issuer = issuer
        self.max_age = max_age
        self.refetch_interval = refetch_interval
        self.timeout = timeout
        self._keys: PyJWKSet | None = None
        self._fetched_at = 0.0
        self._tried_at: float | None = None
        self._failure: AuthorizationServerError | None = None
        self._lock = anyio.Lock()

    async def key(self, kid: str | None) -> PyJWK | None:
        """The signing key named `kid` (None: the set's only signing key), or None when the
        authorization server does not publish it. Raises `AuthorizationServerError` when no keys
        could be had."""
        async with self._lock:  # one fetch at a time: the others wait for its keys
            if self._keys is None or anyio.current_time() - self._fetched_at > self.max_age:
                await self._refresh()
            found = self._find(kid)
            if found is None:
                await self._refresh()
                found = self._find(kid)
            return found

    def _find(self, kid: str | None) -> PyJWK | None:
        assert self._keys is not None
        signing = [key for key in self._keys.keys if key.public_key_use in (None, "sig")]
        if kid is None:
            return signing[0] if len(signing) == 1 else None
        return next((key for key in signing if key.key_id == kid), None)

    async def _refresh(self) -> None:
        """Fetch the keys again, unless they were tried within `refetch_interval`."""
        now = anyio.current_time()
        if self._tried_at is not None and now - self._tried_at < self.refetch_interval:
            if self._keys is None:
                raise AuthorizationServerError(str(self._failure))
            return
        self._tried_at = now
        try:
            self._keys = await self._fetch()
        except AuthorizationServerError as error:
            self._failure = error
            if self._keys is None:
                raise
            logger.warning("%s; still using its keys of %.0f s ago", error, now - self._fetched_at)
            return
        self._fetched_at = now

    async def _fetch(self) -> PyJWKSet:
        async with httpx2.AsyncClient(timeout=self.timeout, verify=tls_context()) as client:
            metadata = await issuer_metadata(client, self.issuer)
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise AuthorizationServerError(
                    f"the metadata of the authorization server {self.issuer} names no jwks_uri,"
                    " so the signatures of its tokens cannot be checked"
                )
            response = await ask(client, self.issuer, "GET", jwks_uri)
            if response.status_code != 200:
                raise AuthorizationServerError(
                    f"the authorization server {self.issuer} answered {response.status_code} for its"
                    f" keys at {jwks_uri}"
                )
            try:
                return PyJWKSet.from_dict(response.json())
            except (ValueError, PyJWTError) as error:
                raise AuthorizationServerError(
                    f"the keys of the authorization server {self.issuer} at {jwks_uri} are unusable: {error}"
                ) from error


async def issuer_metadata(client: httpx2.AsyncClient, issuer: str) -> dict[str, Any]:
    """The metadata of the authorization server `issuer`: the first document found at
    `metadata_urls(issuer)`, which must name this issuer exactly."""
    for url in metadata_urls(issuer):
        response = await ask(client, issuer, "GET", url)
        if response.status_code in _NOT_HERE:
            continue
        try:
            metadata = response.json() if response.status_code == 200 else None
        except ValueError:
            metadata = None
        if not isinstance(metadata, dict):
            raise AuthorizationServerError(
                f"the authorization server {issuer} answered {response.status_code} without"
                f" JSON metadata at {url}"
            )
        if metadata.get("issuer") != issuer:
            raise AuthorizationServerError(
                f"the metadata at {url} is that of the issuer {metadata.get('issuer')!r}, not"
                f" {issuer!r}: give the issuer URL exactly as the authorization server names"
                " itself (a trailing slash counts)"
            )
        return metadata
    raise AuthorizationServerError(
        f"the authorization server {issuer} publishes no metadata (tried"
        f" {', '.join(metadata_urls(issuer))}): is this its issuer URL?"
    )


async def ask(
    client: httpx2.AsyncClient, issuer: str, method: str, url: str, **options: Any
) -> httpx2.Response:
    """`client.request(method, url, **options)` for JSON from the authorization server `issuer`;
    a failure to get any answer (unreachable, timed out) raised as `AuthorizationServerError`."""
    try:
        return await client.request(method, url, headers={"Accept": "application/json"}, **options)
    except httpx2.HTTPError as error:
        reason = str(error) or type(error).__name__
        raise AuthorizationServerError(
            f"cannot reach the authorization server {issuer} ({url}): {reason}"
        ) from error


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be, in the order the MCP authorization spec tries them:
    RFC 8414's location, then OpenID Connect's (for an issuer with a path, both with the path after
    the well-known part, then OpenID Connect's with it before)."""
    parts = urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    urls = [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]
    return list(dict.fromkeys(urls))
