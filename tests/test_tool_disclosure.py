"""Progressive disclosure: an agent with 200 tools (tests/servers/tool_shop.py, over stdio) holds an
index of them in its prompt, finds the one it needs and calls it; below the limit nothing changes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.server import MCPServer
from pydantic import BaseModel

from mcpagents import CodeAgent, ScriptedModel, StdioServer, ToolCallingAgent, ToolCollection
from mcpagents.agents.memory import ActionStep
from mcpagents.connections.specs import InProcessServer
from mcpagents.models.messages import ChatMessage, ToolDefinition
from tests.scripts import Recorder, code

SHOP = Path(__file__).parent / "servers" / "tool_shop.py"


def shop(tools: int) -> StdioServer:
    return StdioServer(sys.executable, [str(SHOP), "--tools", str(tools)], name="shop")


@pytest.fixture(scope="module")
def many() -> Iterator[ToolCollection]:
    with ToolCollection.from_mcp(shop(200)) as tools:
        yield tools


def observations(steps: list[object]) -> list[str]:
    return [step.observations for step in steps if isinstance(step, ActionStep)]


def test_a_code_agent_finds_uses_and_is_shown_the_tools_it_was_not_shown(many: ToolCollection) -> None:
    model = ScriptedModel(
        [
            "Find it.\n```python\nprint(search_tools('celsius to fahrenheit'))\n```",
            "```python\nt = convert_temperature(celsius=100)\nreceipt = sensor_reset(id='s1')\nprint(t)\n```",
            "```python\nhelp(ticket_export)\n```",
            "```python\nfinal_answer([t['fahrenheit'], receipt['tool']])\n```",
        ]
    )
    agent = CodeAgent(many, model, verbosity_level=0)
    result = agent.run("What is 100 C in F? Then reset sensor s1.", return_full_result=True)
    prompt = agent.memory.system_prompt
    assert result.output == [212.0, "sensor_reset"]
    assert "There are 200" in prompt and "shop (200 tools)" in prompt
    assert prompt.count("def ") == 1  # final_answer's only
    searched, used, helped = observations(result.steps)[:3]
    assert "def convert_temperature(celsius: float) -> Temperature:" in searched
    # Used without being looked up: shown in full once it ran; the one found by the search is not repeated.
    assert "Full signatures of the tools this code used" in used and "def sensor_reset(id: str" in used
    assert "def convert_temperature" not in used
    assert "def ticket_export(id: str, note: str | None = None) -> Done:" in helped


def test_below_the_limit_the_prompt_is_the_full_stubs_as_before() -> None:
    with ToolCollection.from_mcp(shop(10)) as tools:
        prompts = [
            CodeAgent(tools, ScriptedModel([]), tool_prompt_limit=limit).system_prompt(list(tools))
            for limit in (2_000, None)
        ]
        indexed = CodeAgent(tools, ScriptedModel([]), tool_prompt_limit=300).system_prompt(list(tools))
    assert prompts[0] == prompts[1]
    assert "def invoice_archive(id: str, note: str | None = None) -> Done:" in prompts[0]
    assert "def invoice_archive" not in indexed and "invoice_archive(id, note?): Archive a invoice" in indexed


def test_pinned_tools_are_always_in_full(many: ToolCollection) -> None:
    agent = CodeAgent(many, ScriptedModel([]), pinned_tools=["ticket_create"])
    prompt = agent.system_prompt(list(many))
    assert "def ticket_create(id: str" in prompt and "def ticket_delete" not in prompt
    # As a managed agent, it describes its tools without naming all 200 in its manager's prompt.
    assert agent.tool_description().endswith("can use 200 tools of these servers: shop.")


def test_a_tool_calling_agent_loads_what_it_searched_for_in_its_next_call(many: ToolCollection) -> None:
    offered: list[list[str]] = []
    script = [
        {"tool_calls": [{"name": "search_tools", "arguments": {"query": "convert celsius"}}]},
        {"tool_calls": [{"name": "convert_temperature", "arguments": {"celsius": 100}}]},
        {"tool_calls": [{"name": "final_answer", "arguments": {"answer": "212"}}]},
    ]

    def model(messages: list[ChatMessage], tools: list[ToolDefinition] | None) -> object:
        offered.append([tool.name for tool in tools or ()])
        return script[len(offered) - 1]

    agent = ToolCallingAgent(many, ScriptedModel(model), pinned_tools=["order_list"], verbosity_level=0)
    result = agent.run("What is 100 C in F?", return_full_result=True)
    assert result.output == "212"
    assert offered[0] == ["order_list", "search_tools", "final_answer"]
    assert "convert_temperature" in offered[1] and len(offered[1]) <= 8
    searched, converted, _ = (step.tool_calls[0] for step in result.steps if isinstance(step, ActionStep))
    assert "convert_temperature: Convert a temperature from degrees Celsius" in str(searched.result)
    assert converted.result == {"celsius": 100.0, "fahrenheit": 212.0}
    assert "Only some of your 200 tools are loaded" in agent.memory.system_prompt


def test_a_large_result_reaches_a_tool_calling_model_as_a_preview_it_pages_through(
    many: ToolCollection,
) -> None:
    sent: list[int] = []
    script = [
        {"tool_calls": [{"name": "bulk_export", "arguments": {"characters": 1_000_000}}]},
        {"tool_calls": [{"name": "read_result", "arguments": {"handle": "result-1", "start": 999_990}}]},
        {"tool_calls": [{"name": "final_answer", "arguments": {"answer": "read"}}]},
    ]

    def model(messages: list[ChatMessage], tools: list[ToolDefinition] | None) -> object:
        sent.append(sum(len(str(message.content)) for message in messages))
        return script[len(sent) - 1]

    agent = ToolCallingAgent(many, ScriptedModel(model), verbosity_level=0)
    result = agent.run("Export, then read the end.", return_full_result=True)
    exported, read, _ = (step.tool_calls[0] for step in result.steps if isinstance(step, ActionStep))
    assert exported.size == 1_000_000 and exported.result.startswith(
        "[bulk_export returned 1,000,000 characters"
    )
    assert exported.result.endswith("0123456789" * 200)  # the first 2,000 characters
    assert read.result == "[result-1, characters 999,990 to 1,000,000 of 1,000,000 (the end)]\n0123456789"
    assert max(sent) < 20_000, "the model never got the megabyte"


def test_a_large_result_stays_whole_in_the_code_and_out_of_the_hosts_memory(many: ToolCollection) -> None:
    model = ScriptedModel(
        [
            "```python\nexported = bulk_export(characters=1_000_000)\nprint(len(exported))\n```",
            "```python\nfinal_answer(exported[-12:])\n```",
        ]
    )
    result = CodeAgent(many, model, verbosity_level=0).run("Export.", return_full_result=True)
    step = next(step for step in result.steps if isinstance(step, ActionStep))
    assert result.output == "890123456789"
    assert "1000000" in step.observations and "bulk_export returned 1,000,000 characters" in step.observations
    (record,) = step.tool_calls
    assert record.size == 1_000_000 and len(record.result) == 2_000


def test_help_shows_a_tools_signature_when_every_stub_is_in_the_prompt_too() -> None:
    model = ScriptedModel(["```python\nhelp(convert_temperature)\n```", "```python\nfinal_answer(1)\n```"])
    with ToolCollection.from_mcp(shop(10)) as tools:
        result = CodeAgent(tools, model, verbosity_level=0).run("Help?", return_full_result=True)
    (helped, *_) = observations(result.steps)
    assert 'def convert_temperature(celsius: float):\n    """Convert a temperature' in helped


