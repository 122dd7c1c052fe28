"""The bundled calculator server, over stdio through a ToolCollection: exact, and safe on bad input."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcpagents import StdioServer, ToolCollection, ToolError
from tests.conftest import inspector

CALCULATOR = StdioServer(sys.executable, ["-m", "mcpagents.servers.calculator"], name="calculator")


@pytest.fixture(scope="module")
def calculator() -> Iterator[ToolCollection]:
    with ToolCollection.from_mcp(CALCULATOR) as tools:
        yield tools


def test_the_tools_are_pure_and_typed(calculator: ToolCollection) -> None:
    assert sorted(tool.name for tool in calculator) == ["add", "divide", "evaluate", "multiply", "subtract"]
    assert all(tool.read_only and tool.idempotent for tool in calculator)
    assert calculator["evaluate"].output_schema is not None


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("add", {"a": 12, "b": 30}, 42),
        ("add", {"a": 0.1, "b": 0.2}, 0.3),
        ("subtract", {"a": 1, "b": 0.9}, 0.1),
        ("multiply", {"a": 1.1, "b": 3}, 3.3),
        ("divide", {"a": 1, "b": 4}, 0.25),
    ],
)
def test_arithmetic_is_decimal_exact(
    calculator: ToolCollection, tool: str, arguments: dict[str, float], expected: float
) -> None:
    assert calculator[tool](**arguments) == expected


@pytest.mark.parametrize(
    ("expression", "value", "exact"),
    [
        ("(12 + 30) * 2", 84, "84"),
        ("1/3 + 1/6", 0.5, "1/2"),
        ("2^10", 1024, "1024"),
        ("2 ** -2", 0.25, "1/4"),
        ("sqrt(16) + factorial(5)", 124, "124"),
        ("-pi + pi", 0, "0"),
    ],
)
def test_evaluate_keeps_fractions_exact(
    calculator: ToolCollection, expression: str, value: float, exact: str
) -> None:
    assert calculator["evaluate"](expression=expression) == {"value": value, "exact": exact}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("9**9**9", "exponent 387420489 is too large"),
        ("__import__('os').system('id')", "Call is not arithmetic"),
        ("().__class__", "Attribute is not arithmetic"),
        ("x + 1", "unknown name 'x'"),
        ("1 / (2 - 2)", "division by zero"),
        ("(-8) ** 0.5", "complex number"),
        ("1e308 * 10", "too large"),
        ("2 +", "not an arithmetic expression"),
        ("1" * 2_001, "the limit is 2000"),
    ],
)
def test_evaluate_refuses_what_is_not_arithmetic(
    calculator: ToolCollection, expression: str, message: str
) -> None:
    with pytest.raises(ToolError, match="evaluate") as raised:
        calculator["evaluate"](expression=expression)
    assert message in str(raised.value)


def test_the_server_keeps_serving_after_errors(calculator: ToolCollection) -> None:
    with pytest.raises(ToolError, match="division by zero"):
        calculator["divide"](a=1, b=0)
    assert calculator["add"](a=1, b=1) == 2


def test_the_inspector_calls_it(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "mcpagents.servers.calculator"]
    called = inspector(
        *command,
        "--method",
        "tools/call",
        "--tool-name",
        "evaluate",
        "--tool-arg",
        "expression=1/3 + 1/6",
        home=tmp_path,
    )
    assert called["structuredContent"] == {"value": 0.5, "exact": "1/2"}
