"""An image: what a tool returns, what a message carries to a model, what `run(images=...)` takes.

One type for all three, so a tool's picture can go to a model as it came. It holds raw bytes with
their MIME type, or a URL that the model's provider fetches itself. Importing it loads nothing else.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Image:
    """`Image(png_bytes, "image/png")`, or `Image(url="https://...")` for a provider to fetch."""

    data: bytes = b""
    mime_type: str = "image/png"
    url: str | None = None

    def to_url(self) -> str:
        """`url`, else the bytes as a `data:` URL (what OpenAI-style chat messages take)."""
        return self.url or f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode()}"

    def _repr_mimebundle_(self, **_: Any) -> dict[str, bytes]:
        """Shown as the picture in Jupyter."""
        return {self.mime_type: self.data}
