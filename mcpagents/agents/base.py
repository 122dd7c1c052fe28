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
from mcpagents.agents.budgets import UNANSWERED, Budget
from mcpagents.agents.chain import current_chain
from mcpagents.agents.console import AgentConsole
from mcpagents.agents.conversation import Conversation
from mcpagents.agents.kept_results import DEFAULT_RESULT_LIMIT
from mcpagents.agents.memory import ActionStep, AgentMemory, FinalAnswerStep, PlanningStep, TaskStep
from mcpagents.agents.prompt_templates import PromptOverrides, PromptTemplates, populate_template
from mcpagents.agents.results import AgentEvent, RunResult, RunState, Timing
from mcpagents.agents.run_context import Emit, RunContext
from mcpagents.agents.run_interaction import SamplingLimits, run_interaction
from mcpagents.agents.run_trace import RunTrace
from mcpagents.agents.smolagents_names import refuse_unsupported
from mcpagents.agents.step_callbacks import StepCallbacks, StepCallbacksArgument, takes_agent
from mcpagents.agents.tool_index import DEFAULT_TOOL_PROMPT_LIMIT
from mcpagents.agents.toolbox import Toolbox, ToolsArgument
from mcpagents.connections.interaction import ElicitationHandler, Interaction, SamplingHandler
from mcpagents.connections.specs import ServerSpec
from mcpagents.errors import ModelError
from mcpagents.models.base import Model
from mcpagents.models.messages import ChatMessage, JsonSchemaFormat, TokenUsage
from mcpagents.models.resolve import resolve_model
from mcpagents.portal import shared_portal, spawn_detached
from mcpagents.tools.image import Image, ImageInput
from mcpagents.tools.tool import Tool
from mcpagents.tracing import otel as otlp
from mcpagents.tracing.settings import Tracing

FinalAnswerCheck = Callable[..., Awaitable[bool | str | None] | bool | str | None]
"""`(answer, memory)`, or smolagents' `(answer, memory, agent)`: looks at a final answer. True/None
accepts it; False or a reason (str) rejects it, and the reason goes back to the model; an exception
rejects it with its message."""

_NAMED_TOOLS = 30
"""Tools an agent's description (as a tool itself) names one by one, at most."""
OutputSchema = dict[str, Any] | type[BaseModel]


class AgentOptions(TypedDict, total=False):
    """The keywords of `MultiStepAgent`, which every agent type takes: for a subclass's `__init__` to
    pass them on typed (`**options: Unpack[AgentOptions]`)."""

    name: str | None
    description: str | None
    instructions: str | None
    server_instructions: bool
    max_steps: int
    budget: Budget | None
    planning_interval: int | None
    final_answer_checks: Sequence[FinalAnswerCheck]
    step_callbacks: StepCallbacksArgument
    output_schema: OutputSchema | None
    managed_agents: Sequence[MultiStepAgent | ServerSpec]
    verbosity_level: int
    elicitation: ElicitationHandler | None
    sampling: SamplingHandler | None
    sampling_limits: SamplingLimits
    tool_prompt_limit: int | None
    pinned_tools: Sequence[str]
    result_limit: int
    prompt_templates: PromptTemplates | None
    return_full_result: bool
    stream_outputs: bool
    provide_run_summary: bool
    tracing: Tracing | None


