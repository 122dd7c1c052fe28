"""A served ToolCallingAgent over the calc test server, its model a script function reading the task:

* "add A and B": calls add(a=A, b=B), answers the sum;
* "hang": calls the calc server's `hang` (never answers: for cancellation);
* "cancellations": calls `cancelled()` and answers how many `hang` calls were cancelled;
* "slow S": calls slow(seconds=S), answers "slept";
* "ask": calls the managed agent named by --child with the rest of the task, answers its answer;
* "recall": answers the first task of its conversation;
* anything else: answers the task at once (one model call: what the serving benchmark measures).

`--transport http` prints the URL line of `mcpagents serve` on stderr; `--workers N` serves over
HTTP from N processes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from functools import partial
from pathlib import Path

from mcpagents import HttpServer, ScriptedModel, StdioServer, ToolCallingAgent, ToolCollection
from mcpagents.models.messages import ChatMessage, ToolDefinition
from mcpagents.serving.serve import serve
from mcpagents.serving.settings import ServerSettings
from mcpagents.serving.workers import serve_workers

CALC_SERVER = Path(__file__).with_name("calc_server.py")


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def script(history: list[ChatMessage], tools: list[ToolDefinition] | None) -> object:
    asked = [index for index, message in enumerate(history) if message.role == "user"]
    task = history[asked[-1]].text
    results = [message.text for message in history[asked[-1] :] if message.role == "tool"]
    if task == "recall":
        return call("final_answer", answer=history[asked[0]].text)
    if results:
        answer = results[-1]
        if task.startswith("ask") and answer.startswith("{"):
            answer = json.loads(answer)["answer"]
        return call("final_answer", answer=answer)
    if task.startswith("add"):
        a, b = (int(number) for number in re.findall(r"-?\d+", task)[:2])
        return call("add", a=a, b=b)
    if task.startswith("hang"):
        return call("hang")
    if task.startswith("cancellations"):
        return call("cancelled")
    if task.startswith("slow"):
        return call("slow", seconds=float(task.split()[1]))
    if task.startswith("ask"):
        child = next(
            tool.name
            for tool in tools or ()
            if tool.name not in ("final_answer",) and "task" in str(tool.parameters)
        )
        return call(child, task=task.split(" ", 1)[1])
    return call("final_answer", answer=task)


def burning(seconds: float, history: list[ChatMessage], tools: list[ToolDefinition] | None) -> object:
    """`script`, after keeping this process's CPU busy for `seconds`."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return script(history, tools)


def options_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="helper")
    parser.add_argument("--transport", default="stdio")
    parser.add_argument("--token")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each model call takes")
    parser.add_argument(
        "--cpu-ms", type=float, default=0.0, help="CPU each model call burns in the server (the benchmark's)"
    )
    parser.add_argument(
        "--child",
        help="a managed agent: a URL, or NAME[,NAME...]: this script as NAME over stdio, managing the rest",
    )
    parser.add_argument("--no-tools", action="store_true", help="no calc server (the benchmark's agent)")
    parser.add_argument("--grace", type=int, default=10)
    parser.add_argument("--stateful", action="store_true", help="HTTP sessions for 2025-era clients")
    parser.add_argument("--workers", type=int, default=1, help="HTTP worker processes")
    parser.add_argument("--conversation-store", help="a SQLite file for the conversations")
    return parser


def build_agents(options: argparse.Namespace) -> list[ToolCallingAgent]:
    managed = []
    if options.child and options.child.startswith("http"):
        managed.append(HttpServer(options.child))
    elif options.child:
        name, _, rest = options.child.partition(",")
        args = [__file__, "--name", name, *(["--child", rest] if rest else [])]
        managed.append(StdioServer(sys.executable, args, name=name))
    tools = (
        None if options.no_tools else ToolCollection.from_mcp(StdioServer(sys.executable, [str(CALC_SERVER)]))
    )
    agent = ToolCallingAgent(
        tools,
        ScriptedModel(
            partial(burning, options.cpu_ms / 1000) if options.cpu_ms else script, delay=options.delay
        ),
        name=options.name,
        description="Adds numbers, hangs, or delegates, as its task says.",
        managed_agents=managed,
        verbosity_level=0,
    )
    return [agent]


def main() -> None:
    options = options_parser().parse_args()
    settings = ServerSettings(
        port=0,
        token=options.token,
        stateless=not options.stateful,
        conversation_store=options.conversation_store,
        grace=options.grace,
    )
    if options.workers > 1:
        serve_workers(partial(build_agents, options), workers=options.workers, settings=settings)
    else:
        serve(build_agents(options), transport=options.transport, settings=settings)


if __name__ == "__main__":
    main()
