"""The multi-step loop both agents share: plan, act, observe, until a final answer or the step limit."""

from __future__ import annotations

import inspect
import json
import math
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from types import TracebackType
from typing import Any, Literal, Self, TypedDict, Unpack, overload

import anyio
import jsonschema
from pydantic import BaseModel, TypeAdapter, ValidationError

from mcpagents.agents import prompts
from mcpagents.agents.console import AgentConsole
from mcpagents.agents.conversation import Conversation
from mcpagents.agents.memory import ActionStep, AgentMemory, FinalAnswerStep, PlanningStep, Step, TaskStep
from mcpagents.agents.results import AgentEvent, RunResult, RunState, Timing
from mcpagents.agents.run_context import Emit, RunContext
from mcpagents.agents.run_interaction import SamplingLimits, run_interaction
from mcpagents.agents.toolbox import Toolbox, ToolsArgument
from mcpagents.connections.interaction import ElicitationHandler, Interaction, SamplingHandler
from mcpagents.connections.specs import ServerSpec
from mcpagents.errors import ModelError
from mcpagents.models.base import Model
from mcpagents.models.messages import ChatMessage, JsonSchemaFormat, TokenUsage
from mcpagents.models.resolve import resolve_model
from mcpagents.portal import shared_portal, spawn_detached
from mcpagents.tools.image import Image
from mcpagents.tools.tool import Tool

FinalAnswerCheck = Callable[[Any, AgentMemory], Awaitable[bool | str | None] | bool | str | None]
"""Looks at a final answer: True/None accepts it; False or a reason (str) rejects it, and the reason
goes back to the model; an exception rejects it with its message."""

StepCallback = Callable[[Step], object]
OutputSchema = dict[str, Any] | type[BaseModel]


class AgentOptions(TypedDict, total=False):
    """The keywords of `MultiStepAgent`, which every agent type takes: for a subclass's `__init__` to
    pass them on typed (`**options: Unpack[AgentOptions]`)."""

    name: str | None
    description: str | None
    instructions: str | None
    server_instructions: bool
    max_steps: int
    planning_interval: int | None
    final_answer_checks: Sequence[FinalAnswerCheck]
    step_callbacks: Sequence[StepCallback]
    output_schema: OutputSchema | None
    managed_agents: Sequence[MultiStepAgent | ServerSpec]
    verbosity_level: int
    elicitation: ElicitationHandler | None
    sampling: SamplingHandler | None
    sampling_limits: SamplingLimits


class RunOptions(TypedDict, total=False):
    """The options of one run (`run`, `arun`), besides `stream` and `return_full_result`."""

    reset: bool
    """False continues the previous conversation (default True)."""
    max_steps: int | None
    additional_args: Mapping[str, Any] | None
    images: Sequence[Image] | None
    conversation: Conversation | None
    interaction: Interaction | None
    """Who answers what the tool servers ask during this run (a terminal, a served agent's caller);
    the agent's own `elicitation`/`sampling` fill in what it leaves out."""


