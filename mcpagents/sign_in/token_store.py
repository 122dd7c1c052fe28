"""Where sign-ins are kept: per user and per server, in the OS keyring when there is one
(`keyring_store`), else in files only the user may read (0600 in a 0700 directory, under the user's
config directory). `default_store` makes that choice; `$MCPAGENTS_SIGN_IN_STORE` overrides it.

A sign-in holds the tokens, when the access token expires (as a time, not the relative
`expires_in`, so that a later process knows), the client the authorization server knows us as, and
where that server takes refresh requests.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from mcpagents.errors import ConfigError

DIRECTORY_VARIABLE = "MCPAGENTS_SIGN_IN_DIR"
STORE_VARIABLE = "MCPAGENTS_SIGN_IN_STORE"
STORES = ("keyring", "file")
"""The values `$MCPAGENTS_SIGN_IN_STORE` takes; unset, the keyring when there is one, else files."""


@dataclass(frozen=True)
class SignIn:
    """One user's sign-in to one server."""

    server: str
    """The server's URL (what the sign-in is for)."""
    tokens: OAuthToken
    expires_at: float | None
    """When the access token expires (Unix time), when the server said."""
    client: OAuthClientInformationFull | None
    issuer: str
    token_endpoint: str
    resource: str
    """The resource the tokens are for (RFC 8707), asked again on each refresh."""

    @property
    def expired(self) -> bool:
        """Expired, or about to: within a quarter of its lifetime, at most 30 s, so that a request
        does not carry a dying token."""
        if self.expires_at is None:
            return False
        margin = min(30.0, (self.tokens.expires_in or 0) / 4)
        return time.time() > self.expires_at - margin

    def renewed(self, tokens: OAuthToken) -> SignIn:
        """This sign-in with new tokens (a refresh may leave out the refresh token: it stays)."""
        refresh = tokens.refresh_token or self.tokens.refresh_token
        kept = tokens.model_copy(update={"refresh_token": refresh})
        return SignIn(
            self.server, kept, expiry(tokens), self.client, self.issuer, self.token_endpoint, self.resource
        )

    def to_json(self) -> str:
        fields: dict[str, Any] = asdict(self)
        fields["tokens"] = self.tokens.model_dump(mode="json", exclude_none=True)
        fields["client"] = self.client.model_dump(mode="json", exclude_none=True) if self.client else None
        return json.dumps(fields)

    @classmethod
    def from_json(cls, text: str) -> SignIn:
        fields = json.loads(text)
        client = fields.get("client")
        return cls(
            server=fields["server"],
            tokens=OAuthToken.model_validate(fields["tokens"]),
            expires_at=fields.get("expires_at"),
            client=OAuthClientInformationFull.model_validate(client) if client else None,
            issuer=fields["issuer"],
            token_endpoint=fields["token_endpoint"],
            resource=fields["resource"],
        )


def expiry(tokens: OAuthToken) -> float | None:
    return time.time() + tokens.expires_in if tokens.expires_in is not None else None


def read_sign_in(text: str, server: str, where: str) -> SignIn:
    """The sign-in to `server` kept as `text` in `where`; a damaged one is a ConfigError saying how to
    start over."""
    try:
        return SignIn.from_json(text)
    except (ValueError, KeyError) as error:
        raise ConfigError(
            f"{where}: the sign-in to {server} is unreadable ({error}); run `mcpagents logout --url"
            f" {server}`, then sign in again"
        ) from None


class SignInStore(Protocol):
    """Where the sign-ins of this user are kept: `TokenStore` (files) or `KeyringStore` (the OS
    keyring)."""

    def load(self, server: str) -> SignIn | None: ...

    def save(self, sign_in: SignIn) -> None: ...

    def forget(self, server: str) -> bool:
        """Drop the sign-in to `server`; whether there was one."""
        ...

    def where(self, server: str) -> str:
        """Where the sign-in to `server` is kept, for messages to the user."""
        ...


def default_store() -> SignInStore:
    """The store `$MCPAGENTS_SIGN_IN_STORE` names; unset, files when `$MCPAGENTS_SIGN_IN_DIR` names
    their directory, else the OS keyring when there is one, else files. A keyring that keeps secrets
    in a plain file is never picked unasked: our own files are as good, and easier to find."""
    choice = os.environ.get(STORE_VARIABLE, "")
    if choice and choice not in STORES:
        raise ConfigError(
            f"${STORE_VARIABLE} is {choice!r}: expected one of {', '.join(STORES)} (or unset: the OS"
            " keyring when there is one, else files)"
        )
    if choice == "file" or (not choice and os.environ.get(DIRECTORY_VARIABLE)):
        return TokenStore()
    from mcpagents.sign_in.keyring_store import KeyringStore, os_keyring

    if choice == "keyring":
        return KeyringStore()
    backend = os_keyring()
    return KeyringStore(backend) if backend is not None else TokenStore()


class TokenStore:
    """The sign-ins of this user: one file per server under `directory` (default:
    `$MCPAGENTS_SIGN_IN_DIR`, else `$XDG_CONFIG_HOME/mcpagents/sign-ins`, else
    `~/.config/mcpagents/sign-ins`)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_directory()

    def load(self, server: str) -> SignIn | None:
        path = self._path(server)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        return read_sign_in(text, server, str(path))

    def save(self, sign_in: SignIn) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._path(sign_in.server)
        partial = path.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(sign_in.to_json())
        partial.replace(path)

    def forget(self, server: str) -> bool:
        """Drop the sign-in to `server`; whether there was one."""
        try:
            self._path(server).unlink()
        except FileNotFoundError:
            return False
        return True

    def where(self, server: str) -> str:
        return str(self._path(server))

    def _path(self, server: str) -> Path:
        return self.directory / f"{hashlib.sha256(server_key(server).encode()).hexdigest()[:32]}.json"


def server_key(url: str) -> str:
    """The URL a sign-in is kept under: without a trailing slash, query or fragment."""
    return url.split("#", 1)[0].split("?", 1)[0].rstrip("/")


def default_directory() -> Path:
    if given := os.environ.get(DIRECTORY_VARIABLE):
        return Path(given)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "mcpagents" / "sign-ins"