class RunOptions(TypedDict, total=False):
    """The options of one run (`run`, `arun`), besides `stream` and `return_full_result`."""

    reset: bool
    """False continues the previous conversation (default True)."""
    max_steps: int | None
    budget: Budget | None
    """This run's budget, instead of the agent's."""
    additional_args: Mapping[str, Any] | None
    images: Sequence[ImageInput] | None
    """`Image`s, paths, URLs or PIL images."""
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
    them. With `planning_interval=N` the agent plans at the start and every N steps. `budget` bounds
    what each run may spend: tool calls, model tokens, wall time (see `Budget`).
    `final_answer_checks` may reject an answer (the reason goes back to the model); `output_schema` (a
    JSON Schema or a pydantic model) shapes and validates the final answer. `verbosity_level` 0 prints
    nothing, 1 the steps, 2 also the model's outputs. The instructions the tool servers give go into
    the system prompt, marked as theirs, unless `server_instructions=False`.

    Tool servers may ask for input while they work: `elicitation` answers them when the run was
    given nobody to ask (`run(interaction=...)`; without either, they are declined). Servers allowed
    to sample (`sampling=True` in their spec) are answered by `sampling`, else by the run's
    interaction, else by the agent's own model within `sampling_limits`.

    Tools whose definitions would take more than `tool_prompt_limit` tokens of the prompt (about;
    None: no limit) are disclosed progressively: the prompt holds the `pinned_tools` (names) in full
    and an index of the others, which the model searches (`search_tools`) for what it needs. A tool
    result longer than `result_limit` characters is kept by the host, and the model shown its start:
    a ToolCallingAgent's model reads on with `read_result`, a CodeAgent's code has the whole value.

    smolagents' spellings carry over (docs/porting.md): `prompt_templates` overrides the system
    prompt and the planning prompts; `return_full_result` is `run()`'s default; `stream_outputs` is
    accepted and changes nothing, since a streaming model's text always reaches `run(stream=True)`
    as `ModelDelta` events; `step_callbacks` may be a dict by step type, and callbacks and
    `final_answer_checks` with an `agent` parameter are given the agent. A managed agent with
    `provide_run_summary=True` adds a summary of its run to the answer its manager reads.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # Before __init__ can raise a bare TypeError: smolagents keywords get advice instead.
        accepted = inspect.signature(cls.__init__).parameters
        refuse_unsupported({name: value for name, value in kwargs.items() if name not in accepted})
        return super().__new__(cls)

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
        budget: Budget | None = None,
        planning_interval: int | None = None,
        final_answer_checks: Sequence[FinalAnswerCheck] = (),
        step_callbacks: StepCallbacksArgument = (),
        output_schema: OutputSchema | None = None,
        managed_agents: Sequence[MultiStepAgent | ServerSpec] = (),
        verbosity_level: int = 1,
        elicitation: ElicitationHandler | None = None,
        sampling: SamplingHandler | None = None,
        sampling_limits: SamplingLimits | None = None,
        tool_prompt_limit: int | None = DEFAULT_TOOL_PROMPT_LIMIT,
        pinned_tools: Sequence[str] = (),
        result_limit: int = DEFAULT_RESULT_LIMIT,
        prompt_templates: PromptTemplates | None = None,
        return_full_result: bool = False,
        stream_outputs: bool = False,
        provide_run_summary: bool = False,
        tracing: Tracing | None = None,
    ) -> None:
        self.model = resolve_model(model)
        self.name = name
        self.description = description
        self.instructions = instructions
        self.server_instructions = server_instructions
        self.max_steps = max_steps
        self.budget = budget or Budget()
        self.planning_interval = planning_interval
        self.final_answer_checks = list(final_answer_checks)
        self.step_callbacks = StepCallbacks(step_callbacks)
        self.output_schema = output_schema
        self.toolbox = Toolbox(tools, managed_agents)
        self._manager: MultiStepAgent | None = None  # whose in-process managed agent this is
        for managed in managed_agents:
            if isinstance(managed, MultiStepAgent):
                managed._manager = self
        self.conversation = Conversation()
        self.console = AgentConsole(verbosity_level)
        self.elicitation = elicitation
        self.sampling = sampling
        self.sampling_limits = sampling_limits or SamplingLimits()
        self.tool_prompt_limit = tool_prompt_limit
        self.pinned_tools = tuple(pinned_tools)
        self.result_limit = result_limit
        PromptOverrides.of(prompt_templates)  # an unsupported template is an error now, not at the run
        self.prompt_templates = PromptTemplates(**(prompt_templates or {}))
        """smolagents' templates, which a program may also change once the agent is built
        (`agent.prompt_templates["system_prompt"] = ...`): each run reads them as it starts."""
        self.return_full_result = return_full_result
        self.stream_outputs = stream_outputs
        self.provide_run_summary = provide_run_summary
        self.tracing = tracing or Tracing()
        otlp.configure_otlp(self.tracing.otlp_endpoint)  # before a served agent's first request

    @property
    def memory(self) -> AgentMemory:
        """The steps of the agent's own conversation (the last run, and those it continued)."""
        return self.conversation.memory

    @memory.setter
    def memory(self, memory: AgentMemory) -> None:
        self.conversation.memory = memory

    def console_for_run(self) -> AgentConsole:
        """The console of one run: indented under the runs of the managers this agent is managed by
        in this process, and not repeating the steps of its own in-process managed agents that
        print themselves."""
        depth, manager = 0, self._manager
        while manager is not None:
            depth, manager = depth + 1, manager._manager
        printing = frozenset(
            managed.name
            for managed in self.toolbox.managed_agents
            if isinstance(managed, MultiStepAgent) and managed.name and managed.console.verbosity_level > 0
        )
        return self.console.for_run(depth=depth, printing_tools=printing)

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
        return_full_result: bool | None = ...,
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
        return_full_result: Literal[False] | None = ...,
        **options: Unpack[RunOptions],
    ) -> Any: ...

    def run(
        self,
        task: str,
        *,
        stream: bool = False,
        return_full_result: bool | None = None,
        **options: Unpack[RunOptions],
    ) -> Any:
        """Run the agent on `task` and return its output (or the `RunResult` with
        `return_full_result=True`, which defaults to the agent's); with `stream=True`, iterate the
        run's events as they happen.

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
        return_full_result: bool | None = ...,
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
        return_full_result: Literal[False] | None = ...,
        **options: Unpack[RunOptions],
    ) -> Awaitable[Any]: ...

    def arun(
        self,
        task: str,
        *,
        stream: bool = False,
        return_full_result: bool | None = None,
        **options: Unpack[RunOptions],
    ) -> Awaitable[Any] | AsyncIterator[AgentEvent]:
        """Async twin of `run`: `await agent.arun(task)`, or
        `async for event in agent.arun(task, stream=True)`.

        Cancelling it stops the model call, the running code and the tool calls in flight.
        """
        if stream:
            return self._events(task, **options)
        return self._output(task, return_full_result, **options)

    def __call__(self, task: str, **options: Unpack[RunOptions]) -> Any:
        """`agent(task)` is `agent.run(task)` (smolagents calls agents so)."""
        return self.run(task, **options)

    def replay(self, detailed: bool = False) -> None:
        """Print the last run from memory; `detailed=True` also prints what the model was sent
        before each step."""
        from mcpagents.agents.console import replay

        replay(self.memory, messages=self.messages if detailed else None)

    def visualize(self) -> None:
        """Print the agent as a tree: its model, its tools, its managed agents and theirs (the tool
        collections are opened to list their tools)."""
        from rich.console import Console

        from mcpagents.agents.agent_tree import agent_tree

        Console().print(agent_tree(self))

    async def _output(self, task: str, return_full_result: bool | None, **options: Unpack[RunOptions]) -> Any:
        result = await self._execute(task, None, **options)
        if self.return_full_result if return_full_result is None else return_full_result:
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
        budget: Budget | None = None,
        additional_args: Mapping[str, Any] | None = None,
        images: Sequence[ImageInput] | None = None,
        conversation: Conversation | None = None,
        interaction: Interaction | None = None,
    ) -> RunResult:
        started = time.time()
        await self.aopen()
        conversation = conversation or self.conversation
        if reset:
            conversation.memory = AgentMemory()
        tools = self.toolbox.tools()
        trace = self._trace(task, tools)
        run = RunContext(
            self,
            conversation,
            tools,
            sink=sink,
            additional_args=dict(additional_args or {}),
            budget=budget or self.budget,
            max_steps=max_steps or self.max_steps,
            trace=trace,
        )
        try:
            result = await self._run(run, task, started, additional_args, images, interaction)
        except BaseException as error:
            trace.finish(None, error)
            raise
        trace.finish(result)
        return result

    def _trace(self, task: str, tools: Sequence[Tool]) -> RunTrace:
        """The trace of a run: under the span of the MCP request that asked for it, if one did."""
        name = self.name or type(self).__name__
        served = current_chain.get()
        return RunTrace(
            self.tracing,
            agent=name,
            model=self.model.model_id,
            task=task,
            tools=[tool.name for tool in tools],
            parent=served.parent if served is not None else None,
            trace_id=served.trace_id if served is not None else None,
            chain=served.agents if served is not None else (name,),
            caller=served.caller if served is not None else None,
        )

    async def _run(
        self,
        run: RunContext,
        task: str,
        started: float,
        additional_args: Mapping[str, Any] | None,
        images: Sequence[ImageInput] | None,
        interaction: Interaction | None,
    ) -> RunResult:
        memory = run.memory
        run.interaction = run_interaction(
            run,
            interaction,
            elicitation=self.elicitation,
            sampling=self.sampling,
            limits=self.sampling_limits,
        )
        memory.system_prompt = self._system_prompt(run.tools)
        first = len(memory.steps)
        memory.steps.append(
            TaskStep(self.task_text(task, additional_args), [Image.of(i) for i in images or ()])
        )
        if run.console.verbosity_level > 0:  # level 0 prints nothing, nor pays for the formatting
            run.console.start(
                task, self.name or type(self).__name__, self.model.model_id, [t.name for t in run.tools]
            )
        output: Any = None
        error: str | None = None
        exception: ModelError | None = None
        try:
            with anyio.CancelScope(deadline=run.budget.deadline) as deadline:
                await self.start_run(run)
                state, output = await self._steps(run, run.max_steps)
            if deadline.cancelled_caught:
                state = "max_time_reached"
                await self._record_stopped(run)
        except ModelError as problem:
            state, error, exception = "error", str(problem), problem
        finally:
            with anyio.CancelScope(shield=True):
                await self.end_run(run)
        steps = memory.steps[first:]
        if state != "error" and state not in UNANSWERED:
            final = FinalAnswerStep(output)
            memory.steps.append(final)
            steps.append(final)
            run.emit(final)
            await self.step_callbacks.call(final, self)
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

    async def _steps(self, run: RunContext, limit: int) -> tuple[RunState, Any]:
        """Plan and act until a final answer, the step limit or a budget used up: how the run ends,
        and its output."""
        for number in range(1, limit + 1):
            if self.planning_interval and (number == 1 or (number - 1) % self.planning_interval == 0):
                with run.step_span_of("plan", number):
                    plan = await self._plan(run, number)
                await self._record(run, plan)
                if run.budget.spent() is not None:
                    break
            step = run.step = ActionStep(number, started=time.time())
            with run.step_span_of(f"step {number}", number) as span:
                await self._take_step(step, run)
                output = await self._accept(step, run.memory) if step.is_final_answer else None
                if step.error:
                    span.fail(step.error)
            await self._record(run, step)
            if step.is_final_answer:
                return "success", output
            if run.budget.spent() is not None:
                break
        spent = run.budget.spent()
        if spent == "max_tokens_reached":
            return spent, None
        if spent == "max_tool_calls_reached":
            why = prompts.OUT_OF_TOOL_CALLS.format(max_tool_calls=run.budget.limits.max_tool_calls)
            return spent, await self._final_answer_from_memory(run, why)
        return "max_steps_reached", await self._final_answer_from_memory(
            run, prompts.OUT_OF_STEPS.format(max_steps=limit)
        )

    async def _take_step(self, step: ActionStep, run: RunContext) -> None:
        """The agent type's step, within the step's budget: a step past its time is stopped, and
        its error says so."""
        run.budget.start_step()
        try:
            with anyio.move_on_after(run.budget.limits.max_seconds_per_step) as limit:
                await self.step(step, run)
        finally:
            step.duration = time.time() - step.started
        if limit.cancelled_caught:
            step.is_final_answer, step.error = False, run.budget.step_stopped()

    async def _record_stopped(self, run: RunContext) -> None:
        """Keep the step the run's deadline stopped, saying so: a conversation that goes on shows it."""
        step = run.step
        if step is not None and not any(kept is step for kept in reversed(run.memory.steps)):
            step.is_final_answer, step.error = False, run.budget.run_stopped()
            await self._record(run, step)

    async def _record(self, run: RunContext, step: PlanningStep | ActionStep) -> None:
        run.memory.steps.append(step)
        run.emit(step)
        await self.step_callbacks.call(step, self)

    async def _plan(self, run: RunContext, number: int) -> PlanningStep:
        started = time.time()
        question = self._planning_prompt(run, number)
        messages = [*self.messages(run.memory), ChatMessage("user", question)]
        response = await run.ask(messages, step_number=number)
        return PlanningStep(response.text.strip(), response.usage, started, time.time() - started)

    def _planning_prompt(self, run: RunContext, number: int) -> str:
        """Ours, or the `prompt_templates` planning template given (smolagents' variables)."""
        overrides = PromptOverrides.of(self.prompt_templates)
        template = overrides.initial_plan if number == 1 else overrides.update_plan
        if template is None:
            return prompts.PLANNING if number == 1 else prompts.UPDATE_PLANNING.format(steps=number - 1)
        tasks = [step.task for step in run.memory.steps if isinstance(step, TaskStep)]
        variables = self.prompt_variables(run.tools) | {
            "task": tasks[-1] if tasks else "",
            "remaining_steps": run.max_steps - number + 1,
        }
        return populate_template(template, variables)

    def _system_prompt(self, tools: Sequence[Tool]) -> str:
        template = PromptOverrides.of(self.prompt_templates).system_prompt
        if template is None:
            return self.system_prompt(tools)
        return populate_template(template, self.prompt_variables(tools))

    def prompt_variables(self, tools: Sequence[Tool]) -> dict[str, object]:
        """What a `prompt_templates` template may name (`{{ tools }}`, ...): smolagents' variables, the
        tools written out as this agent type shows them. Agent types add theirs."""
        return {
            "tools": "\n".join(f"- {tool.name}: {tool.description}" for tool in tools),
            "managed_agents": "",  # managed agents are among the tools here
            "custom_instructions": self.instructions or "",
        }

    async def _final_answer_from_memory(self, run: RunContext, why: str) -> Any:
        """The model's best answer from what the run learned, when `why` it cannot go on."""
        shape = prompts.answer_shape(self.output_json_schema)
        question = prompts.FINAL_ANSWER_FROM_MEMORY.format(why=why, answer_shape=shape)
        schema = self.output_json_schema
        response = await run.ask(
            [*self.messages(run.memory), ChatMessage("user", question)],
            step_number=run.step_number,
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
                verdict = check(answer, memory, agent=self) if takes_agent(check) else check(answer, memory)
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
        tools = [tool for collection in self.toolbox.collections for tool in collection]
        if len(tools) <= _NAMED_TOOLS:
            names = ", ".join(tool.name for tool in tools)
            works = f"This agent works in steps and can use tools: {names or 'none'}."
        else:  # a manager's prompt should not pay for a thousand names
            servers = ", ".join(dict.fromkeys(tool.server for tool in tools))
            works = f"This agent works in steps and can use {len(tools)} tools of these servers: {servers}."
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
                    if step.observations_images:
                        messages.append(self._observed_images(step.observations_images))
                case FinalAnswerStep(output=output):
                    messages.append(ChatMessage("assistant", f"Final answer: {_text(output)}"))
        return messages

    def _observed_images(self, images: Sequence[ImageInput]) -> ChatMessage:
        """The images a step callback added to a step (smolagents' `observations_images`), as a
        message: themselves to a model that reads images, else a note that they exist."""
        if self.model.accepts("image"):
            return ChatMessage("user", ["Images observed in this step:", *(Image.of(i) for i in images)])
        return ChatMessage(
            "user", f"({len(images)} images were observed in this step; you cannot see images.)"
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _short(problem: BaseException) -> str:
    message = getattr(problem, "message", None) or str(problem)
    return message.splitlines()[0][:300]
