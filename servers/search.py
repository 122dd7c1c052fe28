"""The web search MCP server: DuckDuckGo's results for a query, as titles, URLs and snippets.

Run: `python -m mcpagents.servers.search` (stdio) or with `--http PORT` (see `launch.py`). Options:
`--backend-url URL` (default https://html.duckduckgo.com/html/, the page DuckDuckGo serves to browsers
without JavaScript; any server answering a form POST of `q` with the same markup will do),
`--max-results N` (10: the default and the most one call returns), `--timeout S` (15: the longest
wait for the backend; connecting waits at most 5 s of it, so that a machine without network gets a
clear error quickly). In a config file: `{"builtin": "search", "args": ["--max-results", "5"]}`.

Results are read from the page's markup: each `.result` block gives its `a.result__a` link (title
and URL; DuckDuckGo's `/l/?uddg=` redirect links are unwrapped to the target) and `.result__snippet`
text. Ads (`.result--ad` blocks and `/y.js` ad links) are left out. No API key, no JavaScript; the
markup may change without notice, and DuckDuckGo may answer a burst of queries with a bot check,
which comes back as a tool error.
"""

from __future__ import annotations

import argparse
from html.parser import HTMLParser
from typing import Annotated
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field
from typing_extensions import TypedDict

from mcpagents.tls import tls_context

from .fetch import connection_failure
from .launch import add_transport_options, run

DEFAULT_BACKEND_URL = "https://html.duckduckgo.com/html/"
DEFAULT_MAX_RESULTS = 10
DEFAULT_TIMEOUT = 15.0
CONNECT_TIMEOUT = 5.0
USER_AGENT = "Mozilla/5.0 (compatible; mcpagents-search/0.1)"


class Result(TypedDict):
    title: str
    url: str
    snippet: str


class Results(TypedDict):
    query: str
    results: list[Result]


