"""Who calls a served agent: the identity a verified access token vouches for, and the key under
which what the caller starts is kept (conversations, tasks, runs waiting for their answers).

Without an authorization server (stdio, in-process, HTTP with a static token or none) every caller
is `ANONYMOUS`, whose key is the empty string: everything is shared as it always was, and whoever
knows an id reaches what it names. When the HTTP layer checked an access token, the call carries
its issuer and subject; what the caller starts is theirs, and their ids name nothing for anyone
else, exactly as ids never used do (nothing tells another caller that they exist).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken


@dataclass(frozen=True)
class Caller:
    """The issuer and subject of a caller's access token, and the client it came through."""

    issuer: str | None = None
    subject: str | None = None
    client_id: str | None = None
    access_token: str | None = field(default=None, repr=False, compare=False)
    """The token itself: what a run does for the caller down a chain may carry a token exchanged
    for it (`OAuth.token_exchange`); it is never sent on."""

    @classmethod
    def of(cls, token: AccessToken) -> Caller:
        issuer = (token.claims or {}).get("iss")
        return cls(
            issuer=issuer if isinstance(issuer, str) else None,
            subject=token.subject or token.client_id,
            client_id=token.client_id,
            access_token=token.token,
        )

    @property
    def anonymous(self) -> bool:
        return self.subject is None

    @property
    def key(self) -> str:
        """What the caller's conversations, tasks and held runs are kept under: "" for the anonymous
        caller; else issuer and subject as a JSON pair (a subject is unique only at its issuer).
        The client is not part of it: a person keeps their conversations from one MCP client to
        another, each of which acts for them with their consent."""
        return "" if self.anonymous else json.dumps([self.issuer, self.subject])


ANONYMOUS = Caller()

_OWNED = "\x1f"
"""Marks a stored key naming an owner's thing: no name of the anonymous caller's starts with it."""


def owned_name(owner: str, name: str) -> str:
    """One string for the thing `owner` (a `Caller.key`) calls `name` (a conversation id, a held
    run's token), for stores that key by one string (the file workers share). The anonymous
    caller's names are themselves, as stores written before callers had owners keep them; any other
    is the pair, marked so that no name can equal it (an anonymous name that starts with the mark
    is marked too)."""
    if owner == "" and not name.startswith(_OWNED):
        return name
    return _OWNED + json.dumps([owner, name])


def current_caller() -> Caller:
    """The caller of the request being handled: the one whose access token the HTTP layer accepted
    (the SDK hands it to request handlers), else `ANONYMOUS`."""
    token = get_access_token()
    return ANONYMOUS if token is None else Caller.of(token)