class MultiStepAgent(ABC):
    """The loop of smolagents, async-native, over MCP tools.

    `tools` is a ToolCollection, or a list of collections and `@tool` functions; collections that
    are not open yet are opened on first use and closed with the agent. `model` is a `Model` or a
    model string (`resolve_model`). `managed_agents` (agents, or the MCP servers of served agents:
    `StdioServer("mcpagents", ["serve", "child.yaml"])`, `HttpServer(url)`) become tools named after
    them. With `planning_interval=N` the agent plans at the start and every N steps.
    `final_answer_checks` may reject an answer (the reason goes back to the model); `output_schema` (a
    JSON Schema or a pydantic model) shapes and validates the final answer. `verbosity_level` 0 prints
    nothing, 1 the steps, 2 also the model's outputs. The instructions the tool servers give go into
    the system prompt, marked as theirs, unless `server_instructions=False`.

    Tool servers may ask for input while they work: `elicitation` answers them when the run was
    given nobody to ask (`run(interaction=...)`; without either, they are declined). Servers allowed
    to sample (`sampling=True` in their spec) are answered by `sampling`, else by the run's
    interaction, else by the agent's own model within `sampling_limits`.
    """

    def __init__(
        self,
        tools: ToolsArgument = None,
        model: Model | str | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        instructions: str | None = None,
        server_instructions: bool = True,
        max_steps: int = 20,
        planning_interval: int | None = None,
        final_answer_checks: Sequence[FinalAnswerCheck] = (),
        step_callbacks: Sequence[StepCallback] = (),
        output_schema: OutputSchema | None = None,
        managed_agents: Sequence[MultiStepAgent | ServerSpec] = (),
        verbosity_level: int = 1,
        elicitation: ElicitationHandler | None = None,
        sampling: SamplingHandler | None = None,
        sampling_limits: SamplingLimits | None = None,
    ) -> None:
        self.model = resolve_model(model)
        self.name = name
        self.description = description
        self.instructions = instructions
        self.server_instructions = server_instructions
        self.max_steps = max_steps
        self.planning_interval = planning_interval
        self.final_answer_checks = list(final_answer_checks)
        self.step_callbacks = list(step_callbacks)
        self.output_schema = output_schema
        self.toolbox = Toolbox(tools, managed_agents)
        self.conversation = Conversation()
        self.console = AgentConsole(verbosity_level)
        self.elicitation = elicitation
        self.sampling = sampling
        self.sampling_limits = sampling_limits or SamplingLimits()

    @property
    def memory(self) -> AgentMemory:
        """The steps of the agent's own conversation (the last run, and those it continued)."""
        return self.conversation.memory

    @memory.setter
    def memory(self, memory: AgentMemory) -> None:
        self.conversation.memory = memory

    # -- what an agent type provides ------------------------------------------------------------------

    @abstractmethod
    def system_prompt(self, tools: Sequence[Tool]) -> str:
        """The system prompt for a run over `tools`."""

    @abstractmethod
    async def step(self, step: ActionStep, run: RunContext) -> None:
        """Take one step: ask the model for an action (`run.ask`), take it, and fill `step` with what
        happened (`model_output`, `tool_calls`, `observations`, `error`, or `is_final_answer` and
        `final_answer`). Tool calls go through `run.tools`; events through `run.emit`."""

    @abstractmethod
    def action_messages(self, step: ActionStep) -> list[ChatMessage]:
        """How one past step reads in the conversation sent to the model."""

    def task_text(self, task: str, additional_args: Mapping[str, Any] | None) -> str:
        """The task as the model reads it."""
        if not additional_args:
            return task
        values = json.dumps(dict(additional_args), ensure_ascii=False, default=str, indent=1)
        return f"{task}\n\nYou have been given these values:\n{values}"

    async def start_run(self, run: RunContext) -> None:  # noqa: B027 - a hook most agents leave empty
        """Set up what a run needs beyond tools (CodeAgent: its code executor)."""

    async def end_run(self, run: RunContext) -> None:  # noqa: B027
        """Release what `start_run` set up; runs however the run ended."""

    # -- lifecycle -----------------------------------------------------------------------------------

    async def aopen(self) -> None:
        """Open the tool collections that are not open yet (a run does this on first use)."""
        await self.toolbox.open()

    async def aclose(self) -> None:
        """Close what the agent opened (tool collections it opened, its code executor)."""
        await self.conversation.aclose()
        await self.toolbox.aclose()

    def open(self) -> None:
        shared_portal().call(self.aopen)

    def close(self) -> None:
        shared_portal().call(self.aclose)

    async def __aenter__(self) -> Self:
        await self.aopen()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- running ---------------------------------------------------------------------------------------

    @overload
    def run(
        self,
        task: str,
        *,
        stream: Literal[True],
        return_full_result: bool = ...,
        **options: Unpack[RunOptions],
    ) -> Iterator[AgentEvent]: ...
    @overload
    def run(
        self,
        task: str,
        *,
        stream: Literal[False] = ...,
        return_full_result: Literal[True],
        **options: Unpack[RunOptions],
    ) -> RunResult: ...
    @overload
    def run(
        self,
        task: str,
        *,
        stream: Literal[False] = ...,
        return_full_result: Literal[False] = ...,
        **options: Unpack[RunOptions],
    ) -> Any: ...

    def run(
        self,
        task: str,
        *,
        stream: bool = False,
        return_full_result: bool = False,
        **options: Unpack[RunOptions],
    ) -> Any:
        """Run the agent on `task` and return its output (or the `RunResult` with
        `return_full_result=True`); with `stream=True`, iterate the run's events as they happen.

        `reset=False` continues the previous conversation; `additional_args` are given to the model
        with the task; `images` go with the task to models that read them. `conversation` runs in
        that `Conversation` instead of the agent's own (`agent.memory`): one per user lets one agent
        serve several at once.
        """
        if stream:
            return shared_portal().iterate(self._events, task, **options)
        return shared_portal().call(self._output, task, return_full_result, **options)

    @overload
    def arun(
        self,
        task: str,
        *,
        stream: Literal[True],
        return_full_result: bool = ...,
        **options: Unpack[RunOptions],
    ) -> AsyncIterator[AgentEvent]: ...
    @overload
    def arun(
        self,
        task: str,
        *,
        stream: Literal[False] = ...,
        return_full_result: Literal[True],
        **options: Unpack[RunOptions],
    ) -> Awaitable[RunResult]: ...
    @overload
    def arun(
        self,
        task: str,
        *,
        stream: Literal[False] = ...,
        return_full_result: Literal[False] = ...,
        **options: Unpack[RunOptions],
    ) -> Awaitable[Any]: ...

    def arun(
        self,
        task: str,
        *,
        stream: bool = False,
        return_full_result: bool = False,
        **options: Unpack[RunOptions],
    ) -> Awaitable[Any] | AsyncIterator[AgentEvent]:
        """Async twin of `run`: `await agent.arun(task)`, or
        `async for event in agent.arun(task, stream=True)`.

        Cancelling it stops the model call, the running code and the tool calls in flight.
        """
        if stream:
            return self._events(task, **options)
        return self._output(task, return_full_result, **options)

    def replay(self) -> None:
        """Print the last run from memory."""
        from mcpagents.agents.console import replay

        replay(self.memory)

    async def _output(self, task: str, return_full_result: bool, **options: Unpack[RunOptions]) -> Any:
        result = await self._execute(task, None, **options)
        if return_full_result:
            return result
        if result.exception is not None:
            raise result.exception
        return result.output

    async def _events(self, task: str, **options: Unpack[RunOptions]) -> AsyncIterator[AgentEvent]:
        # The run is a task of its own feeding a stream, not a task group held across `yield`s: a
        # consumer that stops iterating early must not leave a cancel scope half-exited.
        send, receive = anyio.create_memory_object_stream[AgentEvent](math.inf)

        async def produce() -> None:
            async with send:
                await self._execute(task, send.send_nowait, **options)

        producer = spawn_detached(produce())
        try:
            async with receive:
                while True:
                    # Events already sent are taken without a trip through the event loop (`receive`
                    # always makes one): under load each trip waits behind every other ready task.
                    try:
                        event = receive.receive_nowait()
                    except anyio.WouldBlock:
                        try:
                            event = await receive.receive()
                        except anyio.EndOfStream:
                            break
                    except anyio.EndOfStream:
                        break
                    yield event
            await producer
        finally:
            if not producer.done():
                producer.cancel()

    # -- the loop ----------------------------------------------------------------------------------------

    async def _execute(
        self,
        task: str,
        sink: Emit | None,
        *,
        reset: bool = True,
        max_steps: int | None = None,
        additional_args: Mapping[str, Any] | None = None,
        images: Sequence[Image] | None = None,
        conversation: Conversation | None = None,
        interaction: Interaction | None = None,
    ) -> RunResult:
        started = time.time()
        await self.aopen()
        conversation = conversation or self.conversation
        if reset:
            conversation.memory = AgentMemory()
        memory = conversation.memory
        run = RunContext(
            self, conversation, self.toolbox.tools(), sink=sink, additional_args=dict(additional_args or {})
        )
        run.interaction = run_interaction(
            run,
            interaction,
            elicitation=self.elicitation,
            sampling=self.sampling,
            limits=self.sampling_limits,
        )
        memory.system_prompt = self.system_prompt(run.tools)
        first = len(memory.steps)
        memory.steps.append(TaskStep(self.task_text(task, additional_args), list(images or ())))
        if run.console.verbosity_level > 0:  # level 0 prints nothing, nor pays for the formatting
            run.console.start(
                task, self.name or type(self).__name__, self.model.model_id, [t.name for t in run.tools]
            )
        state: RunState = "max_steps_reached"
        output: Any = None
        error: str | None = None
        exception: ModelError | None = None
        limit = max_steps or self.max_steps
        try:
            await self.start_run(run)
            for number in range(1, limit + 1):
                if self.planning_interval and (number == 1 or (number - 1) % self.planning_interval == 0):
                    await self._record(run, await self._plan(run, number))
                step = run.step = ActionStep(number, started=time.time())
                try:
                    await self.step(step, run)
                finally:
                    step.duration = time.time() - step.started
                if step.is_final_answer:
                    output = await self._accept(step, memory)
                await self._record(run, step)
                if step.is_final_answer:
                    state = "success"
                    break
            else:
                output = await self._final_answer_from_memory(run, limit)
        except ModelError as problem:
            state, error, exception = "error", str(problem), problem
        finally:
            with anyio.CancelScope(shield=True):
                await self.end_run(run)
        steps = memory.steps[first:]
        if state != "error":
            final = FinalAnswerStep(output)
            memory.steps.append(final)
            steps.append(final)
            run.emit(final)
        result = RunResult(
            output=output,
            state=state,
            steps=steps,
            token_usage=sum(
                (s.usage for s in steps if isinstance(s, ActionStep | PlanningStep)), TokenUsage()
            ),
            timing=Timing(
                started,
                time.time(),
                tuple(s.duration for s in steps if isinstance(s, ActionStep | PlanningStep)),
            ),
            messages=self.messages(memory),
            error=error,
            exception=exception,
        )
        run.emit(result)
        if run.console.verbosity_level > 0:
            run.console.finish(result)
        return result

    async def _record(self, run: RunContext, step: PlanningStep | ActionStep) -> None:
        run.memory.steps.append(step)
        run.emit(step)
        for callback in self.step_callbacks:
            outcome = callback(step)
            if inspect.isawaitable(outcome):
                await outcome

    async def _plan(self, run: RunContext, number: int) -> PlanningStep:
        started = time.time()
        question = prompts.PLANNING if number == 1 else prompts.UPDATE_PLANNING.format(steps=number - 1)
        messages = [*self.messages(run.memory), ChatMessage("user", question)]
        response = await run.ask(messages, step_number=number)
        return PlanningStep(response.text.strip(), response.usage, started, time.time() - started)

    async def _final_answer_from_memory(self, run: RunContext, limit: int) -> Any:
        shape = prompts.answer_shape(self.output_json_schema)
        question = prompts.FINAL_ANSWER_FROM_MEMORY.format(max_steps=limit, answer_shape=shape)
        schema = self.output_json_schema
        response = await run.ask(
            [*self.messages(run.memory), ChatMessage("user", question)],
            step_number=limit,
            response_format=JsonSchemaFormat(schema) if schema is not None else None,
        )
        answer: Any = response.text.strip()
        # Unvalidated, it is still the best the model could do; the state says the steps ran out.
        with suppress(ValueError, ValidationError, jsonschema.ValidationError):
            answer = self._validated(answer)
        return answer

    async def _accept(self, step: ActionStep, memory: AgentMemory) -> Any:
        """The final answer, validated; or, when a schema or a check rejects it, the step reverts to
        an ordinary one whose error tells the model why."""
        answer = step.final_answer
        try:
            answer = self._validated(answer)
        except (ValueError, ValidationError, jsonschema.ValidationError) as problem:
            return self._reject(
                step, f"The final answer does not match the required output schema: {_short(problem)}"
            )
        for check in self.final_answer_checks:
            name = getattr(check, "__name__", "a final answer check")
            try:
                verdict = check(answer, memory)
                if inspect.isawaitable(verdict):
                    verdict = await verdict
            except Exception as problem:
                return self._reject(step, f"The final answer was rejected by {name}: {problem}")
            if verdict is False or isinstance(verdict, str):
                reason = verdict if isinstance(verdict, str) else "no reason given"
                return self._reject(step, f"The final answer was rejected by {name}: {reason}")
        return answer

    def _reject(self, step: ActionStep, reason: str) -> None:
        step.is_final_answer = False
        step.error = f"{reason}\n{prompts.RETRY}"
        return None

    def _validated(self, answer: Any) -> Any:
        if self.output_schema is None:
            return answer
        if isinstance(answer, str):
            with suppress(json.JSONDecodeError):
                answer = json.loads(answer)
        if isinstance(self.output_schema, dict):
            jsonschema.validate(answer, self.output_schema)
            return answer
        return TypeAdapter(self.output_schema).validate_python(answer)

    @property
    def output_json_schema(self) -> dict[str, Any] | None:
        if self.output_schema is None or isinstance(self.output_schema, dict):
            return self.output_schema
        return self.output_schema.model_json_schema()

    def tool_description(self) -> str:
        """What a manager (or an MCP host) reads about this agent as a tool."""
        tools = ", ".join(tool.name for collection in self.toolbox.collections for tool in collection)
        works = f"This agent works in steps and can use tools: {tools or 'none'}."
        return f"{self.description or ''}\n{works}".strip()

    # -- the conversation --------------------------------------------------------------------------------

    def messages(self, memory: AgentMemory) -> list[ChatMessage]:
        """The conversation `memory` holds, as sent to the model."""
        messages = [ChatMessage("system", memory.system_prompt)]
        for step in memory.steps:
            match step:
                case TaskStep(task=task, images=images):
                    messages.append(ChatMessage("user", [task, *images] if images else task))
                case PlanningStep(plan=plan):
                    messages += [
                        ChatMessage("assistant", plan),
                        ChatMessage("user", "Now carry out the plan, one step at a time."),
                    ]
                case ActionStep():
                    messages += self.action_messages(step)
                case FinalAnswerStep(output=output):
                    messages.append(ChatMessage("assistant", f"Final answer: {_text(output)}"))
        return messages


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _short(problem: BaseException) -> str:
    message = getattr(problem, "message", None) or str(problem)
    return message.splitlines()[0][:300]
