"""Every example runs offline and prints what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_quickstart_tools() -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart_tools.py")], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "get_current_time(timezone: string)  [server 'time']" in run.stdout
    assert "word_count(text: string)  [server 'local']" in run.stdout
    assert "in Tokyo." in run.stdout and "+09:00" in run.stdout
    assert run.stdout.rstrip().endswith("Words: 7")


def test_quickstart_agent_answers_with_the_calculator_offline() -> None:
    """The README's main job: the embedded model calls the calculator server and answers."""
    offline = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
    offline.pop("MCPAGENTS_MODEL", None)
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), "What is 12 plus 30?"],
        capture_output=True,
        text=True,
        timeout=300,
        env=offline,
    )
    assert run.returncode == 0, run.stderr
    assert "add" in run.stdout  # the console shows the tool call
    assert run.stdout.rstrip().endswith("What is 12 plus 30? -> 42"), run.stdout[-2000:]
