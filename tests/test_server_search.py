"""The bundled search server, over stdio through a ToolCollection, against a local HTTP server answering
with a saved DuckDuckGo results page: the results come out right (ads left out, redirect links
unwrapped), and a backend that cannot be reached gives a clear error within the time limit."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from mcp.server.mcpserver.exceptions import ToolError as ServerToolError

from mcpagents import StdioServer, ToolCollection, ToolError
from mcpagents.servers.search import DEFAULT_BACKEND_URL, Searcher

from .conftest import inspector

MODULE = "mcpagents.servers.search"
RESULTS_PAGE = Path(__file__).parent / "data" / "duckduckgo-results.html"
TIMEOUT = 2.0
QUERY = "python asyncio tutorial"
RESULTS = [
    {
        "title": "asyncio — Asynchronous I/O — Python 3.13 documentation",
        "url": "https://docs.python.org/3/library/asyncio.html?highlight=loop#module-asyncio",
        "snippet": "asyncio is a library to write concurrent code using the async/await syntax."
        " asyncio is used as a foundation for multiple Python asynchronous frameworks & libraries.",
    },
    {
        "title": "Async IO in Python: A Complete Walkthrough – Real Python",
        "url": "https://realpython.com/async-io-python/",
        "snippet": "This tutorial will give you a firm grasp of Python's approach to async IO, which is a"
        " concurrent programming design that has received dedicated support in Python.",
    },
    {
        "title": "Simplest async/await example possible in Python - Stack Overflow",
        "url": "https://stackoverflow.com/questions/50757497/simplest-async-await-example-possible-in-python",
        "snippet": "",
    },
    {
        "title": 'PEP 3156 – Asynchronous IO Support Rebooted: the "asyncio" Module',
        "url": "https://peps.python.org/pep-3156/",
        "snippet": "This is a proposal for asynchronous I/O in Python 3, starting at Python 3.3.",
    },
]
NO_RESULTS_PAGE = """<html><body><div id="links" class="results">
<div class="no-results">No results.</div></div></body></html>"""
BOT_CHECK_PAGE = """<html><body><form id="challenge-form" action="//duckduckgo.com/anomaly.js" method="POST">
<div class="anomaly-modal__mask"><div class="anomaly-modal__modal">
<div class="anomaly-modal__title">Unfortunately, bots use DuckDuckGo too.</div>
<div class="anomaly-modal__description">Please complete the following challenge.</div>
</div></div></form></body></html>"""


class Backend:
    """A stand-in for html.duckduckgo.com on 127.0.0.1: answers `q` with the saved page, except for a
    few queries (a bot check, no results, no answer at all); records each request's method and form."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/html/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Backend:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def answer(self, query: str) -> tuple[int, bytes]:
        if query == "no answer":
            self.release.wait(60)
        pages = {"bot check": (202, BOT_CHECK_PAGE), "nothing at all": (200, NO_RESULTS_PAGE)}
        status, page = pages.get(query, (200, RESULTS_PAGE.read_text()))
        return status, page.encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self._answer(parse_qs(self.rfile.read(length).decode()))

            def do_GET(self) -> None:
                self._answer(parse_qs(urlsplit(self.path).query))

            def _answer(self, form: dict[str, list[str]]) -> None:
                backend.requests.append((self.command, form))
                status, body = backend.answer(form.get("q", [""])[0])
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def search_server(*flags: str) -> StdioServer:
    return StdioServer(sys.executable, ["-m", MODULE, *flags], name="search")


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    with Backend() as running:
        yield running


@pytest.fixture(scope="module")
def search(backend: Backend) -> Iterator[ToolCollection]:
    with ToolCollection.from_mcp(
        search_server("--backend-url", backend.url, "--timeout", str(TIMEOUT))
    ) as tools:
        yield tools


def test_the_tool_reads_the_open_world_and_changes_nothing(search: ToolCollection) -> None:
    tool = search["web_search"]
    assert [tool.name for tool in search] == ["web_search"]
    assert tool.read_only
    assert tool.annotations is not None and tool.annotations.open_world_hint is True
    assert tool.annotations.destructive_hint is False
    assert tool.output_schema is not None and set(tool.output_schema["required"]) == {"query", "results"}


