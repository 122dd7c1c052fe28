"""Typed Python stubs of tools for a CodeAgent's prompt, made from the tools' JSON Schemas."""

from __future__ import annotations

import ast
import inspect
import json
import keyword
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mcpagents.agents.stubs import python_type, tool_stub, tools_stubs
from mcpagents.sandbox.executor import python_name

EVERYTHING_TOOLS = Path(__file__).parent / "data" / "everything-tools.json"
PRELUDE = "from typing import Any, Literal, NotRequired, TypedDict\n"


@dataclass(frozen=True)
class FakeTool:
    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None = None


def obj(properties: dict[str, Any], *required: str, defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object schema; `defs` become its `$defs`."""
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return schema if defs is None else {**schema, "$defs": defs}


INT = {"type": "integer"}
STR = {"type": "string"}
NUM = {"type": "number"}

TREE_DEFS = {
    "Node": obj(
        {
            "value": INT,
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
            "parent": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]},
            "meta": obj({"owner": {"$ref": "#/$defs/Node"}}),
        },
        "value",
    ),
    "Json": {"anyOf": [STR, NUM, {"type": "array", "items": {"$ref": "#/$defs/Json"}}]},
}

# (tool, the exact stub)
CASES = [
    (
        FakeTool(
            "divide",
            "Integer division with remainder.\n\nRaises an error when b is 0.",
            obj(
                {"a": {**INT, "description": "The dividend."}, "b": {**INT, "description": "The divisor."}},
                "a",
                "b",
            ),
            obj({"quotient": INT, "remainder": INT}, "quotient", "remainder"),
        ),
        '''\
class DivideResult(TypedDict):
    quotient: int
    remainder: int

def divide(a: int, b: int) -> DivideResult:
    """Integer division with remainder.

    Args:
        a: The dividend.
        b: The divisor.
    """''',
    ),
    (
        FakeTool(
            "add", "Add two integers.", obj({"a": INT, "b": INT}, "a", "b"), obj({"result": INT}, "result")
        ),
        '''\
def add(a: int, b: int) -> int:
    """Add two integers."""''',
    ),
    (
        FakeTool(
            "search",
            "Search the web.",
            obj(
                {"query": {**STR, "description": "What to look for."}, "limit": {**INT, "default": 10}},
                "query",
            ),
            obj(
                {
                    "items": {
                        "type": "array",
                        "items": obj(
                            {
                                "title": STR,
                                "url": {**STR, "format": "uri"},
                                "score": {**NUM, "description": "Relevance, from 0 to 1."},
                            },
                            "title",
                            "url",
                        ),
                    },
                    "total": INT,
                },
                "items",
                "total",
            ),
        ),
        '''\
class SearchResultItems(TypedDict):
    title: str
    url: str
    score: NotRequired[float]  # Relevance, from 0 to 1.

class SearchResult(TypedDict):
    items: list[SearchResultItems]
    total: int

def search(query: str, limit: int = 10) -> SearchResult:
    """Search the web.

    Args:
        query: What to look for.
    """''',
    ),
    (
        FakeTool(
            "find-pages",
            "Find pages.",
            obj({"query": STR}, "query"),
            obj({"result": {"type": "array", "items": obj({"url": STR, "title": STR}, "url")}}, "result"),
        ),
        '''\
class FindPagesResult(TypedDict):
    url: str
    title: NotRequired[str]

def find_pages(query: str) -> list[FindPagesResult]:
    """Find pages."""''',
    ),
    (
        FakeTool(
            "weather",
            "Current weather.",
            obj(
                {
                    "units": {**STR, "enum": ["c", "f"], "default": "c"},
                    "days": {**INT, "enum": [1, 3, 7]},
                    "mode": {"const": "fast"},
                    "city": STR,
                },
                "city",
            ),
        ),
        '''\
def weather(city: str, units: Literal["c", "f"] = "c", days: Literal[1, 3, 7] | None = None, \
mode: Literal["fast"] | None = None) -> str:
    """Current weather."""''',
    ),
    (
        FakeTool(
            "list-files",
            "",
            obj(
                {
                    "path": STR,
                    "pattern": {"type": ["string", "null"]},
                    "recursive": {"type": "boolean", "default": False},
                    "exclude": {"type": "array", "items": STR, "default": [".git"]},
                    "options": obj({"follow": {"type": "boolean"}}),
                    "env": {"type": "object", "additionalProperties": STR},
                    "extra": {"type": "object"},
                    "limit": {"anyOf": [INT, {"type": "null"}], "default": None},
                    "hint": {},
                },
                "path",
            ),
            obj({"result": {"type": "array", "items": STR}}, "result"),
        ),
        """\
class ListFilesOptions(TypedDict):
    follow: NotRequired[bool]

def list_files(path: str, pattern: str | None = None, recursive: bool = False, \
exclude: list[str] = [".git"], options: ListFilesOptions | None = None, \
env: dict[str, str] | None = None, extra: dict[str, Any] | None = None, \
limit: int | None = None, hint: Any = None) -> list[str]:
    ...""",
    ),
    (
        FakeTool(
            "get-user",
            "Look up a user.",
            obj({"id": INT}, "id"),
            obj(
                {
                    "name": STR,
                    "address": obj(
                        {"city": STR, "geo": obj({"lat": NUM, "lon": NUM}, "lat", "lon")},
                        "city",
                    ),
                    "headers": obj({"content-type": STR}),
                },
                "name",
            ),
        ),
        '''\
class GetUserResultAddressGeo(TypedDict):
    lat: float
    lon: float

class GetUserResultAddress(TypedDict):
    city: str
    geo: NotRequired[GetUserResultAddressGeo]

class GetUserResult(TypedDict):
    name: str
    address: NotRequired[GetUserResultAddress]
    headers: NotRequired[dict[str, Any]]

def get_user(id: int) -> GetUserResult:
    """Look up a user."""''',
    ),
    (
        FakeTool(
            "walk",
            "Walk a tree.",
            obj(
                {"root": {"$ref": "#/$defs/Node"}, "data": {"$ref": "#/definitions/Json"}},
                "root",
                defs=TREE_DEFS,
            ),
            obj({"result": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}, "result", defs=TREE_DEFS),
        ),
        '''\
class NodeMeta(TypedDict):
    owner: NotRequired["Node"]

class Node(TypedDict):
    value: int
    children: NotRequired["list[Node]"]
    parent: NotRequired["Node | None"]
    meta: NotRequired[NodeMeta]

def walk(root: Node, data: str | float | list[Any] | None = None) -> list[Node]:
    """Walk a tree."""''',
    ),
    (
        FakeTool(
            "3d-render",
            "Render a scene.",
            obj(
                {
                    "scene": {**STR, "description": "The scene, as text."},
                    "content-type": {**STR, "description": "Its MIME type."},
                    "class": {"type": "integer"},
                },
                "scene",
                "content-type",
            ),
        ),
        '''\
def tool_3d_render(scene: str) -> str:
    """Render a scene.

    Args:
        scene: The scene, as text.
        (also accepts "content-type": str via **kwargs) Its MIME type.
        (also accepts "class": int via **kwargs)
    """''',
    ),
]
TOOLS = [tool for tool, _ in CASES]
EVERYTHING = [
    FakeTool(data["name"], data.get("description", ""), data["inputSchema"], data.get("outputSchema"))
    for data in json.loads(EVERYTHING_TOOLS.read_text())
]


def stub_of(tool: FakeTool) -> str:
    return tool_stub(tool.name, tool.description, tool.input_schema, tool.output_schema)


def run(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(PRELUDE + source, "<stubs>", "exec", dont_inherit=True), namespace)
    return namespace


def expected_parameters(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, default) of the parameters a tool's function takes, in order, straight from its schema."""
    properties, required = schema.get("properties", {}), schema.get("required", [])
    ordered = [name for name in properties if name in required] + [n for n in properties if n not in required]
    return [
        (name, inspect.Parameter.empty if name in required else properties[name].get("default"))
        for name in ordered
        if name.isidentifier() and not keyword.iskeyword(name)
    ]


def assert_signature(function: Any, tool: FakeTool) -> None:
    parameters = inspect.signature(function).parameters.values()
    assert [(p.name, p.default) for p in parameters] == expected_parameters(tool.input_schema)
    assert {p.kind for p in parameters} <= {inspect.Parameter.POSITIONAL_OR_KEYWORD}
    assert (function.__doc__ or "").startswith(tool.description.split("\n")[0])


@pytest.mark.parametrize(("tool", "expected"), CASES, ids=[tool.name for tool in TOOLS])
def test_stub_text(tool: FakeTool, expected: str) -> None:
    assert stub_of(tool) == expected


@pytest.mark.parametrize("tool", TOOLS + EVERYTHING, ids=lambda tool: tool.name)
def test_stub_parses_and_runs_with_the_schema_signature(tool: FakeTool) -> None:
    source = stub_of(tool)
    ast.parse(source)
    assert_signature(run(source)[python_name(tool.name)], tool)


@pytest.mark.parametrize("tools", [TOOLS, EVERYTHING], ids=["cases", "everything"])
def test_all_stubs_parse_and_run(tools: list[FakeTool]) -> None:
    source = tools_stubs(tools)
    assert source == tools_stubs(tools)
    ast.parse(source)
    namespace = run(source)
    for tool in tools:
        assert_signature(namespace[python_name(tool.name)], tool)


def test_typed_dicts_know_their_required_keys_and_forward_references() -> None:
    walk = next(tool for tool in TOOLS if tool.name == "walk")
    namespace = run(stub_of(walk))
    node = namespace["Node"]
    assert node.__required_keys__ == {"value"}
    assert node.__optional_keys__ == {"children", "parent", "meta"}
    assert inspect.signature(namespace["walk"]).return_annotation == list[node]


def test_the_everything_server_stubs() -> None:
    by_name = {tool.name: tool for tool in EVERYTHING}
    assert len(by_name) == 13
    assert (
        stub_of(by_name["get-structured-content"])
        == '''\
class GetStructuredContentResult(TypedDict):
    temperature: float  # Temperature in celsius
    conditions: str  # Weather conditions description
    humidity: float  # Humidity percentage

def get_structured_content(location: Literal["New York", "Chicago", "Los Angeles"]) \
-> GetStructuredContentResult:
    """Returns structured content along with an output schema for client data validation

    Args:
        location: Choose city
    """'''
    )
    assert stub_of(by_name["get-resource-reference"]).splitlines()[0] == (
        'def get_resource_reference(resourceType: Literal["Text", "Blob"] = "Text", resourceId: float = 1)'
        " -> str:"
    )


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (INT, "int"),
        (NUM, "float"),
        (STR, "str"),
        ({"type": "string", "format": "date-time"}, "str"),
        ({"type": "boolean"}, "bool"),
        ({"type": "null"}, "None"),
        ({"type": "array", "items": STR}, "list[str]"),
        ({"type": "array"}, "list[Any]"),
        ({"type": "array", "prefixItems": [INT, STR]}, "list[Any]"),
        ({"type": "array", "items": {"type": "array", "items": INT}}, "list[list[int]]"),
        ({"type": "object"}, "dict[str, Any]"),
        ({"type": "object", "additionalProperties": INT}, "dict[str, int]"),
        ({"type": "object", "additionalProperties": True}, "dict[str, Any]"),
        (obj({"a": INT}), "dict[str, Any]"),
        ({"type": ["integer", "null"]}, "int | None"),
        ({"type": ["null", "string", "integer"]}, "str | int | None"),
        ({"enum": ["c", "f"]}, 'Literal["c", "f"]'),
        ({"type": "integer", "enum": [1, 2]}, "Literal[1, 2]"),
        ({"enum": ["a", None]}, 'Literal["a"] | None'),
        ({"enum": ['say "hi"', "ünï"]}, 'Literal["say \\"hi\\"", "ünï"]'),
        ({"enum": [{"a": 1}], "type": "object"}, "dict[str, Any]"),
        ({"const": 3}, "Literal[3]"),
        ({"const": True}, "Literal[True]"),
        ({"const": None}, "None"),
        ({"const": [1]}, "Any"),
        ({"anyOf": [INT, {"type": "null"}]}, "int | None"),
        ({"anyOf": [{"type": "null"}, STR, STR, {"type": ["string", "null"]}]}, "str | None"),
        ({"oneOf": [{"const": "a"}, INT, {"const": "b"}]}, 'Literal["a", "b"] | int'),
        ({"anyOf": [INT, {}]}, "Any"),
        ({"anyOf": []}, "Any"),
        ({"allOf": [INT]}, "int"),
        ({"allOf": [INT, {"minimum": 0}]}, "Any"),
        ({}, "Any"),
        ({"type": "frobnicate"}, "Any"),
        ({"$ref": "#/$defs/Missing"}, "Any"),
        ({"$ref": "https://example.com/schema"}, "Any"),
        ({"$ref": "#/$defs/Point", "$defs": {"Point": obj({"x": INT})}}, "Point"),
        ({"$ref": "#/definitions/point-2d", "definitions": {"point-2d": obj({"x": INT})}}, "Point2d"),
        ({"$ref": "#/$defs/Unit", "$defs": {"Unit": {"enum": ["c", "f"]}}}, 'Literal["c", "f"]'),
        ({"$ref": "#/$defs/Json", "$defs": TREE_DEFS}, "str | float | list[Any]"),
    ],
)
def test_python_type(schema: dict[str, Any], expected: str) -> None:
    assert python_type(schema) == expected


