"""An agent as an MCP server: one tool, named after the agent, that runs it.

The same server serves a managed agent to its manager in-process and, through the transports of
`mcpagents serve`, to any MCP host: to a manager both look alike. Each call is a fresh run. Every
step goes out as a progress notification with a strictly increasing value.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import mcp_types
from mcp.server import Server, ServerRequestContext

from mcpagents.agents.memory import ActionStep, PlanningStep
from mcpagents.agents.results import AgentEvent, RunResult, ToolCallStarted, ToolProgress
from mcpagents.errors import ToolArgumentError
from mcpagents.tools.arguments import ArgumentChecker

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent

AGENT_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "task": {"type": "string", "description": "What the agent should do, in full sentences."},
        "context": {
            "type": "string",
            "description": "Anything the agent needs to know that the task does not say.",
        },
    },
    "required": ["task"],
    "additionalProperties": False,
}


def answer_schema(output_schema: dict[str, Any] | None) -> dict[str, Any]:
    """The tool's output: the answer (shaped by the agent's output schema), how the run ended, its size."""
    return {
        "type": "object",
        "properties": {
            "answer": output_schema or {"description": "The agent's final answer."},
            "state": {"enum": ["success", "max_steps_reached", "error"]},
            "steps": {"type": "integer", "description": "How many steps the run took."},
            "token_usage": {
                "type": "object",
                "properties": {"input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"}},
                "required": ["input_tokens", "output_tokens"],
            },
        },
        "required": ["answer", "state", "steps", "token_usage"],
    }


def agent_server(agent: MultiStepAgent) -> Server[Any]:
    """A low-level MCP server whose single tool runs `agent` (a fresh run per call)."""
    if not agent.name or not agent.description:
        raise ValueError("an agent served as a tool needs a `name` and a `description`")
    definition = mcp_types.Tool(
        name=agent.name,
        description=agent.tool_description(),
        input_schema=AGENT_INPUT_SCHEMA,
        output_schema=answer_schema(agent.output_json_schema),
    )
    checker = ArgumentChecker(agent.name, AGENT_INPUT_SCHEMA)

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=[definition])

    async def call_tool(
        ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        if params.name != agent.name:
            return _error(f"unknown tool {params.name!r}: this server has only {agent.name!r}")
        try:
            arguments = checker.check(params.arguments or {})
        except ToolArgumentError as error:
            return _error(str(error))
        task = (
            arguments["task"]
            if not arguments.get("context")
            else f"{arguments['task']}\n\nContext:\n{arguments['context']}"
        )
        progress = 0

        result: RunResult | None = None
        async for event in agent.arun(task, stream=True):
            if (message := progress_message(event)) is not None:
                progress += 1
                await ctx.session.report_progress(progress, None, message)
            if isinstance(event, RunResult):
                result = event
        assert result is not None
        return _answer(result)

    return Server(agent.name, description=agent.description, on_list_tools=list_tools, on_call_tool=call_tool)


def progress_message(event: AgentEvent) -> str | None:
    """A line for a progress notification, for the events worth one."""
    match event:
        case PlanningStep():
            return "planning"
        case ToolCallStarted(step_number=number, name=name, arguments=arguments):
            shown = ", ".join(
                f"{key}={json.dumps(value, default=str)[:60]}" for key, value in arguments.items()
            )
            return f"step {number}: calling {name}({shown})"
        case ToolProgress(step_number=number, name=name, message=message) if message:
            return f"step {number}: {name}: {message}"
        case ActionStep(step_number=number, error=error):
            return f"step {number} done" + (" (with an error)" if error else "")
    return None


def _answer(result: RunResult) -> mcp_types.CallToolResult:
    answer = result.output
    if hasattr(answer, "model_dump"):
        answer = answer.model_dump(mode="json")
    structured = {
        "answer": answer,
        "state": result.state,
        "steps": sum(isinstance(step, ActionStep) for step in result.steps),
        "token_usage": {
            "input_tokens": result.token_usage.input_tokens,
            "output_tokens": result.token_usage.output_tokens,
        },
    }
    text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False, default=str)
    if result.state == "error":
        return _error(f"the agent's run failed: {result.error}")
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=text)], structured_content=structured
    )


def _error(message: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=message)], is_error=True)
