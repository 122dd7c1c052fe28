"""ToolCallingAgent: the model emits tool calls (natively, or as constrained JSON); they run concurrently."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from typing import Unpack

import anyio

from mcpagents.agents import prompts
from mcpagents.agents.base import AgentOptions, MultiStepAgent
from mcpagents.agents.kept_results import PAGE_CHARACTERS, READ_DEFINITION, READ_RESULT, KeptResults
from mcpagents.agents.memory import ActionStep, ToolCallRecord
from mcpagents.agents.results import ToolCallFinished, ToolCallStarted, ToolProgress
from mcpagents.agents.run_context import RunContext
from mcpagents.agents.tool_index import SEARCH_TOOLS
from mcpagents.agents.tool_loading import ToolLoading
from mcpagents.agents.toolbox import ToolsArgument
from mcpagents.json_data import to_json
from mcpagents.models.base import Model
from mcpagents.models.messages import ChatMessage, ToolCall, ToolDefinition
from mcpagents.tools.media import Attachments
from mcpagents.tools.tool import Progress, Tool

FINAL_ANSWER = "final_answer"
MAX_RESULT_CHARACTERS = 20_000
_LISTED = 30
"""Tools an unknown tool's error names them all, at most."""
_KEPT = "kept_results"
"""The key of the conversation's large results (`KeptResults`) in its `state`."""
_LOADED = "loaded_tools"
"""The key of the tools loaded so far (deferred loading) in a conversation's `state`."""