class Hit(BaseModel):
    title: str
    shelf: int


class Hits(BaseModel):
    items: list[Hit]
    total: int


def shelves(count: int) -> MCPServer:
    """`search_00` ... : one result type, the arguments described only in the description."""
    server = MCPServer("library")
    for shelf in range(count):
        description = f"""Search shelf {shelf} of the library.

        Args:
            query: The words to look for in titles.
            limit: How many books to return at most.

        Returns:
            The books found, best first.
        """
        server.add_tool(_search(shelf), name=f"search_{shelf:02d}", description=description)
    return server


def _search(shelf: int) -> Callable[[str, int], Hits]:
    def search(query: str, limit: int = 5) -> Hits:
        items = [Hit(title=f"{query} {n}", shelf=shelf) for n in range(limit)]
        return Hits(items=items, total=len(items))

    return search


def test_a_code_agent_calls_tools_that_share_one_result_type_and_describe_their_arguments() -> None:
    recorder = Recorder(
        code("found = search_07(query='moon', limit=2)", "final_answer([b['title'] for b in found['items']])")
    )
    with ToolCollection.from_mcp(InProcessServer(shelves(50), name="library")) as tools:
        agent = CodeAgent(tools, recorder.model, tool_prompt_limit=None, verbosity_level=0)
        result: Any = agent.run("Find two books about the moon.", return_full_result=True)
    assert result.output == ["moon 0", "moon 1"]
    prompt = str(recorder.requests[0][0].content)
    assert prompt.count("class Hits(TypedDict):") == 1 and prompt.count("class Hit(TypedDict):") == 1
    assert prompt.count(") -> Hits:") == 50
    assert "        query: The words to look for in titles.\n" in prompt
    assert "    Returns: The books found, best first.\n" in prompt
