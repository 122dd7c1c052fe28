"""Access tokens that are JSON Web Tokens signed by a trusted authorization server (RFC 9068),
checked for one protected resource: an MCP SDK `TokenVerifier` that can also say why it refuses.

A token is accepted when its signature verifies with a key its issuer publishes (public-key
algorithms only), its `iss` is the issuer exactly, its `aud` names the resource, and its `exp`
has not passed (nor its `nbf` and `iat` come), give or take `CLOCK_LEEWAY` seconds. Its scopes
come from `scope` (space-separated, RFC 9068) or `scp` (a list or a string, as some servers write
it); whether they suffice is for the caller of `check` to decide (the answer then is 403, not 401).
"""

from __future__ import annotations

import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)
from mcp.server.auth.provider import AccessToken

from mcpagents.http_server.access_tokens import (
    CLOCK_LEEWAY,
    TokenChecker,
    TokenRefused,
    check_audience,
    grant,
)
from mcpagents.http_server.issuer_keys import IssuerKeys

ACCEPTED_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
"""Signatures made with a private key. A token names its own algorithm: accepting a shared-secret
one (HS256) or `none` would let a token signed with the public key, or not at all, pass."""


class JwtVerifier(TokenChecker):
    """The verifier of the tokens `keys.issuer` issues for the resource at `resource` (the URL the
    tokens' audience must name; the same URL with or without a trailing slash passes)."""

    def __init__(self, keys: IssuerKeys, resource: str, *, leeway: float = CLOCK_LEEWAY) -> None:
        self.keys = keys
        self.resource = resource
        self.leeway = leeway

    async def check(self, token: str) -> AccessToken:
        """The grant of an acceptable `token`; `TokenRefused` saying why for any other, and
        `AuthorizationServerError` when the issuer's keys cannot be had."""
        issuer = self.keys.issuer
        try:
            header = jwt.get_unverified_header(token)
            claimed = jwt.decode(token, options={"verify_signature": False})
        except PyJWTError:
            raise TokenRefused(
                f"the access token is not a JWT; this server takes the JWTs {issuer} issues"
            ) from None
        # Read unverified only to refuse early, with a reason, and without fetching keys for it.
        if claimed.get("iss") != issuer:
            raise TokenRefused(f"the access token was issued by {claimed.get('iss')!r}, not by {issuer}")
        algorithm = header.get("alg")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise TokenRefused(
                f"the access token is signed with {algorithm!r}, which this server does not accept"
            )
        key = await self.keys.key(header.get("kid"))
        if key is None:
            raise TokenRefused(f"the access token is signed with a key {issuer} does not publish")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ACCEPTED_ALGORITHMS,
                issuer=issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"], "verify_aud": False},  # checked below
            )
        except ExpiredSignatureError:
            raise TokenRefused("the access token has expired") from None
        except ImmatureSignatureError:
            raise TokenRefused("the access token is not valid yet") from None
        except MissingRequiredClaimError as error:
            raise TokenRefused(f"the access token has no {error.claim!r} claim") from None
        except InvalidSignatureError:
            raise TokenRefused("the access token's signature does not verify") from None
        except PyJWTError as error:
            raise TokenRefused(f"the access token is invalid: {error}") from None
        check_audience(claims["aud"], self.resource)
        return grant(token, claims, self.resource)
