"""A "did you mean" for a model file that is not there (a script, a GGUF file): the files beside it
whose names are close, since the usual cause is a typo in a spec."""

from __future__ import annotations

import difflib
from pathlib import Path


def similar_files(path: Path) -> str:
    """` (did you mean ...?)` naming the closest files in `path`'s folder, or `""` when none is close."""
    try:
        names = [entry.name for entry in path.parent.iterdir() if entry.is_file()]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1)
    return f" (did you mean {path.parent / close[0]}?)" if close else ""
