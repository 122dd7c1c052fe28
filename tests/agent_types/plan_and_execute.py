"""A plan-and-execute agent: the model plans every tool call at once, the agent makes them, and the
model answers from their results. Written as another package would, from mcpagents' public API."""

from __future__ import annotations

import json
from collections.abc import Sequence

from mcpagents import (
    ActionStep,
    ChatMessage,
    JsonSchemaFormat,
    MultiStepAgent,
    RunContext,
    Tool,
    ToolCallFinished,
    ToolCallRecord,
    ToolCallStarted,
)

PLAN = {
    "type": "object",
    "properties": {
        "calls": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"tool": {"type": "string"}, "arguments": {"type": "object"}},
                "required": ["tool", "arguments"],
            },
        }
    },
    "required": ["calls"],
}


class PlanAndExecuteAgent(MultiStepAgent):
    """Step 1 plans the tool calls and makes them; step 2 answers from their results."""

    def system_prompt(self, tools: Sequence[Tool]) -> str:
        listed = "\n".join(f"- {tool.name}: {tool.description}" for tool in tools)
        return (
            f"Plan every tool call the task needs, as JSON, then answer from the results.\nTools:\n{listed}"
        )

    async def step(self, step: ActionStep, run: RunContext) -> None:
        if "planned" not in run.state:
            run.state["planned"] = True
            plan = await run.ask(
                self.messages(run.memory),
                step_number=step.step_number,
                response_format=JsonSchemaFormat(PLAN),
            )
            step.model_output, step.usage = plan.text, plan.usage
            tools = {tool.name: tool for tool in run.tools}
            for call in json.loads(plan.text)["calls"]:
                record = ToolCallRecord(call["tool"], call["arguments"])
                step.tool_calls.append(record)
                run.emit(ToolCallStarted(step.step_number, record.name, record.arguments))
                try:
                    record.result = await tools[record.name].acall_with(record.arguments)
                except Exception as error:
                    record.error = str(error)
                run.emit(ToolCallFinished(step.step_number, record.name, record.result, record.error))
            step.observations = "\n".join(f"{r.name}: {r.error or r.result}" for r in step.tool_calls)
            return
        answer = await run.ask(self.messages(run.memory), step_number=step.step_number)
        step.model_output, step.usage = answer.text, answer.usage
        step.is_final_answer, step.final_answer = True, answer.text.strip()

    def action_messages(self, step: ActionStep) -> list[ChatMessage]:
        messages = [ChatMessage("assistant", step.model_output)]
        if not step.is_final_answer:
            messages.append(ChatMessage("user", f"Results:\n{step.observations}\nNow answer the task."))
        return messages