def test_python_type_resolves_refs_with_given_definitions() -> None:
    assert python_type({"$ref": "#/$defs/Node"}, definitions=TREE_DEFS) == "Node"
    assert (
        python_type({"type": "array", "items": {"$ref": "#/$defs/Node"}}, definitions=TREE_DEFS)
        == "list[Node]"
    )


def test_shared_definitions_are_defined_once_and_clashing_ones_renamed() -> None:
    point = obj({"x": INT, "y": INT}, "x", "y")
    tools = [
        FakeTool("a", "", obj({"p": {"$ref": "#/$defs/Point"}}, "p", defs={"Point": point})),
        FakeTool("b", "", obj({"p": {"$ref": "#/$defs/Point"}}, "p", defs={"Point": point})),
        FakeTool("c", "", obj({"p": {"$ref": "#/$defs/Point"}}, "p", defs={"Point": obj({"lat": NUM})})),
        # A function is called `Point3`: no class may take that name.
        FakeTool("Point3", "", obj({"q": {"$ref": "#/$defs/Point"}}, "q", defs={"Point": obj({"z": INT})})),
        # The parameter `result` wants the name of the output's TypedDict.
        FakeTool("d", "", obj({"result": obj({"k": STR})}, "result"), obj({"n": INT}, "n")),
    ]
    source = tools_stubs(tools)
    assert (
        source
        == """\
class Point(TypedDict):
    x: int
    y: int

def a(p: Point) -> str:
    ...

def b(p: Point) -> str:
    ...

class Point2(TypedDict):
    lat: NotRequired[float]

def c(p: Point2) -> str:
    ...

class Point4(TypedDict):
    z: NotRequired[int]

def Point3(q: Point4) -> str:
    ...

class DResult(TypedDict):
    n: int

class DResult2(TypedDict):
    k: NotRequired[str]

def d(result: DResult2) -> DResult:
    ..."""
    )
    run(source)


