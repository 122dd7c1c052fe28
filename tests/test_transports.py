"""Servers reached through MCP SDK transports handed in from outside: the SDK's own, and one of our own."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import mcp_types
import pytest
from mcp import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage

from mcpagents import MCPServerError, ToolCollection, TransportServer
from tests.conftest import CALC_SERVER, http_calc

CALC = StdioServerParameters(command=sys.executable, args=[str(CALC_SERVER)])


@contextmanager
def sdk_stdio(log: Path) -> Iterator[AbstractAsyncContextManager[Any]]:
    with log.open("w") as errlog:
        yield stdio_client(CALC, errlog=errlog)


@contextmanager
def sdk_http(log: Path) -> Iterator[AbstractAsyncContextManager[Any]]:
    with http_calc("--http") as base:
        yield streamable_http_client(base + "/mcp")


@pytest.mark.parametrize(
    ("open_transport", "name"), [(sdk_stdio, "stdio_client"), (sdk_http, "streamable_http_client")]
)
def test_an_sdk_transport_object_serves_one_connection(
    open_transport: Callable[[Path], AbstractContextManager[AbstractAsyncContextManager[Any]]],
    name: str,
    tmp_path: Path,
) -> None:
    with open_transport(tmp_path / "stderr.log") as transport, ToolCollection.from_mcp(transport) as tools:
        (status,) = tools.status()
        assert (status.name, status.description) == (name, f"{name} (MCP SDK transport)")
        assert tools["add"](a=1, b=2) == 3
        with pytest.raises(MCPServerError, match=f"server '{name}' lost its connection"):
            tools["die"]()
        with pytest.raises(
            MCPServerError, match="cannot be connected again: a transport object serves one connection"
        ):
            tools["add"](a=1)


class NotedStdio:
    """A transport class of the test's own: the SDK's stdio transport, noting every request's method."""

    def __init__(self, methods: list[str]) -> None:
        self._methods = methods
        self._stdio = stdio_client(CALC)

    async def __aenter__(self) -> tuple[object, NotedWrites]:
        reads, writes = await self._stdio.__aenter__()
        return reads, NotedWrites(writes, self._methods)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> bool | None:
        return await self._stdio.__aexit__(kind, error, traceback)


class NotedWrites:
    def __init__(self, inner: Any, methods: list[str]) -> None:
        self._inner = inner
        self._methods = methods

    async def send(self, item: SessionMessage, /) -> None:
        if isinstance(item.message, mcp_types.JSONRPCRequest):
            self._methods.append(item.message.method)
        await self._inner.send(item)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> NotedWrites:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def test_a_transport_class_of_ones_own_given_as_a_factory_is_reconnected() -> None:
    methods: list[str] = []
    opened: list[NotedStdio] = []

    def open_noted() -> NotedStdio:
        opened.append(NotedStdio(methods))
        return opened[-1]

    with ToolCollection.from_mcp(TransportServer(open_noted, name="noted")) as tools:
        assert tools["add"](a=2, b=2) == 4
        with pytest.raises(MCPServerError, match="server 'noted' lost its connection"):
            tools["die"]()
        assert tools["add"](a=3, b=3) == 6
    assert len(opened) == 2
    assert methods.count("tools/call") == 3
