"""Tool results too large for the model's next message, kept by the host for the model to page
through (results by reference): the model reads a preview and a handle, and asks for more with
`read_result`. A kept result is written to a file of a private temporary folder, so that the host
holds its preview, not its megabytes, for the rest of the conversation."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mcpagents.agents.memory import ToolCallRecord
from mcpagents.models.messages import ToolDefinition
from mcpagents.tools.media import media_in

DEFAULT_RESULT_LIMIT = 20_000
"""Characters of a result the model gets whole; a larger one is kept, and previewed."""
PREVIEW_CHARACTERS = 2_000
READ_RESULT = "read_result"
PAGE_CHARACTERS = 10_000
_CHUNK = 100_000
"""Characters a file of a kept result holds: a page is read from one or two of them."""

READ_DEFINITION = ToolDefinition(
    READ_RESULT,
    "Read a part of a tool result that was too large to show whole.",
    {
        "type": "object",
        "properties": {
            "handle": {"type": "string", "description": "The result's handle, e.g. result-1."},
            "start": {"type": "integer", "description": "The first character to read.", "default": 0},
            "length": {"type": "integer", "description": "How many characters.", "default": PAGE_CHARACTERS},
        },
        "required": ["handle"],
    },
)


class KeptResults:
    """The large results of one conversation. `limit`: characters a result may have to be shown whole."""

    def __init__(self, limit: int = DEFAULT_RESULT_LIMIT) -> None:
        self.limit = limit
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._sizes: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._sizes)

    def keep(self, record: ToolCallRecord) -> None:
        """Keep `record`'s result if it is too large, leaving its preview (and `size`) in the record."""
        text = oversized(record.result, self.limit)
        if text is None:
            return
        handle = f"result-{len(self._sizes) + 1}"
        for number, start in enumerate(range(0, len(text), _CHUNK)):
            self._path(handle, number).write_text(text[start : start + _CHUNK], encoding="utf-8")
        self._sizes[handle] = len(text)
        record.size = len(text)
        record.result = (
            f"[{record.name} returned {len(text):,} characters: too many to show. Kept as {handle!r}: read"
            f" on with read_result(handle={handle!r}, start={PREVIEW_CHARACTERS}). It starts:]\n"
            f"{text[:PREVIEW_CHARACTERS]}"
        )

    def read(self, handle: str, start: int = 0, length: int = PAGE_CHARACTERS) -> str:
        """Characters `start` to `start + length` of the result kept under `handle`."""
        size = self._sizes.get(handle)
        if size is None:
            known = ", ".join(self._sizes) or "none yet"
            return f"Error: no result is kept as {handle!r} (kept: {known})"
        start, length = max(0, start), max(1, min(length, PAGE_CHARACTERS * 5))
        end = min(size, start + length)
        chunks = range(start // _CHUNK, (end - 1) // _CHUNK + 1) if end > start else range(0)
        text = "".join(self._path(handle, number).read_text(encoding="utf-8") for number in chunks)
        text = text[start - start // _CHUNK * _CHUNK :][: end - start]
        more = f" ({size - end:,} more: start={end})" if end < size else " (the end)"
        return f"[{handle}, characters {start:,} to {end:,} of {size:,}{more}]\n{text}"

    def _path(self, handle: str, chunk: int) -> Path:
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="mcpagents-results-")
        return Path(self._folder.name) / f"{handle}.{chunk}"


def oversized(result: Any, limit: int) -> str | None:
    """The text of `result` (JSON data) when it is longer than `limit` characters, else None; a
    result with images or audio goes to the model its own way, never kept."""
    if isinstance(result, str):
        return result if len(result) > limit else None
    if _surely_within(result, limit) or media_in(result):
        return None
    text = json.dumps(result, ensure_ascii=False, default=str)
    return text if len(text) > limit else None


def _surely_within(value: Any, limit: int) -> bool:
    """Whether `value`'s JSON text cannot take more than `limit` characters, known without writing
    it (every tool call asks): a bound that counts each character of a string as 6, as escaped."""
    pending, total = [value], 0
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, str):
            total += 6 * len(item) + 2
        elif isinstance(item, Mapping):
            total += 2 + sum(6 * len(str(key)) + 4 for key in item)
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            total += 2 + len(item)
            pending.extend(item)
        else:
            total += 32  # a number, true, false or null
    return total <= limit


def preview(record: ToolCallRecord, limit: int) -> None:
    """Leave only the start of `record`'s result in it when the result is too large (and its
    `size`): the code that called the tool has the whole value."""
    text = oversized(record.result, limit)
    if text is not None:
        record.size = len(text)
        record.result = text[:PREVIEW_CHARACTERS]
