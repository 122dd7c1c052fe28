"""The fetch MCP server: read a web page as Markdown-like text, with the server's network kept out of reach.

Run: `python -m mcpagents.servers.fetch` (stdio) or with `--http PORT` (see `launch.py`). Options:
`--allow-host HOST[:PORT]` (repeatable) opens what the address check below refuses: a name (whatever
it resolves to) or an address (`127.0.0.1:8080`, `[::1]:8080`), on one port or on all;
`--max-bytes N` (5 MiB) stops reading a body there; `--timeout S` (30) bounds a whole fetch, redirects
included; `--max-redirects N` (5); `--user-agent UA`. In a config file:
`{"builtin": "fetch", "args": ["--allow-host", "intranet.example:8080"]}`.

HTML comes back as readable text: headings as `#`, lists as `-`, links as `[text](absolute URL)`,
`<pre>` as fenced code blocks, without scripts, styles, navigation, footers and asides. Plain text
and JSON come back as they are; binary content (images, PDFs, archives) is refused. Long texts come
in parts: `max_length` characters from `start_index`, continued at `next_start_index`. Only http and
https URLs; an HTTP error status (4xx, 5xx) is a tool error.

Server-side request forgery: every host, on the first request and after each redirect, is resolved
once, and every address it resolves to must be public: loopback, private (RFC 1918, fc00::/7),
link-local (169.254/16 with the cloud metadata address 169.254.169.254, fe80::/10), unspecified,
multicast, reserved and carrier-grade NAT (100.64/10) addresses are refused, as are IPv6 addresses
that embed one (IPv4-mapped, 6to4, NAT64), unless `--allow-host` names the host or the address.
The request then goes to a checked address and never to the name: `PinnedTransport` rewrites the
URL's host to the address and keeps the name in the `Host` header and as the TLS server name (SNI,
also what the certificate is verified against). Nothing resolves the name a second time, so a DNS
answer that changes between the check and the connection (DNS rebinding) cannot send the request
elsewhere. Connections are not reused, so one made for one name never carries another's request.
Proxy settings from the environment are ignored: through a proxy, the address checked would not be
the one the proxy connects to. Response bodies, compressed or not, are read as a stream and cut at
`--max-bytes` of decoded content, so neither a large body nor a compression bomb fills the memory.
"""

from __future__ import annotations

import argparse
import codecs
import ipaddress
import os
import re
import socket
import ssl
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Annotated, NotRequired
from urllib.parse import urljoin, urlsplit

import anyio
import httpx2
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field
from typing_extensions import TypedDict

from .launch import add_transport_options, run

MIB = 1024 * 1024
DEFAULT_MAX_BYTES = 5 * MIB
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_MAX_LENGTH = 20_000
USER_AGENT = "mcpagents-fetch/0.1 (an AI agent's fetch tool)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Positive = Annotated[int, Field(ge=1)]
NonNegative = Annotated[int, Field(ge=0)]

