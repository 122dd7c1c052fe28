"""The endpoints of served agents as OAuth protected resources, when the server takes the access
tokens of an authorization server (`ServerSettings.oauth_issuer`).

Each endpoint is a resource of its own, named by its URL: a token for `http://host:port/helper/mcp`
opens that endpoint, not `/converter/mcp` (a legacy `/sse` endpoint and its `/messages/` are one
resource, the `/sse` URL). With `resource_url` the whole server is one resource instead, and one
token opens every endpoint. Each resource's metadata is served at its RFC 9728 location,
`/.well-known/oauth-protected-resource/<path>`; `/health` stays open.

Tokens are JWTs checked here against the issuer's keys, or, with `oauth_introspection`, whatever
the authorization server says of them when asked (`introspection`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from mcpagents.http_server.access_tokens import TokenChecker
from mcpagents.http_server.introspection import IntrospectionVerifier, TokenIntrospection
from mcpagents.http_server.issuer_keys import IssuerKeys
from mcpagents.http_server.jwt_verifier import JwtVerifier
from mcpagents.http_server.protected_resource import ProtectedResource, ResourceGuard
from mcpagents.serving.settings import ServerSettings


class ProtectedEndpoints:
    """Guards for the endpoints of one app, sharing the authorization server's keys (or its
    introspection endpoint)."""

    def __init__(self, settings: ServerSettings, issuer: str) -> None:
        self.settings = settings
        self.issuer = issuer
        self._checker: Callable[[str], TokenChecker]  # of the tokens for one resource
        if settings.oauth_introspection:
            assert settings.oauth_client_id and settings.oauth_client_secret  # the settings check them
            introspection = TokenIntrospection(issuer, settings.oauth_client_id, settings.oauth_client_secret)
            self._checker = partial(IntrospectionVerifier, introspection)
        else:
            self._checker = partial(JwtVerifier, IssuerKeys(issuer))
        self._resources: dict[str, tuple[ProtectedResource, TokenChecker]] = {}

    def guard(self, app: ASGIApp, path: str, name: str) -> ResourceGuard:
        """`app`, serving the agent `name` at `path`, behind the guard of the resource it is."""
        url = self.settings.resource_of(path)
        if url not in self._resources:
            shown = name if self.settings.resource_url is None else None  # one resource: all agents
            resource = ProtectedResource(url, self.issuer, tuple(self.settings.required_scopes), shown)
            self._resources[url] = (resource, self._checker(url))
        return ResourceGuard(app, *self._resources[url])

    def metadata_routes(self) -> list[BaseRoute]:
        """The metadata of every resource guarded so far."""
        return [route for resource, _ in self._resources.values() for route in resource.metadata_routes()]