def test_a_recursive_definition_clashing_with_another_is_renamed_throughout() -> None:
    linked = obj({"next": {"$ref": "#/$defs/Node"}, "meta": obj({"prev": {"$ref": "#/$defs/Node"}})})
    tools = [
        FakeTool("a", "", obj({"n": {"$ref": "#/$defs/Node"}}, "n", defs={"Node": obj({"v": INT})})),
        FakeTool("b", "", obj({"n": {"$ref": "#/$defs/Node"}}, "n", defs={"Node": linked})),
    ]
    source = tools_stubs(tools)
    assert source.split("\n\n")[2:] == [
        'class Node2Meta(TypedDict):\n    prev: NotRequired["Node2"]',
        'class Node2(TypedDict):\n    next: NotRequired["Node2"]\n    meta: NotRequired[Node2Meta]',
        "def b(n: Node2) -> str:\n    ...",
    ]
    namespace = run(source)
    assert namespace["Node2"].__optional_keys__ == {"next", "meta"}
    assert inspect.signature(namespace["a"]).parameters["n"].annotation is namespace["Node"]


def test_the_docstring_is_the_first_paragraph_and_described_parameters() -> None:
    long_line = "word " * 80
    source = tool_stub(
        "t",
        f"  First line.\nSecond line.\n\nSecond paragraph.\n{long_line}",
        obj({"a": {**INT, "description": "An\n  integer,\tgiven   loosely."}, "b": INT}),
        None,
    )
    assert (
        source
        == '''\
def t(a: int | None = None, b: int | None = None) -> str:
    """First line.
    Second line.

    Args:
        a: An integer, given loosely.
    """'''
    )


