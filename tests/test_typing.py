"""What mypy in strict mode tells a user of the public API: a misspelt keyword of a constructor, a model
call or a collection is an error, a provider that does not implement `complete` too, and the results
of `run` have the types their options say. One mypy run checks every snippet; a line marked
`# E: words` must fail with those words in its error, and no other line may fail."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

from mcpagents.tools.collection import CollectionOptions, ToolCollection

AGENTS = """\
from mcpagents import CodeAgent, ExecutorOptions, PythonExecutor, RunResult, ServerSettings, ToolCallingAgent
from mcpagents.agents.results import AgentEvent

agent = CodeAgent(model="scripted:x.yaml", max_stepz=3)  # E: max_stepz
other = ToolCallingAgent(model="scripted:x.yaml", verbosity=0)  # E: verbosity
options = ExecutorOptions(step_timout=5)  # E: step_timout
executor = PythonExecutor(options=ExecutorOptions(), workdirr="/tmp")  # E: workdirr
settings = ServerSettings(max_conversation=3)  # E: max_conversation
good = CodeAgent(model="scripted:x.yaml", max_steps=3, executor_options=ExecutorOptions(step_timeout=5))
full: RunResult = good.run("task", return_full_result=True)
events = good.run("task", stream=True)
first: AgentEvent = next(iter(events))
wrong: int = good.run("task", return_full_result=True)  # E: RunResult
"""

MODELS = """\
from collections.abc import AsyncIterator

from mcpagents import ChatMessage, Image, LiteLLMModel, LocalModel, Model, ModelRequest, ModelResponse
from mcpagents import RecordingModel, ScriptedModel
from mcpagents.models.messages import StreamEvent, TextDelta


class Echo(Model):
    model_id = "echo"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return ModelResponse(ChatMessage("assistant", request.messages[-1].text))

    async def complete_streaming(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        yield TextDelta(request.messages[-1].text)
        yield await self.complete(request)


class Unfinished(Model):
    model_id = "unfinished"


async def main(model: Model) -> None:
    messages = [ChatMessage("user", ["What is this?", Image(b"...", "image/png")])]
    answer: ModelResponse = await model.agenerate(messages, stop=["x"], temperature=0, max_tokens=5)
    await model.agenerate(messages, stop_sequence=["x"])  # E: stop_sequence
    await model.agenerate(messages, tool_choice="any")  # E: tool_choice
    async for event in model.astream(messages, tool_choise="none"):  # E: tool_choise
        print(event)
    await model.complete(ModelRequest(messages, max_token=3))  # E: max_token


echo = Echo()
echo.generate([{"role": "user", "content": "Hi"}], temprature=0.2)  # E: temprature
echo.stream([{"role": "user", "content": "Hi"}], respone_format=None)  # E: respone_format
Unfinished()  # E: complete
LiteLLMModel("openai/x", temperature=0.2, max_tokens=9, completion_options={"top_p": 0.9})
LiteLLMModel("openai/x", temprature=0.2)  # E: temprature
LocalModel(context=2048)  # E: context
ScriptedModel(["hi"], delays=1.0)  # E: delays
RecordingModel(echo, "run.jsonl", append=True)  # E: append
Image(b"...", mimetype="image/png")  # E: mimetype
"""

TOOLS = """\
from mcp import StdioServerParameters, stdio_client

from mcpagents import HttpServer, StdioServer, ToolCollection, TransportServer

calc = StdioServer("python", ["calc.py"], name="calc", timeout=3, mode="legacy")
ToolCollection.from_mcp(calc, timeout=3, connect_timeout=5, fail_fast=True, on_tool_change="block")
ToolCollection.from_mcp(stdio_client(StdioServerParameters(command="python")), pinned={"add": "abc"})
ToolCollection.from_config({"mcpServers": {}}, servers=["calc"], log_dir="logs", timeout=3)
HttpServer("http://127.0.0.1:8000/mcp", headers={"X": "y"}, transport="sse", timeout=3)
TransportServer(lambda: stdio_client(StdioServerParameters(command="python")), name="calc", timeout=3)
transport = stdio_client(StdioServerParameters(command="python"))
ToolCollection.from_mcp(calc, timout=3)  # E: "timout" for "from_mcp"
ToolCollection.from_config("mcp.json", fail_fats=True)  # E: "fail_fats"
ToolCollection.from_mcp(calc, on_tool_change="ignore")  # E: Literal['ignore']
StdioServer("python", timout=3)  # E: "timout" for "StdioServer"
HttpServer("http://127.0.0.1/mcp", header={})  # E: "header" for "HttpServer"
TransportServer(transport, nmae="x")  # E: "nmae" for "TransportServer"
"""


SNIPPETS = {"agents_code.py": AGENTS, "models_code.py": MODELS, "tools_code.py": TOOLS}


def test_mypy_catches_misspelt_keywords_and_types_the_results(tmp_path: Path) -> None:
    for name, code in SNIPPETS.items():
        (tmp_path / name).write_text(code)
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--hide-error-context"]
    checked = subprocess.run(
        [*mypy, "--cache-dir", str(tmp_path / "cache"), *(str(tmp_path / name) for name in SNIPPETS)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    errors: dict[tuple[str, int], str] = {}
    for line in checked.stdout.splitlines():
        if found := re.match(r".*?([a-z_]+\.py):(\d+): error: (.*)", line):
            key = (found[1], int(found[2]))
            errors[key] = errors.get(key, "") + found[3]
    expected = {
        (name, number): line.split("# E: ")[1]
        for name, code in SNIPPETS.items()
        for number, line in enumerate(code.splitlines(), start=1)
        if "# E: " in line
    }
    assert set(errors) == set(expected), checked.stdout
    for key, words in expected.items():
        assert words in errors[key], (key, errors[key])


def test_the_options_of_from_mcp_and_from_config_are_those_of_the_constructor() -> None:
    keywords = inspect.signature(ToolCollection).parameters.keys() - {"servers", "include", "exclude"}
    assert set(CollectionOptions.__annotations__) == keywords
