"""The bundled fetch server, over stdio through a ToolCollection, against real HTTP servers on 127.0.0.1:
pages become readable text, limits hold (size, time, redirects), and every way to a non-public
address (directly, by name, by redirect, by a DNS answer that changes) is refused before connecting."""

from __future__ import annotations

import gzip
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver.exceptions import ToolError as ServerToolError

from mcpagents import StdioServer, ToolCollection, ToolError
from mcpagents.servers.fetch import AllowedHost, Fetcher

from .conftest import inspector

MODULE = "mcpagents.servers.fetch"
MAX_BYTES = 100_000
TIMEOUT = 2.0
MAX_REDIRECTS = 3

ARTICLE = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8"><title>Fetching   pages
 | Example Docs</title>
<link rel="stylesheet" href="/site.css"><style>body { font-family: sans-serif }</style>
<script>window.analytics = "<p>not content</p>";</script>
</head><body>
<header role="banner"><a href="/">Example Docs</a><form role="search"><input name="q"></form></header>
<nav><ul><li><a href="/">Home</a></li><li><a href="/blog/">Blog</a></li></ul></nav>
<main><article>
<h1>Fetching pages</h1>
<p>The <code>fetch</code> tool reads a page
   and returns its <a href="/docs/text.html">readable text</a> &amp; its title.</p>
<h2>Steps</h2>
<ol><li>Resolve the host.</li><li><p>Check every address.</p></li></ol>
<ul><li>Links become <a href="https://example.org/markdown">Markdown links</a></li>
<li>Lists nest:<ul><li>like this</li></ul></li></ul>
<pre><code class="language-python">print("hello")
    indented()
</code></pre>
<blockquote><p>Quoted advice.</p></blockquote>
<table><tr><th>Limit</th><th>Default</th></tr><tr><td>size</td><td>5 MiB</td></tr></table>
<p>Line one<br>line two</p>
<div hidden>Hidden text</div>
</article></main>
<aside><h3>Related</h3><a href="/other">Other page</a></aside>
<footer><p>© 2026 Example</p></footer>
<script src="/app.js"></script>
</body></html>
"""
ARTICLE_TEXT = """# Fetching pages

