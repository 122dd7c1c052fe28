"""Which authorization server guards an MCP server, and where it takes requests: the protected
resource metadata (RFC 9728) names it, its own metadata (RFC 8414, or OpenID discovery) says the
rest. The URLs tried are the MCP SDK's, in its order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import httpx2
from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    build_protected_resource_metadata_discovery_urls,
)
from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata
from pydantic import ValidationError

from mcpagents.errors import SignInRequired

M = TypeVar("M", ProtectedResourceMetadata, OAuthMetadata)


@dataclass(frozen=True)
class Guard:
    """The authorization server of a resource, and the resource's name for itself."""

    resource: str
    metadata: OAuthMetadata
    scopes: tuple[str, ...]
    """The scopes the resource says it knows (the default to ask for)."""

    @property
    def issuer(self) -> str:
        return str(self.metadata.issuer)

    @property
    def token_endpoint(self) -> str:
        return str(self.metadata.token_endpoint)


async def discover(http: httpx2.AsyncClient, server: str, resource_metadata: str | None = None) -> Guard:
    """The guard of `server`; `resource_metadata` is the URL its 401 named, when it named one."""
    resource = await _first(
        http,
        server,
        build_protected_resource_metadata_discovery_urls(resource_metadata, server),
        ProtectedResourceMetadata,
    )
    if resource is None or not resource.authorization_servers:
        raise SignInRequired(
            f"{server} names no authorization server (no OAuth protected resource metadata at"
            f" {server}'s /.well-known/oauth-protected-resource): it cannot be signed in to with OAuth",
            server=server,
        )
    issuer = str(resource.authorization_servers[0])
    metadata = await _first(
        http, server, build_oauth_authorization_server_metadata_discovery_urls(issuer, server), OAuthMetadata
    )
    if metadata is None:
        raise SignInRequired(
            f"the authorization server {issuer} of {server} publishes no OAuth metadata", server=server
        )
    if str(metadata.issuer).rstrip("/") != issuer.rstrip("/"):
        raise SignInRequired(
            f"the authorization server of {server} calls itself {metadata.issuer}, not {issuer}: refused",
            server=server,
        )
    return Guard(str(resource.resource), metadata, tuple(resource.scopes_supported or ()))


async def _first(http: httpx2.AsyncClient, server: str, urls: list[str], model: type[M]) -> M | None:
    for url in urls:
        try:
            response = await http.get(url)
        except httpx2.TransportError as error:
            raise SignInRequired(f"{url} is unreachable: {error}", server=server) from None
        if response.status_code == 200:
            try:
                return model.model_validate_json(response.content)
            except ValidationError:
                continue
    return None
