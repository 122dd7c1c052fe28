"""Access tokens checked by asking the authorization server that issued them (RFC 7662 token
introspection), for one protected resource: the only check of an opaque token, which only its
issuer can read, and the one that sees a revoked token at once, when a JWT's signature would pass
until it expires.

Each token is POSTed to the `introspection_endpoint` of the issuer's metadata, with the credentials
of this server's own client there (HTTP Basic), on every request. Nothing is cached, so that a
token revoked, or a grant withdrawn, is refused from the next request on; the price is one request
to the authorization server per request to the resource. Only the endpoint's URL is kept, once the
metadata gave it.

A token is accepted when the answer says it is `active`, is a bearer token (if it says which type),
was issued by the issuer (if it names one), its `aud` names the resource (required: an answer
without one would take a token meant for any resource), and its `exp` (if any) has not passed,
give or take `CLOCK_LEEWAY` seconds. Scopes, subject and client are read from the answer as
`JwtVerifier` reads them from a JWT's claims.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import anyio
import httpx2
from mcp.server.auth.provider import AccessToken

from mcpagents.http_server.access_tokens import (
    CLOCK_LEEWAY,
    TokenChecker,
    TokenRefused,
    check_audience,
    grant,
)
from mcpagents.http_server.issuer_keys import AuthorizationServerError, ask, issuer_metadata
from mcpagents.tls import tls_context


class TokenIntrospection:
    """The introspection endpoint of the authorization server `issuer` (its issuer URL, exactly),
    asked as the client `client_id` registered there. Each question gets `timeout` seconds in all
    (the first one's metadata lookup included): a caller waits at most that long for a refusal."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, *, timeout: float = 10.0) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.timeout = timeout
        # RFC 6749 §2.3.1: both are form-encoded before they go into the Basic credentials.
        self._credentials = (quote(client_id, safe=""), quote(client_secret, safe=""))
        self._endpoint: str | None = None

    async def answer(self, token: str) -> dict[str, Any]:
        """What the authorization server says of `token` (`active` and, if so, its claims).
        `TokenRefused` when it will not say, for this token; `AuthorizationServerError` when it cannot
        be asked, or refuses to answer this server."""
        try:
            with anyio.fail_after(self.timeout):
                response = await self._post(token)
        except TimeoutError:
            raise AuthorizationServerError(
                f"the authorization server {self.issuer} did not answer within {self.timeout:g} s"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code == 200 and isinstance(answer, dict):
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        if response.status_code in (401, 403) or error == "invalid_client":
            raise AuthorizationServerError(
                f"the authorization server {self.issuer} refuses this server's client {self.client_id!r}"
                f" at its introspection endpoint ({response.status_code}): check the client id and"
                " secret this server introspects with (--oauth-client-id, $MCPAGENTS_OAUTH_CLIENT_SECRET)"
            )
        if response.status_code == 400 and isinstance(answer, dict):  # about the token, e.g. its type
            described = answer.get("error_description") or error
            raise TokenRefused(
                f"the authorization server {self.issuer} will not introspect the access token: {described}"
            )
        raise AuthorizationServerError(
            f"the authorization server {self.issuer} answered {response.status_code} at its"
            f" introspection endpoint {self._endpoint}"
        )

    async def _post(self, token: str) -> httpx2.Response:
        async with httpx2.AsyncClient(timeout=self.timeout, verify=tls_context()) as client:
            if self._endpoint is None:
                self._endpoint = self._endpoint_in(await issuer_metadata(client, self.issuer))
            return await ask(
                client,
                self.issuer,
                "POST",
                self._endpoint,
                data={"token": token, "token_type_hint": "access_token"},
                auth=self._credentials,
            )

    def _endpoint_in(self, metadata: dict[str, Any]) -> str:
        endpoint = metadata.get("introspection_endpoint")
        if not isinstance(endpoint, str):
            raise AuthorizationServerError(
                f"the metadata of the authorization server {self.issuer} names no introspection_endpoint:"
                " it does not introspect tokens (without --oauth-introspection, its JWTs are checked here)"
            )
        return endpoint


class IntrospectionVerifier(TokenChecker):
    """The verifier of the tokens `introspection.issuer` issues for the resource at `resource` (the
    URL their audience must name; the same URL with or without a trailing slash passes)."""

    def __init__(
        self, introspection: TokenIntrospection, resource: str, *, leeway: float = CLOCK_LEEWAY
    ) -> None:
        self.introspection = introspection
        self.resource = resource
        self.leeway = leeway

    async def check(self, token: str) -> AccessToken:
        """The grant of a `token` the authorization server vouches for; `TokenRefused` saying why for
        any other, and `AuthorizationServerError` when it cannot be asked."""
        issuer = self.introspection.issuer
        claims = await self.introspection.answer(token)
        if claims.get("active") is not True:
            raise TokenRefused(
                f"the access token is not active: {issuer} says it has expired, was revoked, or is not one"
                " of its tokens"
            )
        kind = claims.get("token_type")
        if kind is not None and str(kind).lower() != "bearer":
            raise TokenRefused(f"the token is a {kind!r} token, not a bearer access token")
        if claims.setdefault("iss", issuer) != issuer:
            raise TokenRefused(f"the access token was issued by {claims['iss']!r}, not by {issuer}")
        check_audience(claims.get("aud"), self.resource)
        expires = claims.get("exp")
        if expires is not None and not isinstance(expires, int | float):
            raise TokenRefused(f"{issuer} gives the access token an unreadable expiry, exp={expires!r}")
        if expires is not None and expires + self.leeway < time.time():
            raise TokenRefused("the access token has expired")
        return grant(token, claims, self.resource)