def test_a_long_description_keeps_its_whole_first_line_and_stops_near_300_characters() -> None:
    first = "x" * 400
    assert tool_stub("t", first, obj({}), None) == f'def t() -> str:\n    """{first}"""'
    lines = [f"line {n} " + "y" * 40 for n in range(12)]
    docstring = tool_stub("t", "\n".join(lines), obj({}), None).split('"""')[1]
    assert docstring.startswith(lines[0]) and docstring.rstrip().endswith(" ...")
    assert 250 < len(docstring) < 330


def test_long_descriptions_of_arguments_and_fields_are_cut() -> None:
    source = tool_stub(
        "t",
        "T.",
        obj({"a": {**INT, "description": "a " * 100}}),
        obj({"f": {**INT, "description": "f " * 100}}),
    )
    arg_line = next(line for line in source.splitlines() if line.strip().startswith("a: "))
    field_line = next(line for line in source.splitlines() if line.strip().startswith("f: "))
    assert arg_line.endswith("...") and len(arg_line.strip()) < 110
    assert field_line.endswith("...") and len(field_line.split("# ")[1]) <= 80


def test_quotes_and_backslashes_in_descriptions_stay_valid_python() -> None:
    description = 'Match "\\d+" or \\N{x} \\u12 and end with quotes """"'
    source = tool_stub("t", description, obj({"a": {**INT, "description": 'ends "'}}), None)
    assert run(source)["t"].__doc__.startswith(description)
    assert run(tool_stub("t", 'ends with a quote "', obj({}), None))["t"].__doc__ == 'ends with a quote "'
    assert run(tool_stub("t", "nul \x00 and \x1b escape", obj({}), None))["t"].__doc__ == "nul and escape"