The `fetch` tool reads a page and returns its [readable text](http://{host}/docs/text.html) & its title.

## Steps

1. Resolve the host.
2. Check every address.

- Links become [Markdown links](https://example.org/markdown)
- Lists nest:
  - like this

```python
print("hello")
    indented()
```

> Quoted advice.

Limit | Default
size | 5 MiB

Line one
line two"""
LONG_TEXT = "".join(f"{line:04d} the quick brown fox\n" for line in range(2_000))  # 50,000 characters
NOTES = "first line\nsecond line\n"
JSON = '{"name": "mcpagents", "tools": ["fetch"]}'


# --- local web servers ------------------------------------------------------------------------------


Route = Callable[[BaseHTTPRequestHandler, "Site"], None]


class Site:
    """An HTTP server on `host` in a thread, answering from `routes`; it records every request it gets."""

    def __init__(
        self, host: str, routes: dict[str, Route], port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str]] = []
        """(Host header, path) of each request, in order."""
        self.release = threading.Event()
        """Set when the site shuts down: what slow routes wait for."""
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.host, self.port = host, self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Site:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def hits(self, path: str) -> int:
        return sum(1 for _, requested in self.requests if requested == path)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append((self.headers["Host"], self.path))
                route = site.routes.get(self.path, not_found)
                with suppress(OSError):  # the client hung up, as it should after its limit
                    route(self, site)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def respond(
    body: bytes | str, content_type: str | None = "text/html; charset=utf-8", status: int = 200
) -> Route:
    data = body.encode() if isinstance(body, str) else body

    def route(handler: BaseHTTPRequestHandler, site: Site) -> None:
        handler.send_response(status)
        if content_type is not None:
            handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return route


def redirect(location: Callable[[Site], str] | str) -> Route:
    def route(handler: BaseHTTPRequestHandler, site: Site) -> None:
        handler.send_response(302)
        handler.send_header("Location", location if isinstance(location, str) else location(site))
        handler.end_headers()

    return route


def not_found(handler: BaseHTTPRequestHandler, site: Site) -> None:
    respond("<h1>Not here</h1>", status=404)(handler, site)


def endless(handler: BaseHTTPRequestHandler, site: Site) -> None:
    """Text without end (no Content-Length): only the reader's size limit stops it."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.end_headers()
    while not site.release.is_set():
        handler.wfile.write(b"x" * 65_536)


def compression_bomb(handler: BaseHTTPRequestHandler, site: Site) -> None:
    """20 MB of text in about 20 KB of gzip."""
    data = gzip.compress(b"a" * 20_000_000)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def silent(handler: BaseHTTPRequestHandler, site: Site) -> None:
    """Never answers (until the site shuts down)."""
    site.release.wait(60)


def trickle(handler: BaseHTTPRequestHandler, site: Site) -> None:
    """Answers at once, then sends a byte every 0.25 s: each read is quick, the whole never ends."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.end_headers()
    while not site.release.wait(0.25):
        handler.wfile.write(b".")
        handler.wfile.flush()


def chain(step: int) -> Route:
    return redirect(f"/chain/{step + 1}")


ROUTES: dict[str, Route] = {
    "/article": respond(ARTICLE),
    "/notes.txt": respond(NOTES, "text/plain"),
    "/data.json": respond(JSON, "application/json"),
    "/latin1.html": respond(
        '<meta charset="iso-8859-1"><title>Caf\xe9</title><p>cr\xe8me br\xfbl\xe9e</p>'.encode("latin-1"),
        "text/html",
    ),
    "/long.txt": respond(LONG_TEXT, "text/plain"),
    "/image.png": respond(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    "/untyped": respond(b"\x7fELF\x02\x01\x01\x00\x00\x00", None),
    "/redirect": redirect("/article"),
    "/to-loopback": redirect(lambda site: f"http://127.0.0.2:{site.port}/secret"),
    "/to-metadata": redirect("http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
    "/to-file": redirect("file:///etc/passwd"),
    "/endless": endless,
    "/bomb": compression_bomb,
    "/silent": silent,
    "/trickle": trickle,
    **{f"/chain/{step}": chain(step) for step in range(10)},
}


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with Site("127.0.0.1", ROUTES) as running:
        yield running


@pytest.fixture(scope="module")
def inner_site(site: Site) -> Iterator[Site]:
    """A second site on 127.0.0.2 (another loopback address), on the same port as `site`."""
    with Site(
        "127.0.0.2", {"/secret": respond("the secret"), "/article": respond(ARTICLE)}, site.port
    ) as running:
        yield running


def fetch_server(*flags: str) -> StdioServer:
    return StdioServer(sys.executable, ["-m", MODULE, *flags], name="fetch")


@pytest.fixture(scope="module")
def fetch(site: Site) -> Iterator[ToolCollection]:
    """A fetch server that may reach `site` (only), with small limits."""
    flags = [
        *("--allow-host", f"127.0.0.1:{site.port}"),
        *("--max-bytes", str(MAX_BYTES), "--timeout", str(TIMEOUT), "--max-redirects", str(MAX_REDIRECTS)),
    ]
    with ToolCollection.from_mcp(fetch_server(*flags)) as tools:
        yield tools


@pytest.fixture(scope="module")
def guarded() -> Iterator[ToolCollection]:
    """A fetch server with the default address checks: nothing local is allowed."""
    with ToolCollection.from_mcp(fetch_server("--timeout", str(TIMEOUT))) as tools:
        yield tools


# --- pages and text -----------------------------------------------------------------------------------


def test_the_tool_reads_the_open_world_and_changes_nothing(fetch: ToolCollection) -> None:
    tool = fetch["fetch"]
    assert [tool.name for tool in fetch] == ["fetch"]
    assert tool.read_only and tool.idempotent
    assert tool.annotations is not None and tool.annotations.open_world_hint is True
    assert tool.annotations.destructive_hint is False
    assert tool.output_schema is not None
    assert set(tool.output_schema["required"]) == {
        "url",
        "status",
        "content_type",
        "title",
        "text",
        "truncated",
    }


def test_html_becomes_readable_text_without_boilerplate(fetch: ToolCollection, site: Site) -> None:
    page = fetch["fetch"](url=site.url("/article"))
    assert page == {
        "url": site.url("/article"),
        "status": 200,
        "content_type": "text/html",
        "title": "Fetching pages | Example Docs",
        "text": ARTICLE_TEXT.format(host=f"127.0.0.1:{site.port}"),
        "truncated": False,
    }


def test_raw_returns_the_html_as_it_is(fetch: ToolCollection, site: Site) -> None:
    page = fetch["fetch"](url=site.url("/article"), raw=True)
    assert page["text"] == ARTICLE
    assert page["title"] == "Fetching pages | Example Docs"


@pytest.mark.parametrize(
    ("path", "content_type", "title", "text"),
    [
        ("/notes.txt", "text/plain", None, NOTES),
        ("/data.json", "application/json", None, JSON),
        ("/latin1.html", "text/html", "Café", "crème brûlée"),
    ],
)
def test_text_and_json_pass_through_and_charsets_are_honoured(
    fetch: ToolCollection, site: Site, path: str, content_type: str, title: str | None, text: str
) -> None:
    page = fetch["fetch"](url=site.url(path))
    assert (page["content_type"], page["title"], page["text"]) == (content_type, title, text)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/image.png", "is image/png, which is not text"),
        ("/untyped", "sent binary content without a type"),
    ],
)
def test_binary_content_is_refused(fetch: ToolCollection, site: Site, path: str, message: str) -> None:
    with pytest.raises(ToolError, match="refused") as raised:
        fetch["fetch"](url=site.url(path))
    assert message in str(raised.value)


def test_a_long_text_comes_in_parts(fetch: ToolCollection, site: Site) -> None:
    first = fetch["fetch"](url=site.url("/long.txt"), max_length=20_000)
    assert first["text"] == LONG_TEXT[:20_000]
    assert (first["truncated"], first["next_start_index"]) == (True, 20_000)
    last = fetch["fetch"](url=site.url("/long.txt"), max_length=20_000, start_index=40_000)
    assert last["text"] == LONG_TEXT[40_000:]
    assert last["truncated"] is False
    assert "next_start_index" not in last
    with pytest.raises(
        ToolError, match=r"start_index 50000 is past the end of the text \(50000 characters\)"
    ):
        fetch["fetch"](url=site.url("/long.txt"), start_index=50_000)


def test_an_http_error_status_is_a_tool_error(fetch: ToolCollection, site: Site) -> None:
    with pytest.raises(ToolError, match=r"answered HTTP 404 Not Found"):
        fetch["fetch"](url=site.url("/missing"))


# --- limits -------------------------------------------------------------------------------------------


def test_a_body_without_end_stops_at_max_bytes(fetch: ToolCollection, site: Site) -> None:
    page = fetch["fetch"](url=site.url("/endless"), max_length=10 * MAX_BYTES)
    assert page["text"] == "x" * MAX_BYTES
    assert page["truncated"] is True
    assert "next_start_index" not in page  # nothing more was read


def test_a_compression_bomb_stops_at_max_bytes_of_decoded_text(fetch: ToolCollection, site: Site) -> None:
    page = fetch["fetch"](url=site.url("/bomb"), max_length=10 * MAX_BYTES)
    assert page["text"] == "a" * MAX_BYTES
    assert page["truncated"] is True


@pytest.mark.parametrize("path", ["/silent", "/trickle"])
def test_a_slow_server_times_out_within_the_limit(fetch: ToolCollection, site: Site, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(ToolError, match=rf"timed out: .*{path} took longer than 2 s \(--timeout\)"):
        fetch["fetch"](url=site.url(path))
    assert time.monotonic() - started < TIMEOUT + 3


def test_a_redirect_is_followed_and_the_final_url_reported(fetch: ToolCollection, site: Site) -> None:
    page = fetch["fetch"](url=site.url("/redirect"))
    assert page["url"] == site.url("/article")
    assert page["title"] == "Fetching pages | Example Docs"


def test_a_redirect_chain_over_the_limit_stops(fetch: ToolCollection, site: Site) -> None:
    with pytest.raises(ToolError, match=r"too many redirects: .*/chain/0 still redirected after 3"):
        fetch["fetch"](url=site.url("/chain/0"))
    assert [site.hits(f"/chain/{step}") for step in range(6)] == [1, 1, 1, 1, 0, 0]


# --- addresses that must not be reached -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/to-loopback", "refused: 127.0.0.2 is a loopback address; allow it with --allow-host 127.0.0.2"),
        ("/to-metadata", "refused: 169.254.169.254 is a link-local address"),
        ("/to-file", "refused: 'file:///etc/passwd' is not an http or https URL"),
    ],
)
def test_a_redirect_from_an_allowed_host_to_a_forbidden_one_is_refused(
    fetch: ToolCollection, site: Site, inner_site: Site, path: str, message: str
) -> None:
    with pytest.raises(ToolError, match="refused") as raised:
        fetch["fetch"](url=site.url(path))
    assert message in str(raised.value)
    assert f"redirected there from {site.url(path)}" in str(raised.value)
    assert site.hits(path) == 1
    assert inner_site.requests == []


def test_allowing_an_address_and_port_allows_no_other(
    fetch: ToolCollection, site: Site, inner_site: Site
) -> None:
    other_port = site.port + 1 if site.port < 65_535 else site.port - 1
    for url in (inner_site.url("/article"), f"http://127.0.0.1:{other_port}/article"):
        with pytest.raises(ToolError, match=r"refused: 127\.0\.0\.[12] is a loopback address"):
            fetch["fetch"](url=url)
    assert inner_site.requests == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://localhost:{port}/article", "localhost resolves to 127.0.0.1, a loopback address"),
        ("http://[::1]:{port}/article", "::1 is a loopback address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://172.16.5.4/", "172.16.5.4 is a private address"),
        ("https://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT address"),
        ("http://0.0.0.0:{port}/", "0.0.0.0 is an unspecified address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://[fc00::1]/", "fc00::1 is a private address"),
        (
            "http://[::ffff:127.0.0.1]:{port}/",
            "::ffff:127.0.0.1 is a loopback address (127.0.0.1 inside IPv6)",
        ),
        ("http://[::ffff:169.254.169.254]/", "a link-local address (169.254.169.254 inside IPv6)"),
        # The same address as a number: the check is on what the name resolves to.
        ("http://2130706433:{port}/", "2130706433 resolves to 127.0.0.1, a loopback address"),
    ],
)
def test_non_public_addresses_are_refused_by_default(
    guarded: ToolCollection, site: Site, url: str, message: str
) -> None:
    before = len(site.requests)
    with pytest.raises(ToolError, match="refused: ") as raised:
        guarded["fetch"](url=url.format(port=site.port))
    assert message in str(raised.value)
    assert "allow it with --allow-host" in str(raised.value)
    assert site.requests[before:] == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1:70/"])
def test_only_http_and_https_urls_are_fetched(guarded: ToolCollection, url: str) -> None:
    with pytest.raises(ToolError, match="is not an http or https URL"):
        guarded["fetch"](url=url)


# --- the address check, in process: before any connection, on every address, pinned -------------------

_RECORDERS: list[list[object]] = []


def _record_connections(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        for recorder in _RECORDERS:
            recorder.append(args[1])


# Audit hooks cannot be removed: this one only records while a test holds a recorder.
sys.addaudithook(_record_connections)


@pytest.fixture
def connections() -> Iterator[list[object]]:
    """The address of every socket this process connects while the test runs."""
    recorder: list[object] = []
    _RECORDERS.append(recorder)
    yield recorder
    _RECORDERS.remove(recorder)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A fake DNS for the names put in: name -> its answers, one per lookup, each a comma-separated list
    of addresses; a lookup takes the first answer off the list, except the last, which stays."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: bytes | str | None, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name in answers:
            queue = answers[name]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
            return [info for address in addresses.split(",") for info in real(address, *args, **kwargs)]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.anyio
async def test_refusals_happen_before_any_connection(site: Site, connections: list[object]) -> None:
    for url in ("http://169.254.169.254/latest/meta-data/", site.url("/article")):
        with pytest.raises(ServerToolError, match="refused"):
            await Fetcher().fetch(url)
    assert connections == []
    # The recorder does see connections: an allowed fetch makes one.
    await Fetcher([AllowedHost("127.0.0.1", site.port)]).fetch(site.url("/notes.txt"))
    assert connections == [("127.0.0.1", site.port)]


@pytest.mark.anyio
async def test_every_address_a_name_resolves_to_is_checked(
    site: Site, resolver: dict[str, list[str]], connections: list[object]
) -> None:
    resolver["mixed.test"] = ["93.184.215.14,10.0.0.7"]
    with pytest.raises(ServerToolError) as raised:
        await Fetcher().fetch("http://mixed.test/")
    assert str(raised.value) == (
        "refused: mixed.test resolves to 10.0.0.7, a private address; allow it with --allow-host mixed.test"
    )
    assert connections == []


@pytest.mark.anyio
async def test_the_request_goes_to_the_checked_address_whatever_dns_answers_later(
    site: Site, inner_site: Site, resolver: dict[str, list[str]], connections: list[object]
) -> None:
    # The first answer is the allowed 127.0.0.1; any later lookup would lead to 127.0.0.2.
    resolver["rebind.test"] = ["127.0.0.1", "127.0.0.2"]
    url = f"http://rebind.test:{site.port}/notes.txt"
    page = await Fetcher([AllowedHost("127.0.0.1", site.port)]).fetch(url)
    assert page["text"] == NOTES
    assert connections == [("127.0.0.1", site.port)]
    assert site.requests[-1] == (f"rebind.test:{site.port}", "/notes.txt")
    assert inner_site.requests == []
    assert resolver["rebind.test"] == ["127.0.0.2"]  # looked up exactly once


@dataclass
class TLSSite:
    site: Site
    certificate: Path
    server_names: list[str | None]
    """The name each TLS client asked for (SNI)."""


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSSite]:
    """An HTTPS site on 127.0.0.1 whose (self-signed) certificate is for the name pinned.test only."""
    directory = tmp_path_factory.mktemp("tls")
    certificate, key = directory / "certificate.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=pinned.test",
         "-addext", "subjectAltName=DNS:pinned.test", "-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server_names: list[str | None] = []
    context.sni_callback = lambda _socket, name, _context: server_names.append(name)
    with Site("127.0.0.1", {"/notes.txt": respond(NOTES, "text/plain")}, tls=context) as site:
        yield TLSSite(site, certificate, server_names)


@pytest.mark.anyio
async def test_https_goes_to_the_checked_address_and_verifies_the_certificate_for_the_name(
    tls_site: TLSSite, resolver: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tls_site.site
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_site.certificate))
    resolver["pinned.test"] = resolver["impostor.test"] = ["127.0.0.1"]
    fetcher = Fetcher([AllowedHost("127.0.0.1", site.port)])
    page = await fetcher.fetch(f"https://pinned.test:{site.port}/notes.txt")
    assert page["text"] == NOTES
    assert tls_site.server_names == ["pinned.test"]
    assert site.requests == [(f"pinned.test:{site.port}", "/notes.txt")]
    # Same address, another name: the certificate does not match it, so nothing is sent.
    with pytest.raises(
        ServerToolError, match=f"could not connect to impostor.test:{site.port}: .*CERTIFICATE_VERIFY"
    ):
        await fetcher.fetch(f"https://impostor.test:{site.port}/notes.txt")
    assert tls_site.server_names == ["pinned.test", "impostor.test"]
    assert len(site.requests) == 1


# --- the command line and another client ------------------------------------------------------------


def test_the_inspector_fetches_through_the_server(site: Site, tmp_path: Path) -> None:
    command = [sys.executable, "-m", MODULE, "--allow-host", f"127.0.0.1:{site.port}"]
    result = inspector(
        *command,
        *("--method", "tools/call", "--tool-name", "fetch", "--tool-arg", f"url={site.url('/notes.txt')}"),
        home=tmp_path,
    )
    assert result["isError"] is False
    assert result["structuredContent"]["text"] == NOTES
    assert result["structuredContent"]["content_type"] == "text/plain"


def test_a_malformed_allow_host_stops_the_server_with_a_clear_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", MODULE, "--allow-host", "example.com:http"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "not HOST, HOST:PORT or [IPV6]:PORT: 'example.com:http'" in done.stderr