class ToolCallingAgent(MultiStepAgent):
    """An agent that acts by calling tools, several at once when the model asks for several.

    `final_answer` is a tool with one argument, `answer` (shaped by `output_schema` when given).
    See `MultiStepAgent` for the options.
    """

    def __init__(
        self, tools: ToolsArgument = None, model: Model | str | None = None, **options: Unpack[AgentOptions]
    ) -> None:
        super().__init__(tools, model, **options)
        self._loaded: ToolLoading | None = None

    def system_prompt(self, tools: Sequence[Tool]) -> str:
        servers = self.toolbox.server_instructions(tools) if self.server_instructions else {}
        return prompts.TOOL_CALLING_SYSTEM.format(
            answer_shape=prompts.answer_shape(self.output_json_schema),
            instructions=self._loading(tools).prompt()
            + prompts.instructions_block(self.instructions)
            + prompts.server_instructions_block(servers),
        )

    def _loading(self, tools: Sequence[Tool]) -> ToolLoading:
        """Which definitions go with each model call (kept while the agent's tools stay the same)."""
        if self._loaded is None or not self._loaded.is_for(tools):
            self._loaded = ToolLoading(tools, self.tool_prompt_limit, self.pinned_tools)
        return self._loaded

    async def start_run(self, run: RunContext) -> None:
        if len(run.memory.steps) <= 1:  # a new conversation: the last one's tools and results are gone
            run.conversation.state.pop(_LOADED, None)
            run.conversation.state.pop(_KEPT, None)

    def final_answer_definition(self) -> ToolDefinition:
        answer = self.output_json_schema or {"type": "string", "description": "The answer to the task."}
        parameters = {"type": "object", "properties": {"answer": answer}, "required": ["answer"]}
        return ToolDefinition(FINAL_ANSWER, "Ends the task with its final answer.", parameters)

    async def step(self, step: ActionStep, run: RunContext) -> None:
        loading = self._loading(run.tools)
        loaded: set[str] = run.conversation.state.setdefault(_LOADED, loading.loaded_at_start())
        kept = self._kept(run)
        definitions = [*loading.definitions(loaded), self.final_answer_definition()]
        if kept:
            definitions.insert(-1, READ_DEFINITION)
        response = await run.ask(
            self.messages(run.memory), step_number=step.step_number, tools=definitions, tool_choice="required"
        )
        step.model_output, step.usage = response.text, response.usage
        calls = response.tool_calls
        if not calls:
            step.error = prompts.NO_TOOL_CALL
            return
        step.tool_calls = [ToolCallRecord(call.name, call.arguments, call.id) for call in calls]
        finals = [record for record in step.tool_calls if record.name == FINAL_ANSWER]
        answered_here = []  # the agent's own tools: searching tools, reading kept results
        for record in step.tool_calls:
            if record.name == SEARCH_TOOLS and loading.deferred:
                self._search(record, step, run, loading, loaded)
            elif record.name == READ_RESULT and kept:
                self._read(record, step, run, kept)
            else:
                continue
            answered_here.append(record)
        loaded.update(record.name for record in step.tool_calls if record.name in loading.tools)
        actions = [
            (call, record)
            for call, record in zip(calls, step.tool_calls, strict=True)
            if record.name != FINAL_ANSWER and not any(record is own for own in answered_here)
        ]
        if actions:  # (an empty task group still costs a trip through the event loop)
            async with anyio.create_task_group() as running:
                for call, record in actions:
                    running.start_soon(self._perform, call, record, step, run)
        if not finals:
            step.observations = "\n".join(_observed(record) for record in step.tool_calls)
            return
        final = finals[0]
        if actions:
            final.error = (
                "final_answer was called together with other tools, before their results: call it alone"
            )
        elif "answer" not in final.arguments:
            final.error = "final_answer needs its argument `answer`"
        else:
            step.is_final_answer, step.final_answer = True, final.arguments["answer"]
            return
        step.observations = "\n".join(_observed(record) for record in step.tool_calls)
        step.error = f"{final.error}\n{prompts.RETRY}"

    def _search(
        self,
        record: ToolCallRecord,
        step: ActionStep,
        run: RunContext,
        loading: ToolLoading,
        loaded: set[str],
    ) -> None:
        """`search_tools`, answered here: the best matches are loaded for the next model call."""
        run.emit(ToolCallStarted(step.step_number, record.name, record.arguments, record.id))
        query, limit = record.arguments.get("query"), record.arguments.get("limit")
        record.result = loading.search(str(query or ""), limit if isinstance(limit, int) else None, loaded)
        run.emit(ToolCallFinished(step.step_number, record.name, record.result, None, record.id))

    def _read(self, record: ToolCallRecord, step: ActionStep, run: RunContext, kept: KeptResults) -> None:
        """`read_result`, answered here from the conversation's kept results."""
        run.emit(ToolCallStarted(step.step_number, record.name, record.arguments, record.id))
        arguments = record.arguments
        start, length = arguments.get("start", 0), arguments.get("length", PAGE_CHARACTERS)
        record.result = kept.read(
            str(arguments.get("handle", "")),
            start if isinstance(start, int) else 0,
            length if isinstance(length, int) else PAGE_CHARACTERS,
        )
        run.emit(ToolCallFinished(step.step_number, record.name, record.result, None, record.id))

    def _kept(self, run: RunContext) -> KeptResults:
        kept: KeptResults = run.conversation.state.setdefault(_KEPT, KeptResults(self.result_limit))
        return kept

    async def _perform(
        self, call: ToolCall, record: ToolCallRecord, step: ActionStep, run: RunContext
    ) -> None:
        run.emit(ToolCallStarted(step.step_number, record.name, record.arguments, record.id))
        tool = next((tool for tool in run.tools if tool.name == record.name), None)

        def progress(report: Progress) -> None:
            run.emit(
                ToolProgress(step.step_number, record.name, report.progress, report.total, report.message)
            )

        if tool is None:
            names = [tool.name for tool in run.tools]
            record.error = _unknown_tool(record.name, names, self._loading(run.tools).deferred)
        elif call.raw_arguments is not None:
            record.error = (
                f"{record.name}(): the arguments were not a JSON object: {call.raw_arguments[:200]!r}"
            )
        else:
            with run.tool_call(record.name, record.arguments, record.id) as span:
                try:
                    run.budget.take_tool_call(record.name)  # counted as it starts: calls in flight count
                    record.result = to_json(
                        await tool.acall_with(
                            record.arguments,
                            on_progress=progress,
                            meta=run.call_meta_of(span),
                            interaction=run.interaction,
                        )
                    )
                except Exception as error:
                    record.error = str(error)
                else:
                    self._kept(run).keep(record)
                run.trace.tool_result(span, record.result, record.error)
        run.emit(ToolCallFinished(step.step_number, record.name, record.result, record.error, record.id))

    def action_messages(self, step: ActionStep) -> list[ChatMessage]:
        calls = [
            ToolCall(record.id or f"call_{index}", record.name, record.arguments)
            for index, record in enumerate(step.tool_calls)
        ]
        messages = [ChatMessage("assistant", step.model_output, calls)]
        attachments = Attachments(self.model.accepts)
        # Every tool call gets its answer, final_answer's too when the run went on after it.
        for call, record in zip(calls, step.tool_calls, strict=True):
            text = _result_text(record, attachments)
            if record.name == FINAL_ANSWER:
                text = f"Error: {step.error}" if step.error else "The final answer was given."
            messages.append(ChatMessage("tool", text, tool_call_id=call.id, name=record.name))
        if attachments.items:  # OpenAI-style chat APIs take images in user messages, not in tool results
            messages.append(ChatMessage("user", ["What the tools returned:", *attachments.parts()]))
        if step.error and not step.tool_calls:
            messages.append(ChatMessage("user", step.error))
        return messages


def _result_text(record: ToolCallRecord, attachments: Attachments | None = None) -> str:
    """The result as the model reads it; with `attachments`, images and audio as their placeholders."""
    if record.error is not None:
        return f"Error: {record.error}"
    text = (
        record.result
        if isinstance(record.result, str)
        else json.dumps(record.result, ensure_ascii=False, default=str)
    )
    if attachments is not None:
        text = attachments.show(text, [record.result])
    if len(text) > MAX_RESULT_CHARACTERS:
        text = (
            text[:MAX_RESULT_CHARACTERS]
            + f"\n[result truncated: {len(text) - MAX_RESULT_CHARACTERS} more characters]"
        )
    return text


def _unknown_tool(name: str, names: list[str], searchable: bool) -> str:
    """The error of a call to a tool that does not exist: close names, and the others when few."""
    parts = [f"there is no tool named {name!r}"]
    if close := difflib.get_close_matches(name, names, n=3):
        parts.append(f"did you mean {', '.join(close)}?")
    if searchable:
        parts.append(f"{SEARCH_TOOLS} finds the others of {len(names)} tools")
    elif len(names) <= _LISTED:
        parts.append(f"the tools are: {', '.join([*names, FINAL_ANSWER])}")
    return "; ".join(parts)


def _observed(record: ToolCallRecord) -> str:
    return f"{record.name}: {_result_text(record)}"
