"""What one run of an agent has at hand: the object an agent type's hooks are given.

An agent type (see `MultiStepAgent`) fills each step from the model's answer; it reaches the model
through `ask`, the run's tools through `tools`, says what happened through `emit`, and keeps what it
needs for the run in `state` (for the whole conversation: `conversation.state`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Unpack

from mcpagents.agents.budgets import Budget, RunBudget
from mcpagents.agents.chain import CallChain, current_chain
from mcpagents.agents.conversation import Conversation
from mcpagents.agents.memory import ActionStep, AgentMemory
from mcpagents.agents.results import AgentEvent, ModelDelta
from mcpagents.agents.run_trace import RunTrace
from mcpagents.connections.interaction import Interaction
from mcpagents.models.messages import ChatMessage, ModelResponse, RequestOptions, TextDelta, TokenUsage
from mcpagents.tools.tool import Tool
from mcpagents.tracing.spans import Span

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent
    from mcpagents.agents.console import AgentConsole

Emit = Callable[[AgentEvent], None]


class RunContext:
    """One run of `agent`: its conversation and memory, its tools, where its events go."""

    def __init__(
        self,
        agent: MultiStepAgent,
        conversation: Conversation,
        tools: Sequence[Tool],
        *,
        sink: Emit | None = None,
        additional_args: dict[str, Any] | None = None,
        budget: Budget | None = None,
        max_steps: int | None = None,
        trace: RunTrace,
    ) -> None:
        self.agent = agent
        self.conversation = conversation
        self.memory: AgentMemory = conversation.memory
        self.tools = list(tools)
        self.additional_args = additional_args or {}
        """Values given with the task (`run(additional_args=...)`)."""
        self.max_steps = max_steps or agent.max_steps
        """The action steps this run may take (the agent's `max_steps`, or the run's own)."""
        self.step: ActionStep | None = None
        """The action step under way: tools called on the step's behalf report to it."""
        self.trace = trace
        """The run's spans and run log."""
        self.step_span: Span | None = None
        """The span of the step (or plan) under way: its model and tool calls are its children.
        None between steps: a call made then (the final answer from memory) hangs under the run."""
        self.state: dict[str, Any] = {}
        """What the agent type keeps for this run."""
        self.console: AgentConsole = agent.console_for_run()
        self._sink = sink
        self.budget = RunBudget(budget or Budget())
        """What the run may spend and has spent: tool calls are taken from it as they start."""
        chain = current_chain.get() or CallChain.start(agent.name, trace_id=trace.trace_id)
        chain = chain.within(self.budget.limits.max_seconds)
        self.call_meta = chain.meta()
        """The `_meta` of this run's tool calls: served agents down the line see the chain, and stop
        at its deadline, this run's time budget included."""
        self.interaction: Interaction = Interaction()
        """Who answers what this run's tool servers ask (set by the agent when the run starts)."""

    @property
    def step_number(self) -> int:
        """The number of the action step under way (0 before the first)."""
        return self.step.step_number if self.step is not None else 0

    def count_usage(self, usage: TokenUsage) -> None:
        """Count tokens the agent's model spent outside the step's own call (sampling for a tool
        server) in the step under way."""
        self.budget.count_tokens(usage)
        if self.step is not None:
            self.step.usage = self.step.usage + usage

    def emit(self, event: AgentEvent) -> None:
        """Tell the console and whoever streams the run what happened."""
        self.console.render(event)
        self.trace.record(event)
        if self._sink is not None:
            self._sink(event)

    async def ask(
        self, messages: Sequence[ChatMessage], *, step_number: int, **options: Unpack[RequestOptions]
    ) -> ModelResponse:
        """One call of the agent's model (`options`: those of a `ModelRequest`); streamed into
        `ModelDelta` events of `step_number` when the run is streamed; its tokens count against the
        run's budget, and what it may write is within the step's."""
        model = self.agent.model
        if (cap := self.budget.output_tokens(options.get("max_tokens"))) is not None:
            options["max_tokens"] = cap
        response: ModelResponse | None = None
        attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model.model_id}
        with self.trace.span(
            f"chat {model.model_id}", self.step_span, kind="client", attributes=attributes
        ) as span:
            if self._sink is None:
                response = await model.agenerate(messages, **options)
            else:
                async for event in model.astream(messages, **options):
                    if isinstance(event, TextDelta):
                        self.emit(ModelDelta(step_number, event.text))
                    elif isinstance(event, ModelResponse):
                        response = event
            assert response is not None, "a model's stream ends with its response"
            self.trace.model_call(span, messages, response)
        self.budget.count_tokens(response.usage)
        return response

    @contextmanager
    def step_span_of(self, name: str, number: int) -> Iterator[Span]:
        """The span of step (or plan) `number`, the parent of the calls made until it ends."""
        with self.trace.span(name, attributes={"mcpagents.step.number": number}) as span:
            self.step_span = span
            try:
                yield span
            finally:
                self.step_span = None

    @contextmanager
    def tool_call(
        self, name: str, arguments: Mapping[str, Any], call_id: str | None = None
    ) -> Iterator[Span]:
        """The span of a call of tool `name` made for the step under way; the call's `_meta` is
        `call_meta(span)`, and its outcome goes to `trace.tool_result`."""
        attributes = self.trace.tool_attributes(name, arguments, call_id)
        with self.trace.span(
            f"tools/call {name}", self.step_span, kind="client", attributes=attributes
        ) as span:
            yield span

    def call_meta_of(self, span: Span) -> dict[str, Any]:
        """The `_meta` of a tool call made in `span`: the chain, and the W3C trace context."""
        return {**self.call_meta, **span.context().meta()}
