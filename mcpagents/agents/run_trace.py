"""The trace of one run: its spans (the run, each step, each model call, each tool call), named and
described with OpenTelemetry's GenAI and MCP conventions, and its run log."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import anyio

from mcpagents.agents.event_records import event_record
from mcpagents.agents.results import AgentEvent, ModelDelta, RunResult, ToolCallFinished, ToolCallStarted
from mcpagents.tracing import otel
from mcpagents.tracing.run_log import RunLogWriter
from mcpagents.tracing.settings import Tracing
from mcpagents.tracing.spans import Span, SpanKind
from mcpagents.tracing.trace_context import TraceParent, new_span_id, new_trace_id

_NOT_LOGGED = (ModelDelta, ToolCallStarted, ToolCallFinished, RunResult)


class RunTrace:
    """Spans and run log of one run. `parent`: where the run was called from (a served run: the
    caller's request); `trace_id`: the trace of a call that came without one (a caller that does
    not trace); `chain`: the agents the call went through, outermost first."""

    def __init__(
        self,
        tracing: Tracing,
        *,
        agent: str,
        model: str,
        task: str,
        tools: Sequence[str],
        parent: TraceParent | None,
        trace_id: str | None = None,
        chain: Sequence[str],
        caller: str | None = None,
    ) -> None:
        settings = tracing.resolved()
        self.content = bool(settings.content)
        self._mirrored = otel.recording()  # asked once per run: the answer costs an environment lookup
        self._made_current = self._mirrored or otel.has_current_span()
        """Whether spans become OpenTelemetry's current span: only where something would read it (an
        SDK, or a span around the run, such as the MCP SDK's span of the request being served)."""
        self._parent = parent
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent,
            "gen_ai.request.model": model,
            "mcpagents.chain.depth": max(0, len(chain) - 1),
            "mcpagents.chain.agents": list(chain),
        }
        if self.content:
            attributes["mcpagents.task"] = task
        self.run_span = self._start(
            f"invoke_agent {agent}",
            "server" if parent is not None or trace_id is not None else "internal",
            parent,
            attributes,
            trace_id,
        )
        self.log: RunLogWriter | None = None
        if settings.run_log and settings.run_dir is not None:
            header: dict[str, Any] = {
                "type": "run",
                "run_id": self.run_span.span_id,
                "trace_id": self.run_span.trace_id,
                "parent_span_id": parent.span_id if parent is not None else None,
                "agent": agent,
                "model": model,
                "task": task,
                "started": self.run_span.start,
                "chain": list(chain),
                "depth": attributes["mcpagents.chain.depth"],
                "pid": os.getpid(),
                "tools": list(tools),
            }
            if caller is not None:
                header["caller"] = caller
            self.log = RunLogWriter(settings.run_dir, header)

    @property
    def trace_id(self) -> str:
        return self.run_span.trace_id

    def _start(
        self,
        name: str,
        kind: SpanKind,
        parent: Span | TraceParent | None,
        attributes: dict[str, Any],
        trace_id: str | None = None,
    ) -> Span:
        if parent is None:
            span = Span(name, trace_id or new_trace_id(), new_span_id(), None, kind, attributes=attributes)
        else:
            parent_id = parent.span_id
            span = Span(name, parent.trace_id, new_span_id(), parent_id, kind, attributes=attributes)
        if self._mirrored:
            otel.start(span, parent)
        return span

    @contextmanager
    def span(
        self,
        name: str,
        parent: Span | None = None,
        *,
        kind: SpanKind = "internal",
        attributes: Mapping[str, Any] | None = None,
    ) -> Iterator[Span]:
        """A span under `parent` (else the run's) for the block; an exception ends it as an error.
        It is OpenTelemetry's current span meanwhile, so MCP requests sent in it are its children."""
        span = self._start(name, kind, parent or self.run_span, dict(attributes or {}))
        try:
            if self._made_current:
                with otel.current(span):
                    yield span
            else:
                yield span
        except BaseException as error:
            span.fail(error)
            raise
        finally:
            self.end(span)

    def end(self, span: Span) -> None:
        span.end = time.time()
        otel.end(span)
        if self.log is not None:
            self.log.write(span.record())

    def model_call(self, span: Span, messages: Sequence[Any], response: Any) -> None:
        """What a model call span says of the call once it is answered."""
        span.attributes["gen_ai.usage.input_tokens"] = response.usage.input_tokens
        span.attributes["gen_ai.usage.output_tokens"] = response.usage.output_tokens
        if self.content:
            span.attributes["gen_ai.input.messages"] = json.dumps(
                [message.to_dict() for message in messages], ensure_ascii=False, default=str
            )
            span.attributes["gen_ai.output.messages"] = response.text

    def tool_result(self, span: Span, result: Any, error: str | None) -> None:
        if error is not None:
            span.fail(error)
        elif self.content:
            span.attributes["gen_ai.tool.call.result"] = json.dumps(result, ensure_ascii=False, default=str)

    def tool_attributes(self, name: str, arguments: Mapping[str, Any], call_id: str | None) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "mcp.method.name": "tools/call",
        }
        if call_id is not None:
            attributes["gen_ai.tool.call.id"] = call_id
        if self.content:
            attributes["gen_ai.tool.call.arguments"] = json.dumps(arguments, ensure_ascii=False, default=str)
        return attributes

    def record(self, event: AgentEvent) -> None:
        """An event of the run, for the run log. Not the streamed deltas, nor a tool call's start and
        result: the step's record holds them whole (and its spans, their timing); the result comes
        last, with `finish`."""
        if self.log is None or isinstance(event, _NOT_LOGGED):
            return
        record = event_record(event)
        record["time"] = time.time()
        self.log.event(record)
        if record["type"] in ("action", "planning"):
            self.log.flush()  # a live run can be followed step by step

    def finish(self, result: RunResult | None, error: BaseException | None = None) -> None:
        """End the run's span (an error if the run failed) and close the run log, the result last."""
        span = self.run_span
        if error is not None:
            span.fail(error)
        elif result is not None:
            span.attributes["mcpagents.run.state"] = result.state
            span.attributes["gen_ai.usage.input_tokens"] = result.token_usage.input_tokens
            span.attributes["gen_ai.usage.output_tokens"] = result.token_usage.output_tokens
            if result.state == "error":
                span.fail(result.error or "the run failed")
        self.end(span)
        if span.kind == "server" and span.native is not None:
            otel.flush_soon()
        if self.log is not None:
            if result is not None:
                self.log.write({**event_record(result), "time": time.time()})
            elif error is not None:  # the run never got to its result: say how it ended instead
                self.log.write(self._ended(error))
            self.log.close()

    def _ended(self, error: BaseException) -> dict[str, Any]:
        stopped = isinstance(error, KeyboardInterrupt | anyio.get_cancelled_exc_class())
        return {
            "type": "result",
            "output": None,
            "state": "cancelled" if stopped else "error",
            "error": "the run was cancelled" if stopped else f"{type(error).__name__}: {error}",
            "token_usage": {"input_tokens": 0, "output_tokens": 0},
            "timing": {"start": self.run_span.start, "end": time.time(), "steps": []},
            "time": time.time(),
        }
