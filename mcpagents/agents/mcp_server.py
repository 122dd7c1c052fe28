"""An agent as an MCP server: one tool, named after the agent, that runs it.

The same server serves a managed agent to its manager in-process and, through the transports of
`mcpagents serve`, to any MCP host: to a manager both look alike. Each call is a fresh run unless it
names a `conversation_id`. Every step goes out as a progress notification with a strictly
increasing value. Cancelling the call cancels the run, its code and its tool calls. What a call
starts (a conversation, a task, a run waiting for answers) belongs to its caller (`current_caller`:
anonymous unless the HTTP layer checked an access token).
"""

from __future__ import annotations

import json
import logging
import math
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, get_args

import anyio
import mcp_types
from mcp import MCPError
from mcp.server import Server, ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from mcpagents import __version__
from mcpagents.agents.budgets import ENDINGS, UNANSWERED
from mcpagents.agents.caller import (
    HeldRun,
    HeldRuns,
    caller_capabilities,
    is_modern,
    pushing_caller,
    send_log,
)
from mcpagents.agents.caller_identity import Caller, current_caller, owned_name
from mcpagents.agents.chain import DEFAULT_MAX_DEPTH, DEFAULT_TASK_AFTER, CallChain, ChainError, current_chain
from mcpagents.agents.conversation_store import (
    MAX_ID_CHARACTERS,
    Conversations,
    ConversationStore,
    parse_conversation_id,
)
from mcpagents.agents.memory import ActionStep, PlanningStep
from mcpagents.agents.results import (
    AgentEvent,
    RunResult,
    RunState,
    ToolCallFinished,
    ToolCallStarted,
    ToolProgress,
)
from mcpagents.agents.run_relay import dumped, follow_elsewhere
from mcpagents.agents.served_tasks import (
    MemoryTaskBoard,
    ServedTasks,
    TaskBoard,
    tasks_capability,
)
from mcpagents.connections.interaction import Interaction
from mcpagents.connections.tasks_extension import TASKS_EXTENSION, declares_tasks
from mcpagents.errors import ConfigError, MCPAgentsError, ToolArgumentError
from mcpagents.logs import LOG_LEVELS, LogLevel
from mcpagents.sign_in.on_behalf import on_behalf_of
from mcpagents.tools.arguments import ArgumentChecker
from mcpagents.tools.tool import Tool

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent

logger = logging.getLogger("mcpagents")

CallOutcome = (
    mcp_types.CallToolResult | mcp_types.InputRequiredResult | mcp_types.CreateTaskResult | dict[str, Any]
)
"""What a call is answered with: its result, its questions, or a task (a dict: the extension's shape)."""

AGENT_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "task": {"type": "string", "description": "What the agent should do, in full sentences."},
        # Optional arguments may be null: clients in strict-schema mode send every field.
        "context": {
            "type": ["string", "null"],
            "description": "Anything the agent needs to know that the task does not say.",
        },
        "conversation_id": {
            "type": ["string", "null"],
            "description": "Continue the conversation of earlier calls that passed the same id (kept for a"
            " while after its last call): an id of your own that no other caller uses, such as a UUID, of"
            f" at most {MAX_ID_CHARACTERS} characters. Leave it out, empty or null for a fresh run.",
        },
    },
    "required": ["task"],
    "additionalProperties": False,
}
_OPTIONAL = ("context", "conversation_id")
_CHECKED_SCHEMA: dict[str, Any] = {
    **AGENT_INPUT_SCHEMA,
    "properties": {
        name: {**spec, "type": "string"} for name, spec in AGENT_INPUT_SCHEMA["properties"].items()
    },
}
"""The schema the arguments are checked against once their nulls are dropped: with plain types, the
checker's fast path takes it."""


