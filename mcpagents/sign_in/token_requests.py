"""Requests to an authorization server's token endpoint: renewing a sign-in (`refresh_token`), a
client's own token (`client_credentials`) and a token for the caller a client acts for (token
exchange, RFC 8693), each for one resource (RFC 8707).

The MCP SDK's provider refreshes only tokens it obtained in the same process, and sends the refresh
to the MCP server's origin when it has not discovered the authorization server yet (python-sdk
#3250): a sign-in kept on disk is renewed here instead, at the endpoint recorded when it was made.
"""

from __future__ import annotations

import httpx2
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import ValidationError

from mcpagents.errors import SignInRequired


async def refresh(
    http: httpx2.AsyncClient,
    *,
    server: str,
    endpoint: str,
    refresh_token: str,
    resource: str,
    client: OAuthClientInformationFull | None,
) -> OAuthToken:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "resource": resource}
    return await _token(http, server, endpoint, form, client)


async def client_credentials(
    http: httpx2.AsyncClient,
    *,
    server: str,
    endpoint: str,
    resource: str,
    scope: str | None,
    client: OAuthClientInformationFull,
) -> OAuthToken:
    form = {"grant_type": "client_credentials", "resource": resource}
    if scope:
        form["scope"] = scope
    return await _token(http, server, endpoint, form, client)


TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


async def token_exchange(
    http: httpx2.AsyncClient,
    *,
    server: str,
    endpoint: str,
    subject_token: str,
    resource: str,
    scope: str | None,
    client: OAuthClientInformationFull,
) -> OAuthToken:
    """An access token for `resource` that names the subject of `subject_token` (an access token
    this client was given), the client acting for them."""
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "requested_token_type": ACCESS_TOKEN_TYPE,
        "resource": resource,
    }
    if scope:
        form["scope"] = scope
    return await _token(http, server, endpoint, form, client)


async def _token(
    http: httpx2.AsyncClient,
    server: str,
    endpoint: str,
    form: dict[str, str],
    client: OAuthClientInformationFull | None,
) -> OAuthToken:
    auth: httpx2.Auth | None = None
    if (
        client is not None
        and client.client_secret
        and client.token_endpoint_auth_method != "client_secret_post"
    ):
        auth = httpx2.BasicAuth(client.client_id, client.client_secret)
    elif client is not None:
        form = {**form, "client_id": client.client_id}
        if client.client_secret:
            form["client_secret"] = client.client_secret
    try:
        response = await http.post(endpoint, data=form, auth=auth or httpx2.USE_CLIENT_DEFAULT)
    except httpx2.TransportError as error:
        raise SignInRequired(
            f"the authorization server of {server!r} is unreachable: {error}", server=server
        ) from None
    if response.status_code != 200:
        grant = form["grant_type"].rsplit(":", 1)[-1]
        raise SignInRequired(
            f"the authorization server of {server!r} refused a {grant} request: {_reason(response)}",
            server=server,
        )
    try:
        return OAuthToken.model_validate_json(response.content)
    except ValidationError as error:
        raise SignInRequired(
            f"the authorization server of {server!r} answered a token request with no usable token: {error}",
            server=server,
        ) from None


def _reason(response: httpx2.Response) -> str:
    try:
        said = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(said, dict) and "error" in said:
        description = said.get("error_description")
        return f"{said['error']}" + (f" ({description})" if description else "")
    return f"HTTP {response.status_code}"
