"""Spans mirrored to OpenTelemetry, when there is somewhere for them to go.

The OpenTelemetry API comes with the MCP SDK, which already makes a span for each MCP request it
sends or serves and carries the trace context in `_meta`. mcpagents' spans join them: while a run's
span is current, the SDK's `tools/call` spans are its children. Spans record when the program set
up an OpenTelemetry SDK itself (Logfire, a TracerProvider of its own), or when the standard
`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` variables (or a spec's
`tracing.otlp_endpoint`) name a collector: then mcpagents sets up the SDK with an OTLP/HTTP
exporter (the `otel` extra: `pip install 'mcpagents[otel]'`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context, trace

from mcpagents.tracing.spans import Span
from mcpagents.tracing.trace_context import TraceParent

logger = logging.getLogger(__name__)

_KINDS = {
    "internal": trace.SpanKind.INTERNAL,
    "client": trace.SpanKind.CLIENT,
    "server": trace.SpanKind.SERVER,
}
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_configured: set[str] = set()
_tracer = trace.get_tracer("mcpagents")


def configure_otlp(endpoint: str | None = None) -> None:
    """Export spans over OTLP/HTTP to `endpoint` (else the standard variables' collector), once per
    process, unless the program set up OpenTelemetry itself or the variables turn traces off."""
    key = endpoint or ""
    if key in _configured:
        return
    if endpoint is None and not any(os.environ.get(name) for name in _ENDPOINT_VARIABLES):
        return  # nothing to set up (yet: the variables are looked at again for the next agent)
    _configured.add(key)
    if (
        os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none"
        or os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    ):
        return
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return  # the program's own setup wins
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning(
            "an OTLP endpoint is configured but the OpenTelemetry SDK is not installed:"
            " pip install 'mcpagents[otel]'"
        )
        return
    traces = endpoint.rstrip("/") + "/v1/traces" if endpoint else None
    service = os.environ.get("OTEL_SERVICE_NAME") or "mcpagents"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
    trace.set_tracer_provider(provider)


def flush_soon() -> None:
    """Send the spans still buffered now, from a thread of its own (exporting blocks): a served
    agent's host may end it at any time, before the exporter's next batch."""
    force_flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if force_flush is not None:
        threading.Thread(target=force_flush, name="mcpagents-span-flush", daemon=True).start()


def recording() -> bool:
    """Whether an OpenTelemetry SDK is set up: without one, spans are not mirrored at all."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def has_current_span() -> bool:
    """Whether a span is OpenTelemetry's current one (the program's, or the MCP SDK's)."""
    return bool(trace.get_current_span().get_span_context().is_valid)


def start(span: Span, parent: Span | TraceParent | None) -> None:
    """Start `span`'s OpenTelemetry twin (only when an SDK is set up: see `recording`); when it
    records, `span` takes its ids."""
    if isinstance(parent, Span) and parent.native is not None:
        context = trace.set_span_in_context(parent.native)
    elif has_current_span():
        context = None  # the SDK's span of the request being served, or the program's own
    elif parent is not None:
        remote = trace.SpanContext(
            int(parent.trace_id, 16),
            int(parent.span_id, 16),
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED if parent.sampled else 0),
        )
        context = trace.set_span_in_context(trace.NonRecordingSpan(remote))
    else:
        context = None
    native = _tracer.start_span(
        span.name, context=context, kind=_KINDS[span.kind], start_time=int(span.start * 1e9)
    )
    if not native.is_recording():
        return
    ids = native.get_span_context()
    span.native = native
    span.trace_id, span.span_id = f"{ids.trace_id:032x}", f"{ids.span_id:016x}"
    span.sampled = bool(ids.trace_flags & trace.TraceFlags.SAMPLED)
    parent_ids = getattr(native, "parent", None)
    span.parent_id = f"{parent_ids.span_id:016x}" if parent_ids is not None else None


def end(span: Span) -> None:
    native = span.native
    if native is None:
        return
    native.set_attributes({key: _attribute(value) for key, value in span.attributes.items()})
    if span.status == "error":
        native.set_status(trace.StatusCode.ERROR, span.error)
    elif span.status == "ok":
        native.set_status(trace.StatusCode.OK)
    native.end(end_time=int((span.end or 0) * 1e9) or None)


@contextmanager
def current(span: Span) -> Iterator[None]:
    """`span` as OpenTelemetry's current span: the MCP SDK's request spans become its children, and
    the trace context it puts in their `_meta` is this span's."""
    native = span.native
    if native is None and not has_current_span():
        yield  # the SDK puts no trace context in `_meta`: this span's, put there by the caller, stays
        return
    if native is None:  # still the parent of what the SDK sends: it injects the current span's context
        flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if span.sampled else 0)
        native = trace.NonRecordingSpan(
            trace.SpanContext(
                int(span.trace_id, 16), int(span.span_id, 16), is_remote=False, trace_flags=flags
            )
        )
    token = otel_context.attach(trace.set_span_in_context(native))
    try:
        yield
    finally:
        otel_context.detach(token)


def _attribute(value: Any) -> Any:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return list(value)
    return json.dumps(value, ensure_ascii=False, default=str)