def answer_schema(output_schema: dict[str, Any] | None) -> dict[str, Any]:
    """The tool's output: the answer (shaped by the agent's output schema), how the run ended, its size."""
    return {
        "type": "object",
        "properties": {
            "answer": output_schema or {"description": "The agent's final answer."},
            "state": {"enum": list(get_args(RunState)), "description": "How the run ended."},
            "steps": {"type": "integer", "description": "How many steps the run took."},
            "token_usage": {
                "type": "object",
                "properties": {"input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"}},
                "required": ["input_tokens", "output_tokens"],
            },
            "trace_id": {"type": "string", "description": "The id shared by every call of this chain."},
            "summary": {"type": "string", "description": "The agent's work, when it provides a run summary."},
            "caller": {
                "type": "string",
                "description": "Who called, as the server knows them: the subject of the caller's access"
                " token (only when the server checks access tokens).",
            },
        },
        "required": ["answer", "state", "steps", "token_usage"],
    }


class RunsInFlight:
    """Counts the calls being run, so that a shutdown can wait for them to finish."""

    def __init__(self) -> None:
        self.count = 0
        self._done = anyio.Event()

    @contextmanager
    def track(self) -> Iterator[None]:
        if self.count == 0:
            self._done = anyio.Event()
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1
            if self.count == 0:
                self._done.set()

    async def wait(self) -> None:
        """Return once no call is running."""
        if self.count:
            await self._done.wait()