def test_names_that_are_not_identifiers() -> None:
    source = tools_stubs(
        [
            FakeTool("get-sum", "", obj({"a": NUM}), obj({"for": INT, "x": INT})),
            FakeTool("ops.v2/run", "", obj({}), obj({"ok": {"type": "boolean"}})),
            FakeTool(
                "2fa-código",
                "",
                obj({"user-id": obj({"x": INT})}, "user-id"),
                obj({"result": obj({"a": STR})}),
            ),
        ]
    )
    assert (
        source
        == '''\
def get_sum(a: float | None = None) -> dict[str, Any]:
    ...

class OpsV2RunResult(TypedDict):
    ok: NotRequired[bool]

def ops_v2_run() -> OpsV2RunResult:
    ...

class Tool2faCódigoResult(TypedDict):
    a: NotRequired[str]

class Tool2faCódigoUserId(TypedDict):
    x: NotRequired[int]

def tool_2fa_código() -> Tool2faCódigoResult:
    """Args:
        (also accepts "user-id": Tool2faCódigoUserId via **kwargs)
    """'''
    )
    run(source)


HITS = obj(
    {
        "items": {"type": "array", "items": obj({"title": STR, "url": STR}, "title", "url")},
        "total": INT,
    },
    "items",
    "total",
)


def search_tools(count: int, output: dict[str, Any], start: int = 0) -> list[FakeTool]:
    return [
        FakeTool(f"search_{n:03d}", f"Search collection {n}.", obj({"query": STR}, "query"), output)
        for n in range(start, start + count)
    ]


def test_tools_returning_the_same_shape_share_one_typed_dict_named_after_them() -> None:
    source = tools_stubs(search_tools(50, HITS))
    assert source.count("(TypedDict):") == 2
    assert source.startswith(
        "class SearchResultItems(TypedDict):\n    title: str\n    url: str\n\n"
        "class SearchResult(TypedDict):\n    items: list[SearchResultItems]\n    total: int\n\n"
        'def search_000(query: str) -> SearchResult:\n    """Search collection 0."""'
    )
    assert source.count(") -> SearchResult:") == 50
    namespace = run(source)
    assert all(
        inspect.signature(namespace[f"search_{n:03d}"]).return_annotation is namespace["SearchResult"]
        for n in range(50)
    )


def test_different_shapes_get_different_typed_dicts_with_distinct_names() -> None:
    counted = obj({"count": INT}, "count")
    source = tools_stubs(search_tools(25, HITS) + search_tools(25, counted, start=25))
    assert source.count("(TypedDict):") == 3  # the two results, and the items of the first
    assert "class SearchResult(TypedDict):\n    items: list[SearchResultItems]" in source
    assert "class SearchResult2(TypedDict):\n    count: int" in source
    assert source.count(") -> SearchResult:") == 25 and source.count(") -> SearchResult2:") == 25
    assert source == tools_stubs(search_tools(25, HITS) + search_tools(25, counted, start=25))
    run(source)


