"""How to sign in to an HTTP MCP server that sits behind OAuth 2.1 (the MCP authorization spec)."""

from __future__ import annotations

from dataclasses import dataclass

from mcpagents.errors import ConfigError


@dataclass(frozen=True)
class OAuth:
    """Sign-in options of one server; `OAuth()` (or `oauth: true` in a config) needs none of them.

    By default a person signs in once with `mcpagents login` (a browser, PKCE, the client registered
    on the fly); the tokens are kept per user and refreshed when they expire.

    * `client_id` / `client_secret`: a client registered beforehand with the authorization server,
      instead of dynamic registration; `client_metadata_url`: a client ID metadata document (an
      https URL) for servers that take one.
    * `client_credentials=True`: no person at all (CI, batch runs, served agents): the client's own
      credentials are exchanged for a token whenever one is needed. Needs `client_id` and
      `client_secret`.
    * `token_exchange=True`: for a served agent calling another one (a chain): what it sends on a
      caller's behalf carries a token the authorization server exchanged for the caller's (RFC 8693:
      the caller as subject, this client as actor, the server as audience), so the server down the
      chain knows who asked; anything else it sends (connecting, listing tools) carries the client's
      own token, as with `client_credentials`. Needs `client_id` and `client_secret`. Without it,
      a caller's token never leaves the server it was given to.
    * `token_file`: no sign-in here at all: a token issued elsewhere, read from this file on each
      connection (so that whatever renews it outside, a CI job or a secrets agent, is followed).
      A token from the environment goes in a header instead (`Authorization: Bearer ${TOKEN}`).
    * `scope`: the scopes to ask for (space-separated; by default the server's own list).
    * `callback_port`: the loopback port the browser comes back to (0: any free one; a client
      registered beforehand may need a fixed one).
    """

    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None
    client_credentials: bool = False
    client_metadata_url: str | None = None
    callback_port: int = 0
    token_file: str | None = None
    token_exchange: bool = False

    def __post_init__(self) -> None:
        if self.token_file is not None and (self.client_credentials or self.token_exchange or self.client_id):
            raise ConfigError("OAuth token_file brings its own token: drop the client options beside it")
        for grant, wanted in (
            ("client_credentials", self.client_credentials),
            ("token_exchange", self.token_exchange),
        ):
            if wanted and not (self.client_id and self.client_secret):
                raise ConfigError(f"OAuth {grant} needs a client_id and a client_secret")
        if self.client_secret and not self.client_id:
            raise ConfigError("OAuth client_secret is given without the client_id it belongs to")
        if not 0 <= self.callback_port <= 65535:
            raise ConfigError(f"OAuth callback_port must be a port number, not {self.callback_port}")

    @property
    def own_credentials(self) -> bool:
        """Whether the client gets tokens with its own credentials (no person signs in)."""
        return self.client_credentials or self.token_exchange


def login_command(url: str) -> str:
    """The command that signs in to the server at `url` (what error messages tell people to run)."""
    return f"mcpagents login --url {url}"
