"""Any value a tool returns, as plain JSON data: what crosses a process boundary and goes into memory."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from typing import Any


def to_json(value: Any) -> Any:
    """`value` as JSON data: content objects (dataclasses) become dicts with their `type`, bytes
    base64, tuples lists; anything else its text."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__.lower(), **fields}
    return str(value)
