"""A stdio MCP server of the BFCL v4 multi-turn backends of one test entry:
`bfcl_server.py --entry multi_turn_base_0 --state-out PATH`.

The backends are BFCL's own Python classes (GorillaFileSystem, TwitterAPI, ...), vendored unmodified
in tests/data/bfcl with a few entries of BFCL's data (its README says what and from where). The
server does what BFCL's `execute_multi_turn_func_call` does for a model: it makes one instance of
each class the entry involves, loads the entry's `initial_config` into it (`_load_scenario`), and
offers each of the class's functions (its public methods, those BFCL's function docs describe) as
a tool, under BFCL's name, with BFCL's function doc as its description and (made JSON Schema) its
input schema. A call's result is what BFCL's executor
records of it: the text, a dict as JSON (and as structured content, so that code gets a dict),
anything else as `str()`; a method that raises gives a tool error with BFCL's "Error during
execution: ..." text. No output schemas: BFCL's `response` docs do not describe every result (the
errors, for one), and the client checks structured content against them.

All the classes of an entry share one server, as they share one namespace in BFCL's executor
(their method names never collide within an entry).

After every call (and once at start) the server pickles its instances and the calls it ran
(`State`) to `--state-out`, replaced atomically, so that a test reads the state of the served
backends at any time without a tool of its own that an agent could see, and without depending on
how the server exits. The test imports the entries, their ground truth and the backend classes
from here (and so finds `bfcl_eval`, BFCL's executor and checker, on its path).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import anyio
import mcp_types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

BFCL = Path(__file__).resolve().parents[1] / "data" / "bfcl"
"""The vendored part of the `bfcl-eval` wheel, importable as `bfcl_eval` (it imports itself so)."""
DATA = BFCL / "bfcl_eval" / "data"
if str(BFCL) not in sys.path:
    sys.path.insert(0, str(BFCL))

from bfcl_eval.constants.executable_backend_config import (  # type: ignore[import-not-found]  # noqa: E402
    CLASS_FILE_PATH_MAPPING,
    MULTI_TURN_FUNC_DOC_FILE_MAPPING,
    STATELESS_CLASSES,
)

JSON_TYPES = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "list": "array",
    "bool": "boolean",
    "any": None,  # no constraint (BFCL sends "string" to providers; the backends take anything)
}
"""BFCL's type names in function docs that JSON Schema spells otherwise."""


@dataclass
class Call:
    """One call the server ran: the arguments it got, and the result as BFCL's executor records it."""

    name: str
    arguments: dict[str, Any]
    result: str


@dataclass
class State:
    """The served backends (instances by class name) and the calls run on them so far."""

    instances: dict[str, Any]
    calls: list[Call] = field(default_factory=list)


def _json_lines(path: Path) -> dict[str, dict[str, Any]]:
    entries = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {entry["id"]: entry for entry in entries}


@cache
def entries() -> dict[str, dict[str, Any]]:
    """The vendored BFCL v4 multi-turn base entries, by id."""
    return _json_lines(DATA / "BFCL_v4_multi_turn_base.json")


@cache
def ground_truth() -> dict[str, list[list[str]]]:
    """Each entry's ground truth: per turn, the calls as Python call strings ("cd(folder='x')")."""
    return {
        id: entry["ground_truth"]
        for id, entry in _json_lines(DATA / "possible_answer" / "BFCL_v4_multi_turn_base.json").items()
    }


@cache
def function_docs(class_name: str) -> list[dict[str, Any]]:
    """BFCL's function docs of one backend class."""
    path = DATA / "multi_turn_func_doc" / MULTI_TURN_FUNC_DOC_FILE_MAPPING[class_name]
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def backend_class(class_name: str) -> type:
    module = __import__(CLASS_FILE_PATH_MAPPING[class_name], fromlist=[class_name])
    cls: type = getattr(module, class_name)
    return cls


def json_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """A BFCL parameter spec as JSON Schema: its types renamed (`dict` → `object`, `float` →
    `number`, ...), all the way down."""
    schema = {key: value for key, value in spec.items() if key not in ("type", "properties", "items")}
    if "type" in spec and (kind := JSON_TYPES.get(spec["type"], spec["type"])) is not None:
        schema["type"] = kind
    if "properties" in spec:
        schema["properties"] = {name: json_schema(value) for name, value in spec["properties"].items()}
    if "items" in spec:
        schema["items"] = json_schema(spec["items"])
    return schema


def load(entry: dict[str, Any]) -> dict[str, Any]:
    """Fresh instances of the entry's classes with its initial configuration, as BFCL makes them."""
    instances = {}
    for class_name in entry["involved_classes"]:
        instance = backend_class(class_name)()
        if class_name not in STATELESS_CLASSES:
            config = copy.deepcopy(entry["initial_config"].get(class_name, {}))
            instance._load_scenario(config, long_context=False)
        instances[class_name] = instance
    return instances


def recorded(result: Any) -> str:
    """A method's result as BFCL's executor records it (`execute_multi_turn_func_call`)."""
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        try:
            return json.dumps(result)
        except TypeError:
            return str(result)
    return str(result)


def bfcl_server(entry_id: str, state_out: Path) -> Server[Any]:
    entry = entries()[entry_id]
    state = State(load(entry))
    tools: list[mcp_types.Tool] = []
    methods = {}
    for class_name, instance in state.instances.items():
        for doc in function_docs(class_name):
            methods[doc["name"]] = getattr(instance, doc["name"])
            tools.append(
                mcp_types.Tool(
                    name=doc["name"],
                    description=doc["description"],
                    input_schema=json_schema(doc["parameters"]),
                )
            )

    def save() -> None:  # plain data and BFCL's classes: this module is `__main__` here
        calls = [vars(call) for call in state.calls]
        partial = state_out.with_name(state_out.name + ".partial")
        partial.write_bytes(pickle.dumps({"instances": state.instances, "calls": calls}))
        os.replace(partial, state_out)

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        method = methods.get(params.name)
        if method is None:
            return _text(f"unknown tool {params.name!r}", error=True)
        arguments = dict(params.arguments or {})
        try:
            value = method(**arguments)
        except Exception as error:  # BFCL records the error as the call's result
            state.calls.append(Call(params.name, arguments, f"Error during execution: {error}"))
            save()
            return _text(state.calls[-1].result, error=True)
        text = recorded(value)
        state.calls.append(Call(params.name, arguments, text))
        save()  # a method has no await in it: the state written is that after this call
        return _text(text, structured=_json_object(text) if isinstance(value, dict) else None)

    save()
    return Server("bfcl", on_list_tools=list_tools, on_call_tool=call_tool)


def read_state(path: Path) -> State:
    """The state a server last wrote to `path` (its `--state-out`)."""
    saved = pickle.loads(path.read_bytes())
    return State(saved["instances"], [Call(**call) for call in saved["calls"]])


def _text(
    text: str, *, error: bool = False, structured: dict[str, Any] | None = None
) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=text)], structured_content=structured, is_error=error
    )


def _json_object(text: str) -> dict[str, Any] | None:
    """A dict result as structured content (code gets a dict), unless BFCL could not write it as JSON."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _serve(server: Server[Any]) -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--entry", required=True, help="a BFCL entry id, e.g. multi_turn_base_0")
    parser.add_argument("--state-out", required=True, type=Path, help="where the state is pickled")
    options = parser.parse_args()
    anyio.run(_serve, bfcl_server(options.entry, options.state_out))
