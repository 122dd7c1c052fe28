"""An image: what a tool returns, what a message carries to a model, what `run(images=...)` takes.

One type for all three, so a tool's picture can go to a model as it came. It holds raw bytes with
their MIME type, or a URL that the model's provider fetches itself. Importing it loads nothing else:
`Image.of` takes what smolagents programs pass (PIL images, paths) without Pillow being a dependency.
"""

from __future__ import annotations

import base64
import io
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeAlias


class SavesImage(Protocol):
    """A PIL image, as far as `Image.of` needs one."""

    def save(self, fp: Any, format: str | None = None) -> Any: ...


@dataclass(frozen=True)
class Image:
    """`Image(png_bytes, "image/png")`, or `Image(url="https://...")` for a provider to fetch."""

    data: bytes = b""
    mime_type: str = "image/png"
    url: str | None = None

    @classmethod
    def of(cls, value: ImageInput) -> Image:
        """`value` as an `Image`: an Image as it is; an http(s) or data URL as `Image(url=...)`; a
        path as the file's bytes; a PIL image (anything with `save(fp, format)`) as PNG bytes."""
        if isinstance(value, Image):
            return value
        if isinstance(value, str) and value.startswith(("http://", "https://", "data:")):
            return cls(url=value)
        if isinstance(value, str | os.PathLike):
            path = Path(value)
            return cls(path.read_bytes(), mimetypes.guess_type(path.name)[0] or "image/png")
        if callable(getattr(value, "save", None)):
            buffer = io.BytesIO()
            value.save(buffer, format="PNG")
            return cls(buffer.getvalue(), "image/png")
        raise TypeError(f"not an image: {type(value).__name__} (give an Image, a path, a URL or a PIL image)")

    def to_url(self) -> str:
        """`url`, else the bytes as a `data:` URL (what OpenAI-style chat messages take)."""
        return self.url or f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode()}"

    def _repr_mimebundle_(self, **_: Any) -> dict[str, bytes]:
        """Shown as the picture in Jupyter."""
        return {self.mime_type: self.data}


ImageInput: TypeAlias = Image | SavesImage | str | os.PathLike[str]
"""What `run(images=...)` and `ActionStep.observations_images` take (see `Image.of`)."""
