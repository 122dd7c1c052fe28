"""CodeAgent: the model writes Python that calls tools; the code runs in a code executor (by default
a confined worker process, `PythonExecutor`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Any, Unpack

import anyio

from mcpagents.agents import prompts
from mcpagents.agents.base import AgentOptions, MultiStepAgent
from mcpagents.agents.code_disclosure import CodeDisclosure
from mcpagents.agents.kept_results import preview
from mcpagents.agents.memory import ActionStep, ToolCallRecord
from mcpagents.agents.results import CodeAction, ToolCallFinished, ToolCallStarted, ToolProgress
from mcpagents.agents.run_context import RunContext
from mcpagents.agents.toolbox import ToolsArgument
from mcpagents.errors import ConfigError
from mcpagents.json_data import to_json
from mcpagents.models.base import Model
from mcpagents.models.messages import ChatMessage, CodeFormat
from mcpagents.sandbox.executor import PythonExecutor
from mcpagents.sandbox.interface import (
    CodeExecutor,
    ExecutorFactory,
    ExecutorMode,
    ExecutorOptions,
    SandboxTool,
    StepResult,
)
from mcpagents.tools.media import Attachments
from mcpagents.tools.tool import Progress, Tool

_FENCED = re.compile(r"```(?:python|py|Python|PY)?[ \t]*\n(.*?)```", re.DOTALL)
_TAGGED = re.compile(r"<code>(.*?)</code>", re.DOTALL)
_UNCLOSED = re.compile(r"```(?:python|py|Python|PY)?[ \t]*\n(.*)\Z", re.DOTALL)
_SESSION = "code"
"""The key of a run's (and a kept conversation's) `_CodeSession` in their `state`."""


class CodeAgent(MultiStepAgent):
    """An agent that acts by writing Python code (see `MultiStepAgent` for the shared options).

    Tools appear in the prompt as typed Python signatures made from their MCP input and output
    schemas. The code runs in a code executor, one per run (`reset=False` keeps it): a
    `PythonExecutor` unless `executor` names another (any `CodeExecutor`, made from the run's tools
    and the options). `executor_options` configure it; `authorized_imports`, `executor_mode`,
    `step_timeout`, `memory_mb` and `output_limit` are shortcuts for those fields, and
    `executor_kwargs` (smolagents' name) for any of them.

    `authorized_imports` are exactly the modules the code may import; smolagents'
    `additional_authorized_imports` adds to them (to the defaults when they are not given).
    `executor_type="local"` and `max_print_outputs_length` (= `output_limit`) are smolagents' names.
    """

    def __init__(
        self,
        tools: ToolsArgument = None,
        model: Model | str | None = None,
        *,
        executor: ExecutorFactory = PythonExecutor,
        executor_options: ExecutorOptions | None = None,
        authorized_imports: Sequence[str] | None = None,
        executor_mode: ExecutorMode | None = None,
        step_timeout: float | None = None,
        memory_mb: int | None = None,
        output_limit: int | None = None,
        executor_kwargs: Mapping[str, Any] | None = None,
        additional_authorized_imports: Sequence[str] = (),
        executor_type: str = "local",
        max_print_outputs_length: int | None = None,
        **options: Unpack[AgentOptions],
    ) -> None:
        _check_executor_type(executor_type)
        super().__init__(tools, model, **options)
        if max_print_outputs_length is not None:
            if output_limit is not None:
                raise ConfigError(
                    "give output_limit or max_print_outputs_length (its smolagents name), not both"
                )
            output_limit = max_print_outputs_length
        shortcuts: dict[str, Any] = {
            "authorized_imports": authorized_imports,
            "mode": executor_mode,
            "step_timeout": step_timeout,
            "memory_mb": memory_mb,
            "output_limit": output_limit,
        }
        changes = {name: value for name, value in shortcuts.items() if value is not None}
        changes |= executor_kwargs or {}
        if unknown := sorted(changes.keys() - {option.name for option in fields(ExecutorOptions)}):
            known = ", ".join(option.name for option in fields(ExecutorOptions))
            raise ConfigError(f"executor_kwargs: unknown option {unknown[0]!r}; the options are {known}")
        self.executor = executor
        self.executor_options = replace(executor_options or ExecutorOptions(), **changes)
        if additional_authorized_imports:
            imports = dict.fromkeys(
                [*self.executor_options.authorized_imports, *additional_authorized_imports]
            )
            self.executor_options = replace(self.executor_options, authorized_imports=tuple(imports))
        self._disclosed: CodeDisclosure | None = None

    @property
    def authorized_imports(self) -> tuple[str, ...]:
        return self.executor_options.authorized_imports

    def system_prompt(self, tools: Sequence[Tool]) -> str:
        servers = self.toolbox.server_instructions(tools) if self.server_instructions else {}
        intro, shown = self._disclosure(tools).prompt()
        return prompts.CODE_SYSTEM.format(
            tools_intro=intro or prompts.TOOLS_INTRO,
            tools=shown,
            answer_shape=prompts.answer_shape(self.output_json_schema),
            imports=prompts.imports_list(self.authorized_imports),
            instructions=prompts.instructions_block(self.instructions)
            + prompts.server_instructions_block(servers),
        )

    def return_full_code(self) -> str:
        """The code of the last run's steps, joined: the whole program the agent wrote."""
        return self.memory.return_full_code()

    def prompt_variables(self, tools: Sequence[Tool]) -> dict[str, object]:
        intro, shown = self._disclosure(tools).prompt()
        return super().prompt_variables(tools) | {
            "tools": f"{intro or prompts.TOOLS_INTRO}\n```python\n{shown}\n```",
            "authorized_imports": prompts.imports_list(self.authorized_imports),
            "code_block_opening_tag": "```python",
            "code_block_closing_tag": "```",
        }

    def _disclosure(self, tools: Sequence[Tool]) -> CodeDisclosure:
        """What the prompt shows of `tools` (kept while the agent's tools stay the same)."""
        if self._disclosed is None or not self._disclosed.is_for(tools):
            self._disclosed = CodeDisclosure(tools, self.tool_prompt_limit, self.pinned_tools)
        return self._disclosed

    def task_text(self, task: str, additional_args: Mapping[str, Any] | None) -> str:
        text = super().task_text(task, additional_args)
        return f"{text}\n(In code they are the dict `additional_args`.)" if additional_args else text

    async def start_run(self, run: RunContext) -> None:
        kept: _CodeSession | None = run.conversation.state.pop(_SESSION, None)
        continued = len(run.memory.steps) > 1  # reset=False: the conversation, and its Python state, go on
        if kept is not None and not continued:
            await kept.aclose()
            kept = None
        if kept is not None:
            kept.adopt(run)  # its tools' calls now belong to this run
        else:
            disclosure = self._disclosure(run.tools)
            tools = [_ObservedTool(tool, run) for tool in run.tools]
            catalog = disclosure.catalog()
            given: list[SandboxTool] = [*tools, catalog] if catalog is not None else [*tools]
            kept = _CodeSession(self.executor(given, self.executor_options), tools, disclosure)
            kept.start_soon()  # while the model writes the first step's code
        run.state[_SESSION] = kept
        if run.additional_args:
            await kept.ready()
            await kept.executor.define(additional_args=run.additional_args)

    async def end_run(self, run: RunContext) -> None:
        session = run.state.pop(_SESSION, None)
        if session is None:
            return
        await run.conversation.aclose()
        run.conversation.state[_SESSION] = session  # for a run that continues this one (reset=False)

    async def step(self, step: ActionStep, run: RunContext) -> None:
        response = await run.ask(
            self.messages(run.memory),
            step_number=step.step_number,
            response_format=CodeFormat("python"),
            stop=["Observation:"],
        )
        step.model_output, step.usage = response.text, response.usage
        code = parse_code(response.text)
        if code is None:
            step.error = prompts.NO_CODE
            return
        step.code = code
        run.emit(CodeAction(step.step_number, code))
        session: _CodeSession = run.state[_SESSION]
        await session.ready()
        result = await session.executor.run(code)
        printed = observation(result)
        large = [
            prompts.LARGE_RESULT.format(tool=record.name, size=record.size)
            for record in step.tool_calls
            if record.size is not None
        ]
        called = [record.name for record in step.tool_calls]
        revealed = session.disclosure.reveal(code, called, printed, session.shown)
        step.observations = "\n".join(part for part in [printed, *large, revealed] if part)
        if result.error is not None:
            step.error = f"{result.error}\n{prompts.RETRY}"
        if result.has_final_answer:
            step.is_final_answer, step.final_answer = True, result.final_answer

    def action_messages(self, step: ActionStep) -> list[ChatMessage]:
        said = step.model_output.strip() or (f"```python\n{step.code}\n```" if step.code else "")
        messages = [ChatMessage("assistant", said)]
        if step.is_final_answer:
            return messages
        observed = f"Observation:\n{step.observations}" if step.observations else "Observation: (no output)"
        if step.error:
            observed += f"\nError:\n{step.error}"
        # Images and audio tool calls returned, where the code printed them: as themselves or placeholders.
        attachments = Attachments(self.model.accepts)
        observed = attachments.show(observed, [record.result for record in step.tool_calls])
        parts = attachments.parts()
        return [*messages, ChatMessage("user", [observed, *parts] if parts else observed)]


class _CodeSession:
    """A run's code executor and the tools it was given; kept in a conversation for a run that
    continues it."""

    def __init__(
        self, executor: CodeExecutor, tools: list[_ObservedTool], disclosure: CodeDisclosure
    ) -> None:
        self.executor = executor
        self.tools = tools
        self.disclosure = disclosure
        self.shown = disclosure.shown_at_start()
        """The tools whose full stubs the model has been shown in this session."""
        self._starting: asyncio.Task[None] | None = None

    def start_soon(self) -> None:
        """Start the executor in the background: `ready` waits for it (and raises what it raised)."""
        self._starting = asyncio.get_running_loop().create_task(self.executor.start())

    async def ready(self) -> None:
        if self._starting is not None:
            await asyncio.shield(self._starting)
            self._starting = None

    def adopt(self, run: RunContext) -> None:
        for tool in self.tools:
            tool.run = run

    async def aclose(self) -> None:
        starting, self._starting = self._starting, None
        if starting is not None:
            starting.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait([starting])
            if not starting.cancelled():
                starting.exception()  # taken: how it ended no longer matters, the executor closes
        await self.executor.aclose()


class _ObservedTool:
    """A tool as the executor sees it, reporting each call to the run (records, events, progress)."""

    def __init__(self, tool: Tool, run: RunContext) -> None:
        self.tool = tool
        self.run = run
        self.name = tool.name

    @property
    def description(self) -> str:
        return self.tool.description

    @property
    def input_schema(self) -> dict[str, Any]:
        return self.tool.input_schema

    async def acall_with(self, arguments: Mapping[str, Any]) -> Any:
        step = self.run.step
        assert step is not None, "tools are called while a step runs"
        record = ToolCallRecord(self.name, dict(arguments))
        step.tool_calls.append(record)
        self.run.emit(ToolCallStarted(step.step_number, self.name, record.arguments))

        def progress(report: Progress) -> None:
            self.run.emit(
                ToolProgress(step.step_number, self.name, report.progress, report.total, report.message)
            )

        with self.run.tool_call(self.name, arguments) as span:
            try:
                self.run.budget.take_tool_call(self.name)  # counted as it starts: calls in flight count
                result = await self.tool.acall_with(
                    arguments,
                    on_progress=progress,
                    meta=self.run.call_meta_of(span),
                    interaction=self.run.interaction,
                )
            except Exception as error:
                record.error = str(error)
                self.run.trace.tool_result(span, None, record.error)
                self.run.emit(ToolCallFinished(step.step_number, self.name, error=record.error))
                raise
        record.result = to_json(result)
        preview(record, self.run.agent.result_limit)
        self.run.emit(ToolCallFinished(step.step_number, self.name, result=record.result))
        return result


def _check_executor_type(executor_type: str) -> None:
    """smolagents' `executor_type`: "local" is mcpagents' own executor; the others are not here."""
    if executor_type != "local":
        raise ConfigError(
            f"executor_type={executor_type!r} (a smolagents executor) is not available: code runs in"
            " mcpagents' confined worker process (executor_mode='sandbox' adds bubblewrap); for a"
            " container or a remote machine, implement CodeExecutor and pass executor=YourExecutor"
        )


def parse_code(text: str) -> str | None:
    """The code of a model's answer: its fenced blocks (joined), a `<code>` block, or a fence the
    model did not close; None when there is no code."""
    blocks = _FENCED.findall(text) or _TAGGED.findall(text)
    if not blocks and (unclosed := _UNCLOSED.search(text)):
        blocks = [unclosed.group(1)]
    code = "\n\n".join(block.strip("\n") for block in blocks if block.strip())
    return code or None


def observation(result: StepResult) -> str:
    """What the model reads after its code ran."""
    parts = []
    output = (result.stdout + result.stderr).strip("\n")
    if output:
        parts.append(f"Execution logs:\n{output}")
    if result.value is not None:
        parts.append(f"Last output from code snippet:\n{result.value}")
    if result.final_answer_note:
        parts.append(f"Note: {result.final_answer_note}")
    return "\n".join(parts)
