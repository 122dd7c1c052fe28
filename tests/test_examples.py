"""Every example runs offline and prints what it promises."""

from __future__ import annotations

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
