"""Sync twins: the shared loop driven by waiting threads, handed over, and run in the background."""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mcpagents import Progress, ToolCollection
from tests.conftest import calc


def test_sync_calls_from_many_threads_run_concurrently() -> None:
    with ToolCollection.from_mcp(calc()) as tools, ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: tools["rendezvous"](parties=6), range(6)))
        assert results == ["met"] * 6, "all six calls were in flight at once"
        assert list(pool.map(lambda n: tools["add"](a=n, b=n), range(60))) == [2 * n for n in range(60)]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_server_messages_are_handled_between_calls(mode: str) -> None:
    changed = threading.Event()
    with ToolCollection.from_mcp(calc(mode=mode), on_tools_changed=lambda _: changed.set()) as tools:
        assert tools["grow_later"](name="late") == "scheduled"
        assert not changed.is_set()
        assert changed.wait(10), "no call was running: the background driver handled the announcement"
        assert tools["late"](text="ok") == "ok"


def test_ctrl_c_during_a_sync_call_cancels_the_request_and_keeps_the_collection() -> None:
    def interrupt(report: Progress) -> None:
        assert threading.current_thread() is threading.main_thread(), "callbacks run in the calling thread"
        os.kill(os.getpid(), signal.SIGINT)

    with ToolCollection.from_mcp(calc()) as tools:
        with pytest.raises(KeyboardInterrupt):
            tools["hang"].call_with({}, on_progress=interrupt)
        assert tools["cancelled"]() == 1, "the server saw the request cancelled"
        assert tools["add"](a=1) == 3
