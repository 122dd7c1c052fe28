"""What every checker of a protected resource's access tokens shares, whether it reads the token
itself (`jwt_verifier`) or asks the authorization server about it (`introspection`): the refusal
with its reason, the interface the guard calls, and how checked claims become the MCP SDK's
`AccessToken`. Sharing the last means a caller is the same caller (issuer, subject, client, scopes)
whichever checker vouched for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from mcp.server.auth.provider import AccessToken

from mcpagents.errors import MCPAgentsError

CLOCK_LEEWAY = 5.0
"""Seconds by which the clocks of this server and the authorization server may disagree: a token
is still accepted that long after its `exp`, and already that long before its `nbf`."""


class TokenRefused(MCPAgentsError):
    """An access token this server does not accept; the message says why, for the caller."""


class TokenChecker(Protocol):
    """The checker of one resource's access tokens: `check` says why it refuses a token (the guard's
    401 quotes it), and `verify_token`, inherited by checkers that subclass this, makes it the MCP
    SDK's `TokenVerifier` too."""

    async def check(self, token: str) -> AccessToken:
        """The grant of an acceptable `token`; `TokenRefused` saying why for any other, and
        `AuthorizationServerError` when the authorization server's help cannot be had."""
        ...

    async def verify_token(self, token: str) -> AccessToken | None:
        """The SDK's `TokenVerifier`: the token's grant, or None when it is refused (`check` says
        why). Raises `AuthorizationServerError` when the authorization server's help cannot be had."""
        try:
            return await self.check(token)
        except TokenRefused:
            return None


def check_audience(audience: object, resource: str) -> None:
    """`TokenRefused` unless `audience` (a token's `aud`: a string or a list of them) names
    `resource`, with or without a trailing slash."""
    if audience is None:
        raise TokenRefused(f"the access token names no audience (aud); this resource is {resource}")
    bare = resource.rstrip("/")
    named = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if not any(name in (bare, f"{bare}/") for name in named):
        raise TokenRefused(f"the access token is for {audience!r}, not for this resource ({resource})")


def grant(token: str, claims: dict[str, Any], resource: str) -> AccessToken:
    """The SDK's `AccessToken` for `token`, from its checked `claims` (`iss` among them: callers are
    known by issuer and subject). It acts for its subject (`sub`), else for its client (`client_id`
    or `azp`), as a client credentials token does."""
    subject, client = claims.get("sub"), claims.get("client_id", claims.get("azp"))
    subject = subject if isinstance(subject, str) and subject else None
    client = client if isinstance(client, str) and client else None
    principal = subject or client
    if principal is None:
        raise TokenRefused("the access token names neither a subject (sub) nor a client (client_id)")
    expires = claims.get("exp")
    return AccessToken(
        token=token,
        client_id=client or principal,
        scopes=scopes_of(claims),
        expires_at=int(expires) if isinstance(expires, int | float) else None,
        resource=resource,
        subject=principal,
        claims=claims,
    )


def scopes_of(claims: Mapping[str, Any]) -> list[str]:
    """The scopes a token grants: `scope` (space-separated) or `scp` (a list, or space-separated)."""
    granted = claims.get("scope", claims.get("scp"))
    if isinstance(granted, str):
        return granted.split()
    if isinstance(granted, list):
        return [scope for scope in granted if isinstance(scope, str)]
    return []
