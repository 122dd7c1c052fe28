"""A span: one timed piece of a run (the run, a step, a model call, a tool call), kept in the run log
and mirrored to OpenTelemetry when it is set up (`otel.py`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from mcpagents.tracing.trace_context import TraceParent

SpanKind = Literal["internal", "client", "server"]
SpanStatus = Literal["unset", "ok", "error"]


@dataclass(eq=False)
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    kind: SpanKind = "internal"
    start: float = field(default_factory=time.time)
    end: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    status: SpanStatus = "unset"
    error: str | None = None
    sampled: bool = True
    native: Any = field(default=None, repr=False)
    """The OpenTelemetry span this one is mirrored to, if any."""

    def context(self, state: str | None = None) -> TraceParent:
        """This span as the parent of a request it sends."""
        return TraceParent(self.trace_id, self.span_id, self.sampled, state)

    def fail(self, error: BaseException | str) -> None:
        self.status = "error"
        self.error = error if isinstance(error, str) else f"{type(error).__name__}: {error}"

    def record(self) -> dict[str, Any]:
        """The span as a run-log record (its trace is the run's, in the log's header)."""
        return {
            "type": "span",
            "name": self.name,
            "kind": self.kind,
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "start": self.start,
            "end": self.end,
            "attributes": self.attributes,
            "status": self.status,
            "error": self.error,
        }
