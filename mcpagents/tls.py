"""One TLS context for the HTTP clients mcpagents opens. Building one reads the CA bundle, about
24 ms here: a client made for one request (checking a token, exchanging one, fetching a page)
would pay that each time, more than the request itself. A context may be shared by any number
of clients and threads; it is built on first use, from the environment then (`SSL_CERT_FILE`)."""

from __future__ import annotations

import functools
import ssl

import httpx2


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The context every client verifies servers with (httpx2's defaults)."""
    return httpx2.create_ssl_context()
