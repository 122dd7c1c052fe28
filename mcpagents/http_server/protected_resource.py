"""An HTTP endpoint as an OAuth 2.0 protected resource: the metadata that tells clients where to get
a token for it (RFC 9728), and the guard that answers requests without a fitting one (RFC 6750).

The guard is the SDK's `RequireAuthMiddleware` with what it lacks for this server: it says *why* a
token was refused (`error_description`: expired, for another resource, from another issuer...),
answers a request that carries no token without an error code (RFC 6750 §3.1), names the scopes
it requires in every challenge (`scope=`, which clients use to ask for the right ones, step-up
after a 403 included), and answers 503 rather than 401 when the authorization server's keys, or
its introspection endpoint, cannot be had, so that clients do not sign in again for nothing. An
accepted request goes on with the SDK's `AuthenticatedUser` in `scope["user"]` and in
`get_access_token()`, as the SDK's own middleware leaves it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import cast

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from pydantic import AnyHttpUrl
from starlette.authentication import AuthCredentials
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mcpagents.http_server.access_tokens import TokenChecker, TokenRefused
from mcpagents.http_server.issuer_keys import AuthorizationServerError

logger = logging.getLogger("mcpagents.http_server")

_UNQUOTABLE = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
"""What RFC 6750 does not allow in a challenge's quoted values: quotes, backslashes, control and
non-ASCII characters (a refusal may quote what the token says)."""


@dataclass(frozen=True)
class ProtectedResource:
    """The resource at `url` (what tokens' audience must name), whose tokens `issuer` issues, each
    granting every scope of `required_scopes`."""

    url: str
    issuer: str
    required_scopes: tuple[str, ...] = ()
    name: str | None = None
    """For people reading the metadata (`resource_name`)."""

    @property
    def metadata_url(self) -> str:
        """Where its metadata is: `/.well-known/oauth-protected-resource` then the resource's path."""
        return str(build_resource_metadata_url(cast(AnyHttpUrl, self.url)))

    def metadata_routes(self) -> list[Route]:
        """The route serving its metadata (with CORS, for browser clients)."""
        # Both URLs go in as written: the metadata model keeps them so, whereas `AnyHttpUrl(...)`
        # would give a bare origin a trailing slash, and clients compare the issuer exactly.
        return create_protected_resource_routes(
            resource_url=cast(AnyHttpUrl, self.url),
            authorization_servers=[cast(AnyHttpUrl, self.issuer)],
            scopes_supported=list(self.required_scopes) or None,
            resource_name=self.name,
        )


class ResourceGuard:
    """ASGI middleware letting through to `app` only requests whose bearer token `verifier` accepts
    and that grant the resource's required scopes."""

    def __init__(self, app: ASGIApp, resource: ProtectedResource, verifier: TokenChecker) -> None:
        self.app = AuthContextMiddleware(app)
        self.resource = resource
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scheme, _, token = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await self._challenge(401, None, "this resource needs an OAuth access token")(
                scope, receive, send
            )
            return
        try:
            access = await self.verifier.check(token.strip())
        except TokenRefused as refusal:
            await self._challenge(401, "invalid_token", str(refusal))(scope, receive, send)
            return
        except AuthorizationServerError as error:
            logger.warning("cannot check access tokens: %s", error)
            unavailable = PlainTextResponse(
                f"cannot check access tokens now: {error}", status_code=503, headers={"Retry-After": "30"}
            )
            await unavailable(scope, receive, send)
            return
        missing = [wanted for wanted in self.resource.required_scopes if wanted not in access.scopes]
        if missing:
            description = f"the access token does not grant the scope {' '.join(missing)}"
            await self._challenge(403, "insufficient_scope", description)(scope, receive, send)
            return
        scope["user"] = AuthenticatedUser(access)
        scope["auth"] = AuthCredentials(access.scopes)
        await self.app(scope, receive, send)

    def _challenge(self, status: int, error: str | None, description: str) -> JSONResponse:
        """The answer to a request without a fitting token: `WWW-Authenticate: Bearer ...` naming
        the error (none when no token was sent), the resource's metadata and its required scopes."""
        parameters = {"error": error, "error_description": description if error else None}
        parameters["resource_metadata"] = self.resource.metadata_url
        if self.resource.required_scopes:
            parameters["scope"] = " ".join(self.resource.required_scopes)
        challenge = ", ".join(
            f'{name}="{_UNQUOTABLE.sub("?", value)[:300]}"' for name, value in parameters.items() if value
        )
        body = (
            {"error": error, "error_description": description}
            if error
            else {"error_description": description}
        )
        return JSONResponse(
            body,
            status_code=status,
            headers={"WWW-Authenticate": f"Bearer {challenge}"},
        )
