"""W3C trace context (`traceparent`), as MCP carries it: in a request's `_meta`, under the keys
`traceparent` and `tracestate`, so that one trace follows a question through agents and servers."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


# Ids need to be unique, not secret (OpenTelemetry's SDK draws them the same way), and a span per
# tool call should not cost a system call.
def new_trace_id() -> str:
    return f"{random.getrandbits(128) or 1:032x}"


def new_span_id() -> str:
    return f"{random.getrandbits(64) or 1:016x}"


@dataclass(frozen=True)
class TraceParent:
    """Where a request comes from: its trace, the span that sent it, whether that trace is sampled."""

    trace_id: str
    span_id: str
    sampled: bool = True
    state: str | None = None
    """The `tracestate` that came with it, passed on unchanged."""

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any] | None) -> TraceParent | None:
        """The trace context a request's `_meta` carries; a malformed or all-zero one counts as none."""
        value = (meta or {}).get(TRACEPARENT)
        match = _TRACEPARENT.match(value.strip().lower()) if isinstance(value, str) else None
        if match is None or set(match.group(1)) == {"0"} or set(match.group(2)) == {"0"}:
            return None
        state = (meta or {}).get(TRACESTATE)
        return cls(
            match.group(1),
            match.group(2),
            int(match.group(3), 16) & 1 == 1,
            state if isinstance(state, str) else None,
        )

    def meta(self) -> dict[str, str]:
        """The `_meta` entries of a request sent from this span."""
        entries = {TRACEPARENT: f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"}
        if self.state:
            entries[TRACESTATE] = self.state
        return entries
