"""Images and audio a tool returned, shown to a model or a person: as themselves to a model that
takes them, otherwise as a one-line placeholder naming the file they were saved to.

Agents keep tool results as JSON data (`json_data.to_json`), where an `Image` is
`{"type": "image", "data": BASE64, "mime_type": ..., "url": ...}` and an `Audio`
`{"type": "audio", "data": BASE64, "mime_type": ...}`; `media_in` finds them there again, and
`Attachments` takes their base64 out of the text a model reads.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import mimetypes
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mcpagents.errors import ConfigError
from mcpagents.tools.image import Image

MediaKind = Literal["image", "audio"]
MEDIA_DIR_VARIABLE = "MCPAGENTS_MEDIA_DIR"
_CUT_PREFIX = 256
"""Characters of base64 that identify a medium in a text cut short before its end."""
_BASE64_RUN = "[A-Za-z0-9+/=]*"


@dataclass(frozen=True)
class Audio:
    data: bytes
    mime_type: str


Media = Image | Audio


def kind_of(item: Media) -> MediaKind:
    return "image" if isinstance(item, Image) else "audio"


def media_dir() -> Path:
    """`$MCPAGENTS_MEDIA_DIR`, else `mcpagents-media-UID` in the system's temporary folder."""
    if configured := os.environ.get(MEDIA_DIR_VARIABLE):
        return Path(configured)
    owner = f"-{os.getuid()}" if hasattr(os, "getuid") else ""
    return Path(tempfile.gettempdir()) / f"mcpagents-media{owner}"


def save_media(item: Media, folder: Path | None = None) -> Path:
    """Write `item`'s bytes into `folder` (default `media_dir()`), in a file named by their hash (the
    same picture is written once), and return its path."""
    folder = folder or media_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # A shared temporary folder: a folder of that name made by another user is not written into.
    if hasattr(os, "getuid") and folder.lstat().st_uid != os.getuid():
        raise ConfigError(
            f"{folder} belongs to another user: set ${MEDIA_DIR_VARIABLE} to a folder of your own"
        )
    extension = mimetypes.guess_extension(item.mime_type) or ".bin"
    path = folder / f"{hashlib.sha256(item.data).hexdigest()[:16]}{extension}"
    if not path.exists():
        path.write_bytes(item.data)
    return path


def describe_media(item: Media, where: str) -> str:
    """`[image/png, 2.5 kB: WHERE]`."""
    return f"[{item.mime_type}, {_size(len(item.data))}: {where}]"


def saved(item: Media, folder: Path | None = None) -> str:
    """The placeholder of `item` once saved (or saying why it could not be)."""
    try:
        return describe_media(item, f"saved to {save_media(item, folder)}")
    except (OSError, ConfigError) as error:
        return describe_media(item, f"not saved: {error}")


def media_in(value: Any) -> list[Media]:
    """The images and audio held in a tool result kept as JSON data, in order."""
    if isinstance(value, list):
        return [item for element in value for item in media_in(element)]
    if not isinstance(value, dict):
        return []
    kind, data, mime_type = value.get("type"), value.get("data"), value.get("mime_type")
    if kind in ("image", "audio") and isinstance(data, str) and isinstance(mime_type, str):
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return []
        return [Image(raw, mime_type) if kind == "image" else Audio(raw, mime_type)]
    return [item for element in value.values() for item in media_in(element)]


class Attachments:
    """The images and audio of one observation.

    `show(text, results)` replaces the base64 of each medium of `results` (JSON data) that `text`
    holds — whole, or its start where the text was cut — by a placeholder: `attached below` for a
    kind the model takes (`accepts`), which is then kept in `items`; otherwise the file it was
    saved to. A medium the text does not hold is neither shown nor saved.
    """

    def __init__(self, accepts: Callable[[MediaKind], bool]) -> None:
        self.accepts = accepts
        self.items: list[Media] = []

    def show(self, text: str, results: Iterable[Any]) -> str:
        for item in (item for result in results for item in media_in(result)):
            encoded = base64.b64encode(item.data).decode()
            pattern = (
                re.escape(encoded) if encoded in text else re.escape(encoded[:_CUT_PREFIX]) + _BASE64_RUN
            )
            if not encoded or not re.search(pattern, text):
                continue
            if self.accepts(kind_of(item)):
                if item not in self.items:
                    self.items.append(item)
                number = self.items.index(item) + 1
                placeholder = describe_media(item, f"{kind_of(item)} {number}, attached below")
            else:
                placeholder = saved(item)
            text = re.sub(pattern, placeholder.replace("\\", "\\\\"), text)  # a Windows path stays literal
        return text

    def parts(self) -> list[str | Media]:
        """The message parts that carry the kept media, each after its label."""
        parts: list[str | Media] = []
        for number, item in enumerate(self.items, 1):
            parts += [f"{kind_of(item)} {number}:", item]
        return parts


def _size(count: int) -> str:
    if count < 1000:
        return f"{count} B"
    if count < 1_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1_000_000:.1f} MB"