_CARRIER_GRADE_NAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Checked in this order, so that an address gets its most telling name (127.0.0.1 is private too).
_FORBIDDEN: tuple[tuple[str, str], ...] = (
    ("is_loopback", "a loopback address"),
    ("is_unspecified", "an unspecified address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/ecmascript",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/x-ndjson",
    }
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


class Page(TypedDict):
    url: str
    """The URL the text came from, after redirects."""
    status: int
    content_type: str
    """The media type the server sent (without parameters), or the one guessed if it sent none."""
    title: str | None
    """The title of an HTML page; null for other content."""
    text: str
    """Up to `max_length` characters of the readable text, from `start_index`."""
    truncated: bool
    """True if the text stops before the end of the page: the rest follows at `next_start_index`, or,
    without one, the body was larger than the server's size limit and was cut there."""
    next_start_index: NotRequired[int]
    """Where the next part of the text starts (pass it as `start_index`); absent at the end."""


@dataclass(frozen=True)
class AllowedHost:
    """A host that `--allow-host` opens: a lowercase name or an IP address, on one port or all."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> AllowedHost:
        """`name`, `name:port`, `address`, `address:port` or `[IPv6 address]:port`."""
        if _ip(text) is not None:  # a bare IPv6 address: colons, but no port
            return cls(_canonical(text))
        try:
            parts = urlsplit(f"//{text}")
            host, port = parts.hostname, parts.port
        except ValueError:  # a port that is no number, or out of range
            host = None
        if not host or parts.netloc != text or "@" in text:
            raise argparse.ArgumentTypeError(f"not HOST, HOST:PORT or [IPV6]:PORT: {text!r}")
        return cls(_canonical(host), port)

    def admits(self, host: str, port: int) -> bool:
        return self.host == host and self.port in (None, port)


class AddressGuard:
    """Resolves a URL's host and refuses it unless every address is public or allowed."""

    def __init__(self, allowed: Sequence[AllowedHost] = ()) -> None:
        self.allowed = list(allowed)

    async def resolve(self, url: httpx2.URL) -> list[str]:
        """The addresses of `url`'s host, each checked; raises `ToolError` if one is refused."""
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            answers = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise ToolError(f"could not resolve {host}: {error.strerror}") from None
        addresses = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
        if self._admits(host, port):
            return addresses
        for address in addresses:
            reason = forbidden_reason(ipaddress.ip_address(address))
            if reason is not None and not self._admits(_canonical(address), port):
                what = f"{address} is" if _ip(host) else f"{host} resolves to {address},"
                raise ToolError(f"refused: {what} {reason}; allow it with --allow-host {host}")
        return addresses

    def _admits(self, host: str, port: int) -> bool:
        return any(allowed.admits(host, port) for allowed in self.allowed)


def forbidden_reason(address: IPAddress) -> str | None:
    """Why a request must not go to `address` (e.g. "a loopback address"), or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(address)) is not None:
        reason = forbidden_reason(embedded)
        return None if reason is None else f"{reason} ({embedded} inside IPv6)"
    for check, reason in _FORBIDDEN:
        if getattr(address, check):
            return reason
    if address in _CARRIER_GRADE_NAT:
        return "a carrier-grade NAT address"
    if not address.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour


class PinnedTransport(httpx2.AsyncBaseTransport):
    """Sends every request to an address `guard` checked, never to a fresh lookup of the name."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = httpx2.AsyncHTTPTransport(limits=httpx2.Limits(max_keepalive_connections=0))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        addresses = await self._guard.resolve(request.url)
        extensions = dict(request.extensions)
        if request.url.scheme == "https":
            extensions["sni_hostname"] = request.url.raw_host.decode("ascii")
        failure: httpx2.ConnectError | None = None
        for address in addresses:
            # The Host header, set from the original URL, stays; only the connection target changes.
            pinned = httpx2.Request(
                request.method,
                request.url.copy_with(host=address),
                headers=request.headers,
                stream=request.stream,
                extensions=extensions,
            )
            try:
                return await self._inner.handle_async_request(pinned)
            except httpx2.ConnectError as error:
                failure = error
        assert failure is not None  # getaddrinfo answers with at least one address or raises
        raise failure

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class Download:
    url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes
    cut: bool
    """True if the body was longer than the size limit and stops there."""


class Fetcher:
    """The fetch tool with its limits. Raises `ToolError` with a message naming the URL and the limit."""

    def __init__(
        self,
        allowed: Sequence[AllowedHost] = (),
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.guard = AddressGuard(allowed)
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.user_agent = user_agent

    async def fetch(
        self,
        url: str,
        max_length: Positive = DEFAULT_MAX_LENGTH,
        start_index: NonNegative = 0,
        raw: bool = False,
    ) -> Page:
        """Fetch a web page (http or https) and return its text: HTML as Markdown-like text (headings,
        lists, links with absolute URLs, code blocks), plain text and JSON as they are. Binary content
        is refused, and so are local and private network addresses unless the server allows them.
        Long pages come in parts: call again with `start_index` set to `next_start_index`.

        Args:
            url: The http or https URL.
            max_length: The most characters of text to return.
            start_index: The character to start at, for the next part of a long page.
            raw: Return HTML as it is instead of converting it to text.
        """
        try:
            with anyio.fail_after(self.timeout):
                download = await self._download(url)
        except (TimeoutError, httpx2.TimeoutException):
            raise ToolError(f"timed out: {url} took longer than {self.timeout:g} s (--timeout)") from None
        text = _decode(download.body, download.charset or "utf-8", complete=not download.cut)
        title = None
        if download.content_type in _HTML_TYPES:
            title, markdown = html_to_markdown(text, download.url)
            text = text if raw else markdown
        if start_index and start_index >= len(text):
            raise ToolError(f"start_index {start_index} is past the end of the text ({len(text)} characters)")
        end = min(start_index + max_length, len(text))
        page: Page = {
            "url": download.url,
            "status": download.status,
            "content_type": download.content_type,
            "title": title,
            "text": text[start_index:end],
            "truncated": end < len(text) or download.cut,
        }
        if end < len(text):
            page["next_start_index"] = end
        return page

    async def _download(self, url: str) -> Download:
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"}
        async with httpx2.AsyncClient(
            transport=PinnedTransport(self.guard), headers=headers, timeout=self.timeout, trust_env=False
        ) as client:
            target, previous = url, None
            for _ in range(self.max_redirects + 1):
                try:
                    current = _http_url(target, previous)
                    async with client.stream("GET", current) as response:
                        if not response.has_redirect_location:
                            return await self._read(current, response)
                        target, previous = response.headers["location"], current
                except ToolError as error:
                    if previous is None:
                        raise
                    raise ToolError(f"{error} (redirected there from {previous})") from None
                except httpx2.ConnectError as error:
                    reason = connection_failure(error)
                    raise ToolError(f"could not connect to {current.netloc.decode()}: {reason}") from None
                except httpx2.TimeoutException:
                    raise  # fetch() reports it, with the time limit
                except httpx2.HTTPError as error:
                    raise ToolError(f"fetching {current} failed: {error}") from None
        raise ToolError(
            f"too many redirects: {url} still redirected after {self.max_redirects} (--max-redirects)"
        )

    async def _read(self, url: httpx2.URL, response: httpx2.Response) -> Download:
        if response.status_code >= 400:
            raise ToolError(f"{url} answered HTTP {response.status_code} {response.reason_phrase}")
        declared = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        if declared and not _is_text(declared):
            raise ToolError(f"refused: {url} is {declared}, which is not text; fetch returns text only")
        body, cut = await _read_body(response, self.max_bytes)
        content_type = declared or _sniff(body)
        if content_type is None:
            raise ToolError(f"refused: {url} sent binary content without a type; fetch returns text only")
        charset = response.charset_encoding
        if charset is None and content_type in _HTML_TYPES and (meta := _META_CHARSET.search(body[:2048])):
            charset = meta.group(1).decode("ascii")
        return Download(str(url), response.status_code, content_type, charset, body, cut)


def _http_url(text: str, base: httpx2.URL | None = None) -> httpx2.URL:
    try:
        url = base.join(text) if base is not None else httpx2.URL(text)
    except httpx2.InvalidURL as error:
        raise ToolError(f"not a valid URL: {text!r} ({error})") from None
    if url.scheme not in ("http", "https"):
        raise ToolError(f"refused: {text!r} is not an http or https URL")
    if not url.host:
        raise ToolError(f"not a valid URL: {text!r} has no host")
    return url


async def _read_body(response: httpx2.Response, limit: int) -> tuple[bytes, bool]:
    """The decoded body, up to `limit` bytes, and whether it went on beyond; never more in memory."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise ToolError(f"{response.url} is encoded as {encoding!r}, which fetch cannot decode")
    # 32 + MAX_WBITS: a gzip or a zlib header, whichever comes.
    decompressor = None if encoding == "identity" else zlib.decompressobj(32 + zlib.MAX_WBITS)
    body = bytearray()
    try:
        async for chunk in response.aiter_raw():
            if decompressor is not None:
                chunk = decompressor.decompress(chunk, limit + 1 - len(body))
            body += chunk
            if len(body) > limit:
                return bytes(body[:limit]), True
    except zlib.error as error:
        raise ToolError(f"the {encoding} body of {response.url} is corrupt: {error}") from None
    return bytes(body), False


def _is_text(media_type: str) -> bool:
    return (
        media_type.startswith("text/")
        or media_type in _HTML_TYPES
        or media_type in _TEXT_TYPES
        or media_type.endswith(("+json", "+xml"))
    )


def _sniff(body: bytes) -> str | None:
    """The type of a body sent without one: HTML, plain text, or None for binary."""
    start = body[:1024]
    if b"\x00" in start:
        return None
    if start.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return "text/html"
    return "text/plain"


def _decode(body: bytes, charset: str, *, complete: bool) -> str:
    try:
        decoder = codecs.getincrementaldecoder(charset)(errors="replace")
    except LookupError:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    # A body cut at the size limit may end inside a character: leave that part out.
    return decoder.decode(body, final=complete)


def connection_failure(error: httpx2.ConnectError) -> str:
    """Why a connection failed, in words: httpx2 says "All connection attempts failed" for most causes."""
    cause: BaseException = error
    while (deeper := cause.__cause__ or cause.__context__) is not None:
        cause = deeper
    if isinstance(cause, OSError) and not isinstance(cause, ssl.SSLError) and cause.errno and cause.errno > 0:
        return os.strerror(cause.errno)
    return str(cause)


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _canonical(host: str) -> str:
    address = _ip(host)
    return host if address is None else address.compressed


# --- HTML to text -------------------------------------------------------------------------------------

_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "canvas", "iframe", "nav", "footer", "aside", "select",
     "button", "dialog"}
)  # fmt: skip
# Elements that must be closed, so that skipping one (hidden, or navigation by role) ends for sure.
_CLOSED_CONTAINERS = frozenset({"div", "section", "span", "ul", "ol", "header", "form", "table"})
_BOILERPLATE_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary"})
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "main", "header", "figure", "figcaption", "address", "dl", "dt", "dd",
     "table", "caption", "details", "summary", "hr", "center", "body"}
)  # fmt: skip
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_WHITESPACE = re.compile(r"\s+")
_LINK_SCHEMES = frozenset({"http", "https", "mailto", "ftp"})


def html_to_markdown(html: str, base_url: str) -> tuple[str | None, str]:
    """The title of an HTML page and its text in Markdown form, links made absolute against `base_url`."""
    converter = _Markdown(base_url)
    converter.feed(html)
    converter.close()
    return converter.title, converter.text()


class _Markdown(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.title: str | None = None
        self._blocks: list[tuple[str, bool]] = []
        """Each block of text, and whether it follows the previous one on the next line (list items and
        table rows after the first) instead of after a blank line."""
        self._group_starts = True
        """The next block begins a list or table: a blank line goes before it even if it is an item."""
        self._inline: list[str] = []
        self._links: list[tuple[int, str | None]] = []
        """Open links: where their text starts in `_inline`, and the absolute target."""
        self._skipping: str | None = None
        self._skip_depth = 0
        self._lists: list[int | None] = []
        """Open lists: the last number of an ordered one, None for a bulleted one."""
        self._marker: str | None = None
        self._heading = 0
        self._quotes = 0
        self._cells = 0
        self._pre: list[str] | None = None
        self._pre_language = ""
        self._title: list[str] | None = None

    def text(self) -> str:
        self._flush()
        parts: list[str] = []
        for text, attached in self._blocks:
            if parts:
                parts.append("\n" if attached else "\n\n")
            parts.append(text)
        return "".join(parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if self._skipping is not None:
            if tag == self._skipping:
                self._skip_depth += 1
            return
        if tag in _SKIPPED_TAGS or (tag in _CLOSED_CONTAINERS and _boilerplate(attributes)):
            self._skipping, self._skip_depth = tag, 1
            return
        if self._pre is not None:
            if tag == "code" and not self._pre_language:
                self._pre_language = _language(attributes)
            elif tag == "br":
                self._pre.append("\n")
            return
        match tag:
            case "title":
                self._title = []
            case "base" if href := attributes.get("href"):
                self.base_url = urljoin(self.base_url, href)
            case "a":
                self._links.append((len(self._inline), self._absolute(attributes.get("href"))))
            case "br":
                self._inline.append("\n")
            case "code":
                self._inline.append("`")
            case "img" if self._links and attributes.get("alt"):
                self._inline.append(f" {attributes['alt']} ")
            case "li":
                self._flush()
                self._marker = self._next_marker()
            case "ul" | "ol":
                self._flush()
                self._group_starts = self._group_starts or not self._lists
                self._lists.append(0 if tag == "ol" else None)
            case "pre":
                self._flush()
                self._pre, self._pre_language = [], _language(attributes)
            case "blockquote":
                self._flush()
                self._quotes += 1
            case "table":
                self._flush()
                self._group_starts = True
            case "tr":
                self._flush()
                self._cells = 0
            case "td" | "th":
                if self._cells:
                    self._inline.append(" | ")
                self._cells += 1
            case _ if tag in _HEADINGS:
                self._flush()
                self._heading = _HEADINGS[tag]
            case _ if tag in _BLOCKS:
                self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self._skipping is not None:
            if tag == self._skipping:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skipping = None
            return
        if self._pre is not None:
            if tag == "pre":
                code = "".join(self._pre).strip("\n")
                self._pre = None
                if code.strip():
                    self._blocks.append((f"```{self._pre_language}\n{code}\n```", False))
            return
        match tag:
            case "title" if self._title is not None:
                self.title = " ".join("".join(self._title).split()) or None
                self._title = None
            case "a" if self._links:
                self._close_link()
            case "code":
                self._inline.append("`")
            case "li" | "tr":
                self._flush(attached=True)
            case "ul" | "ol":
                self._flush()
                if self._lists:
                    self._lists.pop()
            case "blockquote":
                self._flush()
                self._quotes = max(0, self._quotes - 1)
            case _ if tag in _HEADINGS:
                self._flush()
                self._heading = 0
            case _ if tag in _BLOCKS:
                self._flush()

    def handle_data(self, data: str) -> None:
        if self._skipping is not None:
            return
        if self._title is not None:
            self._title.append(data)
        elif self._pre is not None:
            self._pre.append(data)
        else:
            self._inline.append(_WHITESPACE.sub(" ", data))

    def _next_marker(self) -> str:
        number = self._lists[-1] if self._lists else None
        if number is None:
            return "- "
        self._lists[-1] = number + 1
        return f"{number + 1}. "

    def _absolute(self, href: str | None) -> str | None:
        if not href or href.startswith("#"):
            return None
        target = urljoin(self.base_url, href.strip())
        return target if urlsplit(target).scheme in _LINK_SCHEMES else None

    def _close_link(self) -> None:
        start, target = self._links.pop()
        text = "".join(self._inline[start:])
        label = " ".join(text.split())
        if label and target:
            before = " " if text[:1].isspace() else ""
            after = " " if text[-1:].isspace() else ""
            self._inline[start:] = [f"{before}[{label}]({target}){after}"]

    def _flush(self, *, attached: bool = False) -> None:
        lines = [" ".join(line.split()) for line in "".join(self._inline).split("\n")]
        self._inline.clear()
        # Links still open continue in the next block: their text starts at its beginning.
        self._links = [(0, target) for _, target in self._links]
        lines = [line for line in lines if line]
        if not lines:
            return
        if self._heading:
            lines = ["#" * self._heading + " " + " ".join(lines)]
        indent = "  " * max(0, len(self._lists) - 1)
        if self._marker is not None:
            lines = [indent + self._marker + lines[0]] + [indent + "  " + line for line in lines[1:]]
            self._marker, attached = None, True
        elif self._lists:
            lines = [indent + "  " + line for line in lines]
        if self._quotes:
            lines = ["> " * self._quotes + line for line in lines]
        self._blocks.append(("\n".join(lines), attached and not self._group_starts))
        self._group_starts = False


def _boilerplate(attributes: dict[str, str | None]) -> bool:
    return (
        "hidden" in attributes
        or attributes.get("aria-hidden") == "true"
        or attributes.get("role") in _BOILERPLATE_ROLES
    )


def _language(attributes: dict[str, str | None]) -> str:
    for name in (attributes.get("class") or "").split():
        for prefix in ("language-", "lang-"):
            if name.startswith(prefix):
                return name.removeprefix(prefix)
    return ""


# --- the server -------------------------------------------------------------------------------------


FETCHES = ToolAnnotations(
    title="Fetch a web page",
    read_only_hint=True,
    destructive_hint=False,
    idempotent_hint=True,
    open_world_hint=True,
)


def build_server(fetcher: Fetcher) -> MCPServer:
    """An MCP server offering `fetcher.fetch` as the tool `fetch`."""
    server = MCPServer(
        "fetch",
        instructions="Fetch web pages (http, https) as readable text; private network addresses are refused.",
    )
    server.add_tool(fetcher.fetch, name="fetch", annotations=FETCHES)
    return server


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {text}")
        return value

    return parse


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        type=AllowedHost.parse,
        metavar="HOST[:PORT]",
        help="a name or address to fetch from even if it is not public (repeatable)",
    )
    parser.add_argument(
        "--max-bytes", type=_count(1), default=DEFAULT_MAX_BYTES, metavar="N", help="body size limit (5 MiB)"
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="S", help="time limit per fetch (30 s)"
    )
    parser.add_argument(
        "--max-redirects",
        type=_count(0),
        default=DEFAULT_MAX_REDIRECTS,
        metavar="N",
        help="redirects to follow (5)",
    )
    parser.add_argument("--user-agent", default=USER_AGENT, metavar="UA", help="the User-Agent header")
    add_transport_options(parser)
    options = parser.parse_args()
    fetcher = Fetcher(
        options.allow_host,
        max_bytes=options.max_bytes,
        timeout=options.timeout,
        max_redirects=options.max_redirects,
        user_agent=options.user_agent,
    )
    run(build_server(fetcher), options)


if __name__ == "__main__":
    main()