def test_the_results_page_becomes_results_without_ads(search: ToolCollection, backend: Backend) -> None:
    assert search["web_search"](query=QUERY) == {"query": QUERY, "results": RESULTS}
    assert backend.requests[-1] == ("POST", {"q": [QUERY]})


def test_max_results_keeps_the_best(search: ToolCollection) -> None:
    assert search["web_search"](query=QUERY, max_results=2)["results"] == RESULTS[:2]


def test_the_server_caps_max_results(backend: Backend) -> None:
    flags = ["--backend-url", backend.url, "--max-results", "1"]
    with ToolCollection.from_mcp(search_server(*flags)) as tools:
        assert tools["web_search"](query=QUERY)["results"] == RESULTS[:1]
        assert tools["web_search"](query=QUERY, max_results=3)["results"] == RESULTS[:1]


def test_a_page_without_results_gives_none(search: ToolCollection) -> None:
    assert search["web_search"](query="nothing at all") == {"query": "nothing at all", "results": []}


def test_a_bot_check_is_an_error(search: ToolCollection, backend: Backend) -> None:
    with pytest.raises(ToolError, match="answered with a bot check instead of results; try again later"):
        search["web_search"](query="bot check")


def test_an_empty_query_is_refused_without_asking(search: ToolCollection, backend: Backend) -> None:
    before = len(backend.requests)
    with pytest.raises(ToolError, match="the query is empty"):
        search["web_search"](query="  ")
    assert len(backend.requests) == before


def test_a_backend_that_does_not_answer_times_out(search: ToolCollection, backend: Backend) -> None:
    started = time.monotonic()
    with pytest.raises(
        ToolError, match=r"timed out: 127\.0\.0\.1:\d+ did not answer within 2 s \(--timeout\)"
    ):
        search["web_search"](query="no answer")
    assert time.monotonic() - started < TIMEOUT + 3


# --- no network ---------------------------------------------------------------------------------------


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port on 127.0.0.1 where connecting hangs: its listener's queue is full, so the kernel drops
    new connection requests unanswered, as an unroutable address would."""
    with socket.socket() as listener, socket.socket() as queued:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        queued.connect(("127.0.0.1", port))  # fills the queue; never accepted
        yield port


def test_a_closed_port_fails_at_once_with_a_clear_error() -> None:
    port = closed_port()
    started = time.monotonic()
    with ToolCollection.from_mcp(search_server("--backend-url", f"http://127.0.0.1:{port}/html/")) as tools:
        connected = time.monotonic()
        with pytest.raises(ToolError, match=rf"no network: could not reach 127\.0\.0\.1:{port} \(.*refused"):
            tools["web_search"](query=QUERY)
        assert time.monotonic() - connected < 2
    assert time.monotonic() - started < 30


def test_an_unanswered_connection_fails_within_the_timeout(unanswered_port: int) -> None:
    flags = ["--backend-url", f"http://127.0.0.1:{unanswered_port}/html/", "--timeout", "1"]
    with ToolCollection.from_mcp(search_server(*flags)) as tools:
        started = time.monotonic()
        with pytest.raises(
            ToolError,
            match=rf"no network: could not reach 127\.0\.0\.1:{unanswered_port} \(no connection within 1 s\)",
        ):
            tools["web_search"](query=QUERY)
        assert 1 <= time.monotonic() - started < 4


@pytest.mark.anyio
async def test_without_network_the_default_backend_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[object] = []

    def no_dns(host: object, *args: object, **kwargs: object) -> Any:
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(ServerToolError) as raised:
        await Searcher().web_search(QUERY)
    assert str(raised.value).startswith("no network: could not reach html.duckduckgo.com (")
    assert "Name or service not known" in str(raised.value)
    assert looked_up == [b"html.duckduckgo.com"]
    assert urlsplit(DEFAULT_BACKEND_URL).hostname == "html.duckduckgo.com"


# --- another client -----------------------------------------------------------------------------------


def test_the_inspector_searches_through_the_server(backend: Backend, tmp_path: Path) -> None:
    result = inspector(
        *(sys.executable, "-m", MODULE, "--backend-url", backend.url),
        *("--method", "tools/call", "--tool-name", "web_search", "--tool-arg", f"query={QUERY}"),
        home=tmp_path,
    )
    assert result["isError"] is False
    assert result["structuredContent"] == {"query": QUERY, "results": RESULTS}