def test_nested_objects_and_titled_schemas_are_shared_too() -> None:
    address = obj({"city": STR, "zip": STR}, "city")
    tools = [
        FakeTool("get_user", "", obj({}), obj({"name": STR, "address": address}, "name")),
        FakeTool("get_shop", "", obj({"home": address}), obj({"open": {"type": "boolean"}}, "open")),
        FakeTool("archive", "", obj({}), {**obj({"id": STR}, "id"), "title": "Done"}),
        FakeTool("rename", "", obj({}), {**obj({"id": STR}, "id"), "title": "Receipt"}),
    ]
    source = tools_stubs(tools)
    assert source.count("(TypedDict):") == 4
    assert "class GetUserResultAddress(TypedDict):\n    city: str\n    zip: NotRequired[str]" in source
    assert "def get_shop(home: GetUserResultAddress | None = None) -> GetShopResult:" in source
    assert "class Done(TypedDict):\n    id: str" in source
    assert "def archive() -> Done:" in source and "def rename() -> Done:" in source
    run(source)


def test_tools_with_the_same_recursive_definitions_share_their_classes() -> None:
    walks = [
        FakeTool(name, "", obj({"root": {"$ref": "#/$defs/Node"}}, "root", defs=TREE_DEFS)) for name in "ab"
    ]
    source = tools_stubs(walks)
    assert source.count("class Node(TypedDict):") == 1 and source.count("(TypedDict):") == 2
    assert "def a(root: Node) -> str:" in source and "def b(root: Node) -> str:" in source
    run(source)


def test_arguments_described_in_the_description_are_kept() -> None:
    description = """Search the index.

        Args:
            query: The words to look for; quoted phrases match exactly.
            limit (int, optional): How many results to return,
                at most 50.
            page: Ignored here: the schema describes it.
            unknown: Not a parameter.

        Returns:
            dict: The best matches, best first. Then more about them.

        Raises:
            ValueError: when the query is empty.
        """
    schema = obj(
        {"query": STR, "limit": {**INT, "default": 10}, "page": {**INT, "description": "Page, from 1."}},
        "query",
    )
    assert (
        tool_stub("search", description, schema, None)
        == '''\
def search(query: str, limit: int = 10, page: int | None = None) -> str:
    """Search the index.

    Args:
        query: The words to look for; quoted phrases match exactly.
        limit: How many results to return, at most 50.
        page: Page, from 1.

    Returns: The best matches, best first.
    """'''
    )


@pytest.mark.parametrize(
    "description",
    [
        "Read a file.\n\n:param path: The file's\n    path.\n:param int lines: How many lines.\n"
        ":type lines: int\n:returns: The text read.\n:rtype: str",
        "Read a file.\nArguments:\npath: The file's path.\nlines: How many lines.\nReturns: The text read.",
        "Read a file.\n\nParameters:\n  - `path`: The file's path.\n  - lines: How many lines.\n\n"
        "Returns:\n  The text read.\n\nExamples:\n  read(path='a.txt')",
    ],
    ids=["rest", "flat", "bullets"],
)
def test_other_ways_of_describing_arguments(description: str) -> None:
    source = tool_stub("read", description, obj({"path": STR, "lines": INT}, "path"), None)
    assert source.split("\n", 1)[1] == (
        '    """Read a file.\n\n    Args:\n        path: The file\'s path.\n'
        '        lines: How many lines.\n\n    Returns: The text read.\n    """'
    )


def test_long_argument_and_return_descriptions_are_cut() -> None:
    description = f"T.\n\nArgs:\n    a: {'a ' * 100}\n\nReturns:\n    {'r ' * 100}"
    source = tool_stub("t", description, obj({"a": INT}), None)
    arg_line = next(line for line in source.splitlines() if line.strip().startswith("a: "))
    returns_line = next(line for line in source.splitlines() if line.strip().startswith("Returns: "))
    assert arg_line.endswith("...") and len(arg_line.strip()) < 110
    assert returns_line.endswith("...") and len(returns_line.strip()) < 110
