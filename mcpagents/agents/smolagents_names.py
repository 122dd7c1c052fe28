"""The keywords of smolagents' agents that mcpagents does not take, each with what to use instead:
a ported program fails with advice, not a bare TypeError (see docs/porting.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcpagents.errors import ConfigError

UNSUPPORTED: Mapping[str, str] = {
    "add_base_tools": "mcpagents has no base tools; give the agent the MCP servers or @tool functions it"
    " needs (the bundled ones: mcpagents.servers, e.g. StdioServer(sys.executable, ['-m',"
    " 'mcpagents.servers.calculator']))",
    "logger": "the console is the agent's own: set verbosity_level=, or watch steps with step_callbacks="
    " or run(stream=True)",
    "max_tool_threads": "a step's tool calls run concurrently on the event loop, not in threads; bound"
    " them with budget=Budget(max_tool_calls_per_step=N)",
    "use_structured_outputs_internally": "a CodeAgent already asks models that support it for code"
    " (CodeFormat); remove the keyword",
    "code_block_tags": "code is read from ```python fences or <code> tags; remove the keyword",
    "grammar": "models are constrained per request (response_format); remove the keyword",
    "timeout": "a CodeAgent's step_timeout= bounds the code's own time in a step, and"
    " budget=Budget(max_seconds=...) the whole run",
    "executor_kwargs": "only a CodeAgent takes executor_kwargs",
}


def refuse_unsupported(given: Mapping[str, Any]) -> None:
    """Raise a ConfigError for the first smolagents keyword in `given` that mcpagents does not take."""
    for name in given:
        if name in UNSUPPORTED:
            raise ConfigError(f"{name}= (a smolagents option) is not supported: {UNSUPPORTED[name]}")
