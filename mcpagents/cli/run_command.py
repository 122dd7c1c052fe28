"""`mcpagents run`: run an agent on one task, from a spec file or from servers named on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcpagents.agents.registry import agent_type, agent_type_names
from mcpagents.cli import tool_commands
from mcpagents.cli.argument_types import positive_int, positive_number
from mcpagents.cli.asking import add_input_options, interaction_of
from mcpagents.cli.exit_codes import EXIT_OK, EXIT_TOOL_ERROR
from mcpagents.logs import LOG_LEVELS

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent
    from mcpagents.agents.results import RunResult

_BUDGET_OPTIONS = ("max_tool_calls", "max_tokens", "max_seconds")
"""The `Budget` fields the command line sets (per-step budgets are the spec's)."""

_EXAMPLES = """\
The steps go to stderr and the final answer to stdout (JSON when it is structured).
Exit codes: 0 an answer, 1 the run failed or ran out of steps or budget, 2 a bad spec or usage, 3 a server
error. The --max-* options replace those of the spec's `budget:` (which has per-step budgets too).

Examples:
  mcpagents run agent.yaml "Summarise the TODOs in src/"
  mcpagents run agent.yaml "What is 12 + 30?" --model openai/gpt-5-mini --json
  mcpagents run --type tool_calling "What time is it in Tokyo?" -- uvx mcp-server-time
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="run an agent on a task and print its answer",
        description="Run the agent of an agent spec file on TASK; without a spec, a CodeAgent (or "
        "--type tool_calling) over the servers of --config, --url or a command after `--`.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("spec", nargs="?", metavar="SPEC", help="an agent spec file (.yaml or .yml)")
    run.add_argument("task", metavar="TASK", help="what the agent should do")
    run.add_argument("--model", help="a model string, e.g. openai/gpt-5-mini, local, scripted:FILE")
    run.add_argument("--type", choices=agent_type_names(), help="the agent without a spec (default code)")
    run.add_argument("--max-steps", type=positive_int, metavar="N", help="the most steps the run may take")
    run.add_argument(
        "--max-tool-calls", type=positive_int, metavar="N", help="the most tool calls the run may make"
    )
    run.add_argument(
        "--max-tokens",
        type=positive_int,
        metavar="N",
        help="the most model tokens (input and output) it may use",
    )
    run.add_argument(
        "--max-seconds", type=positive_number, metavar="S", help="stop the run after S seconds of wall time"
    )
    run.add_argument("--json", action="store_true", help="print the whole run (a RunResult) as JSON")
    shown = run.add_mutually_exclusive_group()
    shown.add_argument("-q", "--quiet", action="store_true", help="do not show the steps")
    shown.add_argument(
        "-v", "--verbose", action="store_true", help="also show the model's raw output, as it streams"
    )
    add_input_options(run)
    run.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        help="show the servers' log messages of this level and above (the level is sent to the servers)",
    )
    tool_commands.add_server_options(run)
    run.epilog = _EXAMPLES
    run.set_defaults(run=_run)


def _run(options: argparse.Namespace) -> int:
    from dataclasses import replace

    from rich.console import Console

    from mcpagents.agents.console import AgentConsole

    spec, task = _spec_and_task(options.spec, options.task)
    verbosity = 0 if options.quiet else 2 if options.verbose else 1
    agent = _agent_of_spec(spec, options, verbosity) if spec else _agent_of_options(options, verbosity)
    agent.console = AgentConsole(verbosity, Console(stderr=True))  # stdout holds only the answer
    given = {name: getattr(options, name) for name in _BUDGET_OPTIONS if getattr(options, name) is not None}
    with agent:
        result = agent.run(
            task,
            max_steps=options.max_steps,
            budget=replace(agent.budget, **given),
            return_full_result=True,
            interaction=interaction_of(options, "run"),
        )
    return _report(result, as_json=options.json)


def _spec_and_task(spec: str | None, task: str) -> tuple[Path | None, str]:
    """With one argument, it is the task (unless it names a spec file); with two, a spec and the task."""
    from mcpagents.errors import ConfigError

    def is_spec(argument: str) -> bool:
        return argument.endswith((".yaml", ".yml")) and Path(argument).exists()

    if spec is None:
        if is_spec(task):
            raise ConfigError(f'no task given: mcpagents run {task} "TASK"')
        return None, task
    if not is_spec(spec):
        raise ConfigError(f"{spec}: no such agent spec file (.yaml or .yml); quote a task of several words")
    return Path(spec), task


def _agent_of_spec(path: Path, options: argparse.Namespace, verbosity: int) -> MultiStepAgent:
    from dataclasses import replace

    from mcpagents.errors import ConfigError
    from mcpagents.spec import load_spec

    given = tool_commands.server_options_given(options) + (["--type"] if options.type else [])
    if given:
        raise ConfigError(f"{path} brings its own type, mcpServers and filters: drop {', '.join(given)}")
    spec = load_spec(path)
    if options.model:
        spec = replace(spec, model=options.model, model_options={})
    if options.log_level:
        spec = replace(spec, log_level=options.log_level)
    agent = spec.build(verbosity_level=verbosity)
    for collection in agent.toolbox.collections:
        collection.patience = None  # one run: a server that joined after it started would go unused
    return agent


def _agent_of_options(options: argparse.Namespace, verbosity: int) -> MultiStepAgent:
    servers_given = options.config or options.url or options.command
    tools = tool_commands.collection(options) if servers_given else None
    agent = agent_type(options.type or "code")(tools, options.model, verbosity_level=verbosity)
    agent.model.check()  # as a spec's agent is checked when built: before the servers start
    return agent


def _report(result: RunResult, *, as_json: bool) -> int:
    from mcpagents.agents.budgets import ENDINGS, UNANSWERED

    if as_json:
        print(result.to_json())
    elif result.state != "error" and result.state not in UNANSWERED:
        print(_answer(result.output))
    if result.state == "max_steps_reached":
        from mcpagents.agents.memory import ActionStep

        steps = sum(isinstance(step, ActionStep) for step in result.steps)
        print(
            f"mcpagents: the agent ran out of steps ({steps}) before a final answer;"
            " the output is its best answer from what it learned",
            file=sys.stderr,
        )
    elif result.state == "error":
        print(f"mcpagents: the run failed: {result.error}", file=sys.stderr)
    elif ending := ENDINGS.get(result.state):
        print(f"mcpagents: the run was stopped: {ending}", file=sys.stderr)
    return EXIT_OK if result.state == "success" else EXIT_TOOL_ERROR


def _answer(output: Any) -> str:
    return (
        output if isinstance(output, str) else json.dumps(output, indent=2, ensure_ascii=False, default=str)
    )
