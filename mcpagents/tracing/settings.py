"""What an agent records of its runs: `Tracing`, from the agent, the spec or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mcpagents.tracing.run_log import default_run_dir

RUN_LOG_VARIABLE = "MCPAGENTS_RUN_LOG"
CONTENT_VARIABLES = ("MCPAGENTS_TRACE_CONTENT", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Tracing:
    """`run_log`: write each run to a run log (`mcpagents runs`, the hub page) in `run_dir`;
    `content`: put prompts, model output, tool arguments and results into spans, which may leave
    this machine (the run log keeps them regardless: it stays here); `otlp_endpoint`: export spans
    to this OTLP/HTTP collector (else the standard OTEL_EXPORTER_OTLP_* variables decide).

    None means: as the environment says (`MCPAGENTS_RUN_LOG=off`, `MCPAGENTS_RUN_DIR`,
    `MCPAGENTS_TRACE_CONTENT=true` or `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`)."""

    run_log: bool | None = None
    run_dir: Path | None = None
    content: bool | None = None
    otlp_endpoint: str | None = None

    def resolved(self) -> Tracing:
        """These settings with the environment's answer in place of each None."""
        run_log = self.run_log
        if run_log is None:
            run_log = os.environ.get(RUN_LOG_VARIABLE, "").strip().lower() not in _OFF
        content = self.content
        if content is None:
            content = any(os.environ.get(name, "").strip().lower() in _ON for name in CONTENT_VARIABLES)
        run_dir = self.run_dir if self.run_dir is not None else default_run_dir()
        return Tracing(run_log, run_dir, content, self.otlp_endpoint)
