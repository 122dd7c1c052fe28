"""`mcpagents ui` as the tests start it: a real process in a scratch home, with the hub's test specs
(tests/data/hub), a Cursor config holding a calculator, a server whose tool takes every kind of form
field and a server that cannot start, Claude Code's
calculator for the hub's folder (and a server for another folder), and a run folder holding two logged
runs of one trace."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data" / "hub"
TOKEN = "hub-test-token"
SPECS = ("helper.yaml", "slow.yaml", "asker.yaml")
BROKEN_COMMAND = "/nonexistent/mcp-server-broken"
FORM_SERVER = Path(__file__).parent / "servers" / "form_server.py"


@dataclass(frozen=True)
class Hub:
    url: str
    """The base URL, `http://127.0.0.1:PORT`."""
    page: str
    """The URL printed for the browser, with the token in its fragment."""
    home: Path
    run_dir: Path


@contextmanager
def running_hub(folder: Path) -> Iterator[Hub]:
    """`mcpagents ui` serving the test specs from `folder` until the block ends (then stopped with
    SIGTERM, which must end it cleanly)."""
    home, run_dir = folder / "home", folder / "runs"
    (home / ".cursor").mkdir(parents=True)
    servers = {"calc": {"builtin": "calculator"}, "broken": {"command": BROKEN_COMMAND}}
    servers["form"] = {"command": sys.executable, "args": [str(FORM_SERVER)]}
    (home / ".cursor" / "mcp.json").write_text(json.dumps({"mcpServers": servers}))
    # Claude Code's "local" servers: those of each project folder, in ~/.claude.json among its other keys.
    projects = {str(folder): {"mcpServers": {"local-calc": {"builtin": "calculator"}}}}
    projects["/elsewhere"] = {"mcpServers": {"elsewhere": {"command": BROKEN_COMMAND}}}
    (home / ".claude.json").write_text(json.dumps({"numStartups": 3, "projects": projects}))
    shutil.copytree(DATA / "runs", run_dir)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("MCPAGENTS_", "XDG_"))}
    env |= {"HOME": str(home), "MCPAGENTS_RUN_DIR": str(run_dir)}
    command = [sys.executable, "-m", "mcpagents", "ui", *(str(DATA / spec) for spec in SPECS)]
    command += ["--no-browser", "--token", TOKEN]
    process = subprocess.Popen(command, cwd=folder, env=env, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=read_lines, args=(process, lines), daemon=True)
    reader.start()
    said: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                raise AssertionError(f"mcpagents ui announced no URL within 60 s: {said}") from None
            said.append(line)
            if found := re.search(r"the hub is at (?P<page>(?P<url>http://\S+?)/#token=\S+)", line):
                break
        yield Hub(found["url"], found["page"], home, run_dir)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    reader.join(timeout=10)
    while not lines.empty():
        said.append(lines.get_nowait())
    assert "Traceback" not in "".join(said), "".join(said)


def read_lines(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        lines.put(line)
