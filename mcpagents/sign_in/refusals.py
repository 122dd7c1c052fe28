"""Sign-in failures handed to the code that sent the request, instead of raised where they happen.

The access token is added to a request deep inside an HTTP transport, in a task of its own: an
error raised there ends the whole connection, for every caller. A sender that watches (`watch`)
is told the failure of its own request instead; the request goes on as it is (without a token, or
with the refused one), the server refuses it, and the sender reports why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from mcpagents.errors import SignInRequired

_watching: ContextVar[list[SignInRequired] | None] = ContextVar("mcpagents_sign_in_refusals", default=None)


@contextmanager
def watch() -> Iterator[list[SignInRequired]]:
    """Collect the sign-in failures of the requests sent in this context (the transport's tasks
    inherit it)."""
    seen: list[SignInRequired] = []
    reset = _watching.set(seen)
    try:
        yield seen
    finally:
        _watching.reset(reset)


def tell(error: SignInRequired) -> bool:
    """Hand `error` to the sender watching for it; whether one was (else the caller raises it)."""
    seen = _watching.get()
    if seen is None:
        return False
    seen.append(error)
    return True