class Searcher:
    """The web_search tool, asking `backend_url`. Raises `ToolError` naming the backend on failure."""

    def __init__(
        self,
        backend_url: str = DEFAULT_BACKEND_URL,
        *,
        max_results: int = DEFAULT_MAX_RESULTS,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.backend_url = backend_url
        self.backend = httpx2.URL(backend_url).netloc.decode()
        self.max_results = max_results
        self.timeout = timeout

    async def web_search(self, query: str, max_results: Annotated[int, Field(ge=1)] | None = None) -> Results:
        """Search the web (DuckDuckGo) and return the results' titles, URLs and snippets, best first.
        Fetch a result's URL to read the page itself.

        Args:
            query: What to search for, as you would type it into a search engine.
            max_results: The most results to return (the server's limit, 10 unless configured, caps it).
        """
        if not query.strip():
            raise ToolError("the query is empty: say what to search for")
        limit = min(max_results or self.max_results, self.max_results)
        page = await self._results_page(query)
        parser = _ResultsParser(self.backend_url)
        parser.feed(page)
        parser.close()
        if parser.challenged and not parser.results:
            raise ToolError(f"{self.backend} answered with a bot check instead of results; try again later")
        return {"query": query, "results": parser.results[:limit]}

    async def _results_page(self, query: str) -> str:
        timeout = httpx2.Timeout(self.timeout, connect=min(self.timeout, CONNECT_TIMEOUT))
        try:
            async with httpx2.AsyncClient(
                timeout=timeout,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=True,
                verify=tls_context(),
            ) as client:
                response = await client.post(self.backend_url, data={"q": query})
        except httpx2.ConnectTimeout:
            raise ToolError(
                f"no network: could not reach {self.backend} (no connection within {timeout.connect:g} s)"
            ) from None
        except httpx2.ConnectError as error:
            reason = connection_failure(error)
            raise ToolError(f"no network: could not reach {self.backend} ({reason})") from None
        except httpx2.TimeoutException:
            raise ToolError(
                f"timed out: {self.backend} did not answer within {self.timeout:g} s (--timeout)"
            ) from None
        except httpx2.HTTPError as error:
            raise ToolError(f"asking {self.backend} failed: {error}") from None
        if not response.is_success:
            raise ToolError(f"{self.backend} answered HTTP {response.status_code} {response.reason_phrase}")
        return response.text


class _ResultsParser(HTMLParser):
    """Collects the organic results of a DuckDuckGo HTML results page."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.results: list[Result] = []
        self.challenged = False
        """The page is a bot check (an "anomaly" page), not results."""
        self._pending: dict[str, str] | None = None
        """The title, URL and snippet of the result being read."""
        self._in_ad = False
        self._capturing: str | None = None
        """The field the text being read belongs to: "title" or "snippet"."""
        self._capture_tag = ""
        self._capture_depth = 0
        self._text: list[str] = []

    def close(self) -> None:
        super().close()
        self._finish_result()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if self._capturing is not None:
            if tag == self._capture_tag:
                self._capture_depth += 1
            return
        if (
            any(name.startswith("anomaly-modal") for name in classes)
            or attributes.get("id") == "challenge-form"
        ):
            self.challenged = True
        if tag == "div" and "result" in classes:
            self._finish_result()
            self._in_ad = "result--ad" in classes
            return
        if self._in_ad:
            return
        if tag == "a" and "result__a" in classes:
            self._pending = {"url": self._target(attributes.get("href") or "")}
            self._capture("title", tag)
        elif "result__snippet" in classes and self._pending is not None:
            self._capture("snippet", tag)

    def handle_endtag(self, tag: str) -> None:
        if self._capturing is None or tag != self._capture_tag:
            return
        self._capture_depth -= 1
        if self._capture_depth == 0:
            if self._pending is not None:
                self._pending[self._capturing] = " ".join("".join(self._text).split())
            self._capturing = None

    def handle_data(self, data: str) -> None:
        if self._capturing is not None:
            self._text.append(data)

    def _capture(self, field: str, tag: str) -> None:
        self._capturing, self._capture_tag, self._capture_depth = field, tag, 1
        self._text = []

    def _finish_result(self) -> None:
        pending, self._pending = self._pending, None
        if pending and pending.get("title") and pending["url"]:
            self.results.append(
                {"title": pending["title"], "url": pending["url"], "snippet": pending.get("snippet", "")}
            )

    def _target(self, href: str) -> str:
        """The URL a result link leads to: DuckDuckGo's redirect (`/l/?uddg=URL`) unwrapped; "" for an
        ad link (`/y.js`) or anything not http(s)."""
        parts = urlsplit(urljoin(self.page_url, href))
        if parts.path == "/y.js":
            return ""
        if parts.path == "/l/" and (wrapped := parse_qs(parts.query).get("uddg")):
            parts = urlsplit(wrapped[0])
        return parts.geturl() if parts.scheme in ("http", "https") else ""


SEARCHES = ToolAnnotations(
    title="Search the web",
    read_only_hint=True,
    destructive_hint=False,
    idempotent_hint=True,
    open_world_hint=True,
)


def build_server(searcher: Searcher) -> MCPServer:
    """An MCP server offering `searcher.web_search` as the tool `web_search`."""
    server = MCPServer("search", instructions="Search the web: titles, URLs and snippets of the results.")
    server.add_tool(searcher.web_search, name="web_search", annotations=SEARCHES)
    return server


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _http_url(text: str) -> str:
    try:
        url = httpx2.URL(text)
    except httpx2.InvalidURL as error:
        raise argparse.ArgumentTypeError(f"not a valid URL: {text!r} ({error})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError(f"not an http or https URL: {text!r}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backend-url", type=_http_url, default=DEFAULT_BACKEND_URL, metavar="URL", help="the results page"
    )
    parser.add_argument(
        "--max-results",
        type=_positive,
        default=DEFAULT_MAX_RESULTS,
        metavar="N",
        help="the most results per search (10)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help="longest wait for the backend (15 s)",
    )
    add_transport_options(parser)
    options = parser.parse_args()
    searcher = Searcher(options.backend_url, max_results=options.max_results, timeout=options.timeout)
    run(build_server(searcher), options)


if __name__ == "__main__":
    main()
