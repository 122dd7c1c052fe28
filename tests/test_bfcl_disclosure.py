"""A BFCL-style check of progressive disclosure (issue 17): the BFCL v4 multi-turn backends served
over MCP (tests/servers/bfcl_server.py, beside 200 tools of tests/servers/tool_shop.py), each agent
type finding BFCL's tools with `search_tools` and replaying an entry's ground truth turn by turn,
reach the state BFCL expects.

The expected state is BFCL's own: its executor (`execute_multi_turn_func_call`, vendored) runs the
ground truth on fresh instances in this process, and its checker (`state_checker`,
`response_checker`) compares them after every turn with the served instances, as it compares a
model's. The model is a `ScriptedModel` playing BFCL's ground truth: per turn, one search per
function the turn calls, then the calls (pasted as code for a CodeAgent, parsed into tool calls for
a ToolCallingAgent), then a final answer.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import uuid
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mcpagents import CodeAgent, ScriptedModel, StdioServer, ToolCallingAgent, ToolCollection
from mcpagents.agents.memory import ActionStep
from mcpagents.models.messages import ChatMessage, ToolDefinition
from mcpagents.sandbox.executor import python_name
from tests.servers.bfcl_server import backend_class, entries, function_docs, ground_truth, read_state

# Importable once bfcl_server put the vendored package on the path.
from bfcl_eval.eval_checker.multi_turn_eval import (  # type: ignore[import-not-found]  # isort: skip
    multi_turn_checker,
    multi_turn_utils,
)

SERVERS = Path(__file__).parent / "servers"
SHOP_TOOLS = 200
LIMIT = 50
"""Tokens of tool definitions the prompt may take: far fewer than BFCL's tools alone need."""
ANSWER = "```python\nfinal_answer('done')\n```"
Agent = type[CodeAgent] | type[ToolCallingAgent]


