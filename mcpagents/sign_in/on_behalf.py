"""The access token of the caller a served agent is running for: what it sends down a chain on the
caller's behalf may carry a token exchanged for it (`OAuth.token_exchange`), and nothing else.

The token stays in this process: it is never sent anywhere but to the authorization server that
exchanges it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_caller_token: ContextVar[str | None] = ContextVar("mcpagents_caller_token", default=None)


@contextmanager
def on_behalf_of(token: str | None) -> Iterator[None]:
    """Run what follows for the caller whose access token is `token` (None: nobody's)."""
    reset = _caller_token.set(token)
    try:
        yield
    finally:
        _caller_token.reset(reset)


def caller_token() -> str | None:
    """The access token of the caller this context runs for, if any."""
    return _caller_token.get()
