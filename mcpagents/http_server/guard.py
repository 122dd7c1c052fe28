"""The Host and Origin checks against DNS rebinding: a web page in a browser must not reach a server on
this machine by naming it, nor post to it from another origin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # light to import: `ServerSettings` checks its hosts against LOOPBACK_HOSTS
    from mcp.server.transport_security import TransportSecuritySettings

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def transport_security(
    allowed_hosts: Sequence[str] = (), allowed_origins: Sequence[str] = ()
) -> TransportSecuritySettings:
    """The SDK's checks: loopback Hosts and Origins, and the ones given (`name:*` allows any port).
    Requests without an Origin (not from a browser) pass."""
    from mcp.server.transport_security import TransportSecuritySettings

    loopback_hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
    loopback_origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*loopback_hosts, *allowed_hosts],
        allowed_origins=[*loopback_origins, *allowed_origins],
    )
