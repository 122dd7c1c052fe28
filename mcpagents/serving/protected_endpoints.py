"""The endpoints of served agents as OAuth protected resources, when the server takes the access
tokens of an authorization server (`ServerSettings.oauth_issuer`).

Each endpoint is a resource of its own, named by its URL: a token for `http://host:port/helper/mcp`
opens that endpoint, not `/converter/mcp` (a legacy `/sse` endpoint and its `/messages/` are one
resource, the `/sse` URL). With `resource_url` the whole server is one resource instead, and one
token opens every endpoint. Each resource's metadata is served at its RFC 9728 location,
`/.well-known/oauth-protected-resource/<path>`; `/health` stays open.
"""

from __future__ import annotations

from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from mcpagents.http_server.issuer_keys import IssuerKeys
from mcpagents.http_server.jwt_verifier import JwtVerifier
from mcpagents.http_server.protected_resource import ProtectedResource, ResourceGuard
from mcpagents.serving.settings import ServerSettings


class ProtectedEndpoints:
    """Guards for the endpoints of one app, sharing the authorization server's keys."""

    def __init__(self, settings: ServerSettings, issuer: str) -> None:
        self.settings = settings
        self.keys = IssuerKeys(issuer)
        self._resources: dict[str, tuple[ProtectedResource, JwtVerifier]] = {}

    def guard(self, app: ASGIApp, path: str, name: str) -> ResourceGuard:
        """`app`, serving the agent `name` at `path`, behind the guard of the resource it is."""
        url = self.settings.resource_of(path)
        if url not in self._resources:
            shown = name if self.settings.resource_url is None else None  # one resource: all agents
            resource = ProtectedResource(url, self.keys.issuer, tuple(self.settings.required_scopes), shown)
            self._resources[url] = (resource, JwtVerifier(self.keys, url))
        return ResourceGuard(app, *self._resources[url])

    def metadata_routes(self) -> list[BaseRoute]:
        """The metadata of every resource guarded so far."""
        return [route for resource, _ in self._resources.values() for route in resource.metadata_routes()]
