"""ToolCallingAgent: the model emits tool calls (natively, or as constrained JSON); they run concurrently."""

from __future__ import annotations

import json
from collections.abc import Sequence

import anyio

from mcpagents.agents import prompts
from mcpagents.agents.base import MultiStepAgent
from mcpagents.agents.memory import ActionStep, ToolCallRecord
from mcpagents.agents.results import ToolCallFinished, ToolCallStarted, ToolProgress
from mcpagents.agents.run_context import RunContext
from mcpagents.json_data import to_json
from mcpagents.models.messages import ChatMessage, ToolCall, ToolDefinition
from mcpagents.tools.media import Attachments
from mcpagents.tools.tool import Progress, Tool

FINAL_ANSWER = "final_answer"
MAX_RESULT_CHARACTERS = 20_000


class ToolCallingAgent(MultiStepAgent):
    """An agent that acts by calling tools, several at once when the model asks for several.

    `final_answer` is a tool with one argument, `answer` (shaped by `output_schema` when given).
    See `MultiStepAgent` for the options.
    """

    def system_prompt(self, tools: Sequence[Tool]) -> str:
        servers = self.toolbox.server_instructions(tools) if self.server_instructions else {}
        return prompts.TOOL_CALLING_SYSTEM.format(
            answer_shape=prompts.answer_shape(self.output_json_schema),
            instructions=prompts.instructions_block(self.instructions)
            + prompts.server_instructions_block(servers),
        )

    def final_answer_definition(self) -> ToolDefinition:
        answer = self.output_json_schema or {"type": "string", "description": "The answer to the task."}
        parameters = {"type": "object", "properties": {"answer": answer}, "required": ["answer"]}
        return ToolDefinition(FINAL_ANSWER, "Ends the task with its final answer.", parameters)

    async def step(self, step: ActionStep, run: RunContext) -> None:
        definitions = [ToolDefinition.from_tool(tool) for tool in run.tools] + [
            self.final_answer_definition()
        ]
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
        actions = [
            (call, record)
            for call, record in zip(calls, step.tool_calls, strict=True)
            if record.name != FINAL_ANSWER
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
            known = ", ".join([*(tool.name for tool in run.tools), FINAL_ANSWER])
            record.error = f"there is no tool named {record.name!r}; the tools are: {known}"
        elif call.raw_arguments is not None:
            record.error = (
                f"{record.name}(): the arguments were not a JSON object: {call.raw_arguments[:200]!r}"
            )
        else:
            try:
                record.result = to_json(
                    await tool.acall_with(
                        record.arguments,
                        on_progress=progress,
                        meta=run.call_meta,
                        interaction=run.interaction,
                    )
                )
            except Exception as error:
                record.error = str(error)
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


def _observed(record: ToolCallRecord) -> str:
    return f"{record.name}: {_result_text(record)}"
