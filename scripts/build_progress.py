"""Shows how far a compile is while `pip install -v` builds a package from source: reads pip's output
on stdin and prints ninja's `[done/total]` counts as one line (rewritten in a terminal, else every
tenth of the way), so a first `make demo` says what it is doing during its minutes of compiling.

    pip install -v PACKAGE 2>&1 | python scripts/build_progress.py "compiling llama.cpp"
"""

from __future__ import annotations

import re
import sys
import time

STEP = re.compile(r"\[(\d+)/(\d+)\]")


def main(what: str) -> None:
    started = time.monotonic()
    terminal = sys.stdout.isatty()
    shown_tenth = -1
    compiled = False
    for line in sys.stdin:
        match = STEP.search(line)
        if match is None:
            continue
        compiled = True
        done, total = int(match.group(1)), int(match.group(2))
        elapsed = int(time.monotonic() - started)
        status = f"{what}: {done}/{total} ({elapsed // 60}:{elapsed % 60:02d})"
        if terminal:
            print(f"\r{status}", end="", flush=True)
        elif (tenth := done * 10 // total) > shown_tenth:
            shown_tenth = tenth
            print(status, flush=True)
    if compiled and terminal:
        print()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "compiling")