def words(name: str) -> str:
    """The words of a function name, as a model would search for it: `lockDoors` → "lock doors"."""
    return " ".join(re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+", name)).lower() or name


def called(call: str) -> str:
    node = ast.parse(call, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name), call
    return node.func.id


def parsed(call: str, signatures: Mapping[str, inspect.Signature]) -> tuple[str, dict[str, Any]]:
    """A BFCL call string as a tool call: its name and arguments, positional ones named after the
    backend method's parameters."""
    node = ast.parse(call, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name), call
    name = node.func.id
    parameters = [p for p in signatures[name].parameters if p != "self"]
    arguments = {parameters[i]: ast.literal_eval(value) for i, value in enumerate(node.args)}
    arguments |= {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords if keyword.arg}
    return name, arguments


def pasted(call: str, names: set[str]) -> str:
    """A BFCL call string as code: each function's name made the Python name of its tool."""
    return re.sub(
        r"\b([A-Za-z_]\w*)\s*(?=\()",
        lambda found: python_name(found[1]) if found[1] in names else found[1],
        call,
    )


class Replay:
    """The model: answers each call with the next response scripted for the turn, and notes the
    tools that came with it (a ToolCallingAgent's loaded definitions)."""

    def __init__(self) -> None:
        self.pending: deque[Any] = deque()
        self.calls: list[tuple[Any, list[str]]] = []

    def __call__(self, messages: list[ChatMessage], tools: list[ToolDefinition] | None) -> Any:
        response = self.pending.popleft()
        self.calls.append((response, [tool.name for tool in tools or ()]))
        return response


def code_turn(calls: list[str], names: set[str]) -> list[str]:
    searches = "\n".join(
        f"print(search_tools({words(name)!r}))" for name in dict.fromkeys(map(called, calls))
    )
    code = "\n".join(f"print({pasted(call, names)})" for call in calls)
    return [f"Find the tools.\n```python\n{searches}\n```", f"```python\n{code}\n```", ANSWER]


def tool_calling_turn(calls: list[str], signatures: Mapping[str, inspect.Signature]) -> list[Any]:
    searches = [
        {"name": "search_tools", "arguments": {"query": words(name)}}
        for name in dict.fromkeys(map(called, calls))
    ]
    one_by_one = [  # in order: the calls of one step run concurrently
        {"tool_calls": [{"name": name, "arguments": arguments}]}
        for name, arguments in (parsed(call, signatures) for call in calls)
    ]
    answer = {"tool_calls": [{"name": "final_answer", "arguments": {"answer": "done"}}]}
    return [{"tool_calls": searches}, *one_by_one, answer]


def check_code_turn(steps: list[ActionStep], calls: list[str], names: set[str]) -> None:
    searched, acted, answered = steps
    assert "search_tools(" in (searched.code or "") and searched.error is None
    for name in dict.fromkeys(map(called, calls)):
        assert f"def {python_name(name)}(" in searched.observations, f"search for {words(name)!r}"
    assert acted.error is None, acted.error
    assert answered.is_final_answer


def check_tool_calling_turn(
    steps: list[ActionStep], replay: Replay, calls: list[str], loaded: set[str]
) -> None:
    """`loaded`: the tools found by the searches of the turns before, and now of this one."""
    searched, *acted, answered = steps
    assert {record.name for record in searched.tool_calls} == {"search_tools"}
    for record in searched.tool_calls:
        assert record.result.startswith("Loaded"), record.result
    found = re.findall(r"^- (\S+): ", "\n".join(record.result for record in searched.tool_calls), re.M)
    for name in dict.fromkeys(map(called, calls)):
        assert name in found, f"search for {words(name)!r}"
    loaded.update(found)
    for step in acted:
        (record,) = step.tool_calls
        assert record.error is None, record.error
    # Each call was made with its definition loaded by a search, and only those were loaded.
    made = replay.calls[-len(steps) :]
    for response, offered in made[1:-1]:
        (call,) = response["tool_calls"]
        assert call["name"] in offered
        assert set(offered) <= loaded | {"search_tools", "final_answer"}
    assert answered.is_final_answer


def check_disclosed(agent: CodeAgent | ToolCallingAgent, replay: Replay, names: set[str], count: int) -> None:
    """The prompt held an index of the tools, not their definitions."""
    prompt = agent.memory.system_prompt
    assert "bfcl (" in prompt and "shop (" in prompt
    if isinstance(agent, CodeAgent):
        assert f"There are {count}" in prompt
        assert prompt.count("def ") == 1  # final_answer's only
    else:
        assert f"Only some of your {count} tools are loaded" in prompt
        assert replay.calls[0][1] == ["search_tools", "final_answer"]
    assert not any(f"def {python_name(name)}(" in prompt for name in names)


ENTRIES = sorted(entries(), key=lambda id: int(id.rsplit("_", 1)[1]))


@pytest.mark.parametrize("agent_type", [CodeAgent, ToolCallingAgent], ids=["code", "tool_calling"])
@pytest.mark.parametrize("entry_id", ENTRIES)
def test_a_replayed_ground_truth_found_by_search_reaches_bfcls_expected_state(
    entry_id: str, agent_type: Agent, tmp_path: Path
) -> None:
    entry, truth = entries()[entry_id], ground_truth()[entry_id]
    signatures = {
        doc["name"]: inspect.signature(getattr(backend_class(class_name), doc["name"]))
        for class_name in entry["involved_classes"]
        for doc in function_docs(class_name)
    }
    state_file = tmp_path / "state.pickle"
    bfcl = StdioServer(
        sys.executable,
        [str(SERVERS / "bfcl_server.py"), "--entry", entry_id, "--state-out", str(state_file)],
        name="bfcl",
    )
    shop = StdioServer(
        sys.executable, [str(SERVERS / "tool_shop.py"), "--tools", str(SHOP_TOOLS)], name="shop"
    )
    replay = Replay()
    model_name = f"mcpagents_{agent_type.__name__}_{uuid.uuid4().hex}"  # BFCL keeps instances by it
    try:
        with ToolCollection.from_mcp([bfcl, shop], patience=None) as tools:  # both, however slow
            assert len(tools) == len(signatures) + SHOP_TOOLS
            agent = agent_type(tools, ScriptedModel(replay), tool_prompt_limit=LIMIT, verbosity_level=0)
            before, loaded = 0, set[str]()
            for turn, (question, calls) in enumerate(zip(entry["question"], truth, strict=True)):
                script: list[Any] = (
                    code_turn(calls, set(signatures))
                    if agent_type is CodeAgent
                    else tool_calling_turn(calls, signatures)
                )
                replay.pending.extend(script)
                task = "\n".join(message["content"] for message in question if message["role"] == "user")
                result = agent.run(task, reset=False, return_full_result=True)
                assert result.state == "success" and not replay.pending, result.error
                steps = [step for step in result.steps if isinstance(step, ActionStep)]
                if agent_type is CodeAgent:
                    check_code_turn(steps, calls, set(signatures))
                else:
                    check_tool_calling_turn(steps, replay, calls, loaded)

                served = read_state(state_file)
                made = [(call.name, call.arguments) for call in served.calls[before:]]
                assert made == [parsed(call, signatures) for call in calls]
                before = len(served.calls)
                expected, instances = multi_turn_utils.execute_multi_turn_func_call(
                    calls, entry["initial_config"], entry["involved_classes"], model_name, entry_id
                )
                assert multi_turn_checker.state_checker(served.instances, instances) == {"valid": True}
                results = [call.result for call in served.calls]
                assert multi_turn_checker.response_checker(results, expected, turn) == {"valid": True}
            check_disclosed(agent, replay, set(signatures), len(tools))
    finally:
        kept: dict[str, Any] = vars(multi_turn_utils)
        for name in [name for name in kept if name.startswith(model_name)]:
            del kept[name]