def agent_server(
    agent: MultiStepAgent,
    *,
    conversations: ConversationStore | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    run_timeout: float | None = None,
    runs: RunsInFlight | None = None,
    sampling: Literal["caller", "model"] = "caller",
    step_log_level: LogLevel | None = "info",
    held_runs: HeldRuns | None = None,
    task_board: TaskBoard | None = None,
    task_after: float = DEFAULT_TASK_AFTER,
) -> Server[Any]:
    """A low-level MCP server whose single tool runs `agent`.

    `conversations` keeps the conversations of calls that pass a `conversation_id` (default: one
    in memory, with its default limits). A call is refused when its chain of agents would hold this
    agent twice or be longer than `max_depth`; it is stopped at its chain's deadline, and after
    `run_timeout` seconds when given. `runs` counts the calls in flight.

    What the agent's tool servers ask goes to the caller (see `mcpagents.agents.caller`); sampling
    requests too, unless `sampling="model"`, which answers them with the agent's own model. Each
    step is also sent to the caller as a log message at `step_log_level` (None: not sent).
    `held_runs` keeps the runs of 2026-07-28 calls that wait for their caller's answers. Calls may
    become tasks (see `mcpagents.agents.served_tasks`), recorded on `task_board`: a 2025-era call
    that asks to, and a 2026-07-28 call whose caller declares the Tasks extension once its run has
    gone on for `task_after` seconds.
    """
    if not agent.name or not agent.description:
        raise ConfigError("an agent served as a tool needs a `name` and a `description`")
    name = agent.name
    kept = conversations if conversations is not None else Conversations()
    in_flight = runs if runs is not None else RunsInFlight()
    checker = ArgumentChecker(name, _CHECKED_SCHEMA)
    held_runs = held_runs if held_runs is not None else HeldRuns()
    tasks = ServedTasks(task_board if task_board is not None else MemoryTaskBoard(), held_runs)
    session_levels = _SessionLevels()

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        await agent.aopen()  # the description names the agent's tools
        definition = mcp_types.Tool(
            name=name,
            title=name.replace("_", " ").replace("-", " ").capitalize(),
            description=agent.tool_description(),
            input_schema=AGENT_INPUT_SCHEMA,
            output_schema=answer_schema(agent.output_json_schema),
            annotations=run_annotations(agent.toolbox.tools()),
            execution=mcp_types.ToolExecution(task_support="optional"),
        )
        return mcp_types.ListToolsResult(tools=[definition])

    async def call_tool(
        ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> CallOutcome:
        if params.name != name:
            return _error(f"unknown tool {params.name!r}: this server has only {name!r}")
        caller = current_caller()
        if params.request_state is not None:
            held = held_runs.get(params.request_state, caller.key)
            if held is None and held_runs.relay is not None:
                elsewhere = await follow_elsewhere(
                    held_runs.relay,
                    owned_name(caller.key, params.request_state),
                    params.input_responses or {},
                    held_runs.answer_wait,
                )
                if elsewhere is not None:
                    return elsewhere
            if held is None:
                return _error(
                    f"agent {name!r} holds no run for this call's request_state: it finished and was not"
                    " collected in time, or another worker of this server holds it and they share no"
                    " --conversation-store; call again without it"
                )
            held.answer(params.input_responses or {})
            return await _drive(held, ctx, within=_window(ctx))
        given = params.arguments or {}
        try:
            arguments = checker.check(
                {key: value for key, value in given.items() if not (key in _OPTIONAL and value is None)}
            )
            conversation_id = _conversation_id(name, arguments)
            chain = (CallChain.from_meta(ctx.meta) or CallChain.start()).enter(
                name, max_depth=max_depth, timeout=run_timeout, caller=caller.subject
            )
        except (ToolArgumentError, ChainError) as error:
            return _error(str(error))
        task = arguments["task"]
        if arguments.get("context", "").strip():
            task = f"{task}\n\nContext:\n{arguments['context']}"
        relay_sampling = sampling == "caller"
        capabilities = caller_capabilities(ctx)

        def held_run(held: HeldRun) -> Awaitable[mcp_types.CallToolResult]:
            interaction = held.interaction(capabilities, relay_sampling=relay_sampling)
            return execute(task, conversation_id, caller, chain, interaction, _held_reporter(held))

        if params.task is not None and not is_modern(ctx):
            return tasks.start(params.task, held_run, owner=caller.key)
        if is_modern(ctx):
            return await _drive(held_runs.start(held_run, owner=caller.key), ctx, within=_window(ctx))
        interaction = pushing_caller(ctx, relay_sampling=relay_sampling)
        return await execute(task, conversation_id, caller, chain, interaction, _reporter(ctx))

    def _window(ctx: ServerRequestContext[Any]) -> float | None:
        """How long a 2026-07-28 call waits for its run before it becomes a task (None: to the end)."""
        return task_after if declares_tasks(caller_capabilities(ctx)) else None

    async def _drive(
        held: HeldRun, ctx: ServerRequestContext[Any], within: float | None = None
    ) -> CallOutcome:
        try:
            with anyio.move_on_after(within if within is not None else math.inf):
                outcome = await held.drive(_reporter(ctx))
                if isinstance(outcome, mcp_types.CallToolResult):
                    held_runs.collected(held)
                return outcome
        except anyio.get_cancelled_exc_class():
            held.cancel()  # the caller gave the call up
            raise
        return tasks.created(tasks.adopt(held))

    def _reporter(ctx: ServerRequestContext[Any]) -> Callable[[str], Awaitable[None]]:
        progress = 0

        async def report(message: str) -> None:
            nonlocal progress
            progress += 1
            await ctx.session.report_progress(progress, None, message)
            if step_log_level is not None and wants_log(ctx, step_log_level):
                await send_log(ctx, step_log_level, message, logger=name)

        return report

    def wants_log(ctx: ServerRequestContext[Any], level: LogLevel) -> bool:
        """2026-07-28 callers opt in per request (the SDK applies it); a 2025-era caller gets log
        messages once it has set a level for its session, at that level and above."""
        if is_modern(ctx):
            return True
        least = session_levels.get(ctx)
        return least is not None and LOG_LEVELS.index(level) >= LOG_LEVELS.index(least)

    async def set_level(
        ctx: ServerRequestContext[Any], params: mcp_types.SetLevelRequestParams
    ) -> mcp_types.EmptyResult:
        session_levels.set(ctx, params.level)
        return mcp_types.EmptyResult()

    def _held_reporter(held: HeldRun) -> Callable[[str], Awaitable[None]]:
        async def report(message: str) -> None:
            held.report(message)

        return report

    async def execute(
        task: str,
        conversation_id: str | None,
        caller: Caller,
        chain: CallChain,
        interaction: Interaction,
        report: Callable[[str], Awaitable[None]],
    ) -> mcp_types.CallToolResult:
        result: RunResult | None = None
        token = current_chain.set(chain)
        try:
            with (
                in_flight.track(),
                on_behalf_of(caller.access_token),
                anyio.move_on_after(chain.remaining()) as deadline,
            ):
                async with kept.use(conversation_id, caller.key) as conversation:
                    events = agent.arun(
                        task,
                        stream=True,
                        reset=conversation_id is None,
                        conversation=conversation,
                        interaction=interaction,
                    )
                    async for event in events:
                        if (message := progress_message(event)) is not None:
                            await report(message)
                        if isinstance(event, RunResult):
                            result = event
        except MCPAgentsError as error:
            return _error(f"agent {name!r} could not run: {error}")
        except Exception as error:
            logger.exception("agent %r failed", name)
            return _error(f"agent {name!r} failed: {type(error).__name__}: {error}")
        finally:
            current_chain.reset(token)
        if deadline.cancelled_caught:
            return _error(f"agent {name!r} was stopped: its call chain's deadline passed")
        assert result is not None
        return _answer(result, chain, run_summary(result) if agent.provide_run_summary else None)

    async def task_calls(ctx: ServerRequestContext[Any], call_next: CallNext) -> HandlerResult:
        """Task-augmented calls are answered here: the SDK would refuse a task as a `tools/call`
        result (it knows only `CallToolResult` for that method)."""
        given = ctx.params
        if ctx.method != "tools/call" or not given or given.get("task") is None or is_modern(ctx):
            return await call_next(ctx)
        try:
            params = mcp_types.CallToolRequestParams.model_validate(given, by_name=False)
        except ValidationError as error:
            raise MCPError(mcp_types.INVALID_PARAMS, f"invalid tools/call params: {error}") from None
        result = await call_tool(ctx, params)
        return result if isinstance(result, dict) else dumped(result)

    def input_schema(tool: str) -> dict[str, Any] | None:
        return AGENT_INPUT_SCHEMA if tool == name else None

    server = _AgentServer(
        name,
        version=__version__,
        description=agent.description,
        # Without it, the SDK runs `list_tools` on every 2026-era HTTP call to check `Mcp-Param-*`
        # headers against the tool's input schema, which never changes.
        get_tool_input_schema=input_schema,
        on_list_tools=list_tools,
    )
    # Registered as a plain handler: the SDK's `on_call_tool` type leaves out task results.
    server.add_request_handler("tools/call", mcp_types.CallToolRequestParams, call_tool)
    server.middleware.append(task_calls)
    if step_log_level is not None:
        server.add_request_handler("logging/setLevel", mcp_types.SetLevelRequestParams, set_level)
    tasks.serve_on(server, _reporter)
    return server


class _SessionLevels:
    """The log level each 2025-era connection set (`logging/setLevel`), for as long as it lives.

    A request's `ServerSession` is made for that request alone; what stays for the connection is
    the client's `initialize` params, which key the level here."""

    def __init__(self) -> None:
        self._levels: dict[int, LogLevel] = {}

    def set(self, ctx: ServerRequestContext[Any], level: LogLevel) -> None:
        connection = ctx.session.client_params
        if connection is None:
            return
        if id(connection) not in self._levels:
            weakref.finalize(connection, self._levels.pop, id(connection), None)
        self._levels[id(connection)] = level

    def get(self, ctx: ServerRequestContext[Any]) -> LogLevel | None:
        connection = ctx.session.client_params
        return None if connection is None else self._levels.get(id(connection))


class _AgentServer(Server[Any]):
    """Says it runs tool calls as tasks: in-core to 2025-era callers (the SDK derives no `tasks`
    capability), as the Tasks extension to 2026-07-28 ones."""

    def get_capabilities(self, *args: Any, **kwargs: Any) -> mcp_types.ServerCapabilities:
        capabilities = super().get_capabilities(*args, **kwargs)
        if kwargs.get("protocol_version") not in MODERN_PROTOCOL_VERSIONS:
            capabilities.tasks = tasks_capability()
        else:
            capabilities.extensions = {**(capabilities.extensions or {}), TASKS_EXTENSION: {}}
        return capabilities


def run_annotations(tools: Sequence[Tool]) -> mcp_types.ToolAnnotations:
    """What a run may do, as far as its tools say: read-only only if every tool is, destructive and
    open-world if any tool may be (a tool that says nothing may be anything), never idempotent (a
    model decides what the run does)."""
    read_only = all(tool.read_only for tool in tools)

    def may(tool: Tool, hint: str) -> bool:
        said = getattr(tool.annotations, hint, None) if tool.annotations else None
        return said is not False

    return mcp_types.ToolAnnotations(
        read_only_hint=read_only,
        destructive_hint=not read_only
        and any(not tool.read_only and may(tool, "destructive_hint") for tool in tools),
        idempotent_hint=False,
        open_world_hint=any(may(tool, "open_world_hint") for tool in tools),
    )


def _conversation_id(tool: str, arguments: dict[str, Any]) -> str | None:
    try:
        return parse_conversation_id(arguments.get("conversation_id"))
    except ValueError as error:
        raise ToolArgumentError(f"{tool}(): argument 'conversation_id' {error}", tool=tool) from None


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
        case ToolCallFinished(step_number=number, name=name, error=error) if error:
            return f"step {number}: {name} failed: {error_line(error)}"
        case ToolProgress(step_number=number, name=name, message=message) if message:
            return f"step {number}: {name}: {message}"
        case ActionStep(step_number=number, error=error):
            return f"step {number} failed: {error_line(error)}" if error else f"step {number} done"
    return None


def error_line(error: str) -> str:
    """The one line of an error worth a progress message: of a Python traceback, the exception
    (`ZeroDivisionError: division by zero`), not the `Traceback (most recent call last):` it opens with."""
    lines = [line for line in error.splitlines() if line.strip()] or [""]
    headers = [index for index, line in enumerate(lines) if line.startswith("Traceback (most recent call")]
    if not headers:
        return lines[0][:200]
    # The last traceback is the exception raised (earlier ones are its causes); its frames are
    # indented, and the first line that is not is the exception. Advice may follow it.
    after = [line for line in lines[headers[-1] + 1 :] if not line[0].isspace()]
    return (after or lines)[0][:200]


def run_summary(result: RunResult) -> str:
    """What a manager reads of a managed agent's run with `provide_run_summary=True` (smolagents'
    option): its plans, and each step's code, tool calls, observations and errors."""
    lines: list[str] = []
    for step in result.steps:
        if isinstance(step, PlanningStep):
            lines.append(f"Plan:\n{step.plan}")
        if not isinstance(step, ActionStep):
            continue
        if step.code:
            lines.append(f"Step {step.step_number} code:\n{step.code}")
        for call in step.tool_calls:
            arguments = json.dumps(call.arguments, ensure_ascii=False, default=str)
            outcome = call.error or json.dumps(call.result, ensure_ascii=False, default=str)
            lines.append(f"Step {step.step_number}: {call.name}({arguments}) -> {outcome}")
        for kind, text in (("observations", step.observations), ("error", step.error)):
            if text:
                lines.append(f"Step {step.step_number} {kind}:\n{text}")
    return "\n".join(lines)


def _answer(result: RunResult, chain: CallChain, summary: str | None = None) -> mcp_types.CallToolResult:
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
        "trace_id": chain.trace_id,
    }
    if chain.caller is not None:
        structured["caller"] = chain.caller
    text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False, default=str)
    if result.state in UNANSWERED:
        text = f"The agent's run was stopped: {ENDINGS[result.state]}."
    if summary is not None:
        structured["summary"] = summary
        text += f"\n\nA summary of the agent's work:\n<summary_of_work>\n{summary}\n</summary_of_work>"
    if result.state == "error":
        return _error(f"the agent's run failed: {result.error}")
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=text)], structured_content=structured
    )


def _error(message: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=message)], is_error=True)
