"""The bundled calculator server, over stdio through a ToolCollection: exact, and safe on bad input:
work that would be too large is refused before it is done, and an evaluation past the time limit is
killed while the server goes on answering."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError as ServerToolError
from mcp_types import CallToolResult, TextContent

from mcpagents import StdioServer, ToolCollection, ToolError
from mcpagents.servers.calculator import build_server
from tests.conftest import inspector

MODULE = "mcpagents.servers.calculator"
CALCULATOR = StdioServer(sys.executable, ["-m", MODULE], name="calculator")
# A sum of 1,000 terms nests 999 deep, a chain of 1,999 signs 1,999 deep: past Python's recursion limit.
LONG_SUM = "+".join(["1"] * 1_000)
SIGNS = "-" * 1_999 + "1"


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
        (LONG_SUM, 1_000, "1000"),
        (SIGNS, -1, "-1"),
        ("round(1/3, 2)", 0.33, "33/100"),
        ("floor(10**400 / 3) % 1000", 333, "333"),
        ("lcm(4, 6, 10)", 60, "60"),
        ("max(1/3)", 1 / 3, "1/3"),
        ("(-1) ** (10**9999)", 1, "1"),
        ("0 ** (10**9999)", 0, "0"),
        ("log10(10**9999)", 9999, "9999"),
    ],
)
def test_evaluate_keeps_fractions_exact(
    calculator: ToolCollection, expression: str, value: float, exact: str
) -> None:
    assert calculator["evaluate"](expression=expression) == {"value": value, "exact": exact}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("9**9**9", "cannot evaluate '9**9**9': the result would have about 369,693,100 digits"),
        ("2 ** -(10**9999)", "the result would have about 10^9998 digits"),
        ("2**33220", "'2**33220': the result would have more than 10,000 digits"),
        ("factorial(10**400)", "'factorial(10**400)': the result would have about 10^403 digits"),
        ("factorial(3250)", "the result would have about 10,002 digits"),
        ("lcm(2**9000, 3**9000, 5**9000)", "more than 10,000 digits"),
        ("round(1, -10**9)", "the digit to round at must be between -10000 and 10000"),
        ("2 ** 0.5 * 10 ** 400", "'2 ** 0.5 * 10 ** 400': a value is too large for a floating-point number"),
        ("exp(1000)", "'exp(1000)': a value is too large for a floating-point number"),
        ("2.0 ** 10000", "too large for a floating-point number"),
        ("sqrt(10**400)", "too large for a floating-point number"),
        ("1e400", "'1e400': a value is too large for a floating-point number"),
        ("log(0)", "cannot evaluate 'log(0)': an argument is outside the function's domain"),
        ("factorial(2.5)", "'factorial(2.5)': 'float' object cannot be interpreted as an integer"),
        ("0 ** -1", "cannot evaluate '0 ** -1': division by zero"),
        ("5 % (3 - 3)", "division by zero"),
        ("2 << 3", "the operator LShift is not supported"),
        ("round(1, ndigits=2)", "round(): arguments are given by position only"),
        ("nope(1)", "unknown function 'nope'"),
        ("'text'", "'text' is not a number"),
        ("1j", "complex numbers are not supported"),
        ("(" * 250 + "1" + ")" * 250, "too many nested parentheses"),
        ("1\x00", "source code string cannot contain null bytes"),
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


@pytest.mark.parametrize("tool", ["add", "subtract", "multiply", "divide"])
@pytest.mark.parametrize("infinite", [math.inf, -math.inf, math.nan])
def test_the_arithmetic_tools_refuse_infinities(tool: str, infinite: float) -> None:
    """JSON has no infinities, but Python's parsers (the server's too) read `Infinity` and `NaN`."""
    server = build_server()
    with pytest.raises(ServerToolError, match=f"tool {tool}: b must be a finite number, not {infinite}$"):
        anyio.run(server.call_tool, tool, {"a": 1, "b": infinite})
    answered = anyio.run(server.call_tool, tool, {"a": 6, "b": 3})
    assert answered.structured_content == {
        "result": {"add": 9, "subtract": 3, "multiply": 18, "divide": 2}[tool]
    }


def test_a_huge_power_is_refused_at_once_and_the_next_call_is_answered(calculator: ToolCollection) -> None:
    for expression in ("(10**9000)**10000", "((1/3)**9999)**9999"):
        # Before the size was worked out first, the first of these ran for more than 600 s.
        with pytest.raises(ToolError) as refused:
            calculator["evaluate"].call_with({"expression": expression}, timeout=20)
        assert f"cannot evaluate {expression!r}: the result would have about" in str(refused.value)
        assert calculator["evaluate"].call_with({"expression": "2**10"}, timeout=20)["exact"] == "1024"
        assert calculator["add"].call_with({"a": 1, "b": 2}, timeout=20) == 3


def test_values_have_up_to_the_digit_limit(calculator: ToolCollection) -> None:
    largest = calculator["evaluate"](expression="2**33219")
    assert len(largest["exact"]) == 10_000
    assert largest["value"] is None  # beyond the range of a float
    tiny = calculator["evaluate"](expression="(1/3)**10000")
    denominator = tiny["exact"].removeprefix("1/")  # 3**10000, 4,772 digits
    assert len(denominator) == 4_772 and int(denominator[-100:]) == pow(3, 10_000, 10**100)
    assert tiny["value"] == 0.0  # the nearest float
    assert calculator["evaluate"](expression="10**400 / 3")["value"] is None


def evaluation_workers(max_digits: int) -> list[int]:
    """The worker processes of the calculators with `--max-digits max_digits` that this test process
    started (a worker's parent is the server)."""
    parents: dict[int, int] = {}
    workers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if b"serve_worker" in command[-3] and command[-2] == str(max_digits).encode():
                workers.append(int(entry.name))
        except (OSError, IndexError, ValueError):  # the process ended meanwhile
            continue
    return [pid for pid in workers if parents.get(parents.get(pid, 0)) == os.getpid()]


def test_an_evaluation_past_the_time_limit_is_killed_while_other_calls_are_answered() -> None:
    # With a million digits allowed, 3**2000000 (954,243 digits) is allowed but takes long to write out.
    digits = 1_000_000
    server = StdioServer(
        sys.executable, ["-m", MODULE, "--max-digits", str(digits), "--timeout", "2"], name="calculator"
    )
    finished: list[str] = []

    async def scenario() -> None:
        async with ToolCollection.from_mcp(server) as tools:
            evaluate = tools["evaluate"]
            async with anyio.create_task_group() as group:  # two workers, started and left idle
                group.start_soon(lambda: evaluate.acall(expression="1"))
                group.start_soon(lambda: evaluate.acall(expression="2"))
            assert len(evaluation_workers(digits)) == 2

            async def slow() -> None:
                with pytest.raises(ToolError, match="the evaluation ran longer than 2 s and was stopped"):
                    await evaluate.acall(expression="3**2000000")
                finished.append("slow")

            async def quick() -> None:
                assert await tools["add"].acall(a=1, b=2) == 3
                assert (await evaluate.acall(expression="2**10"))["exact"] == "1024"
                finished.append("quick")

            async with anyio.create_task_group() as group:
                group.start_soon(slow)
                group.start_soon(quick)
            assert len(evaluation_workers(digits)) == 1  # the slow one's worker was killed
            assert (await evaluate.acall(expression="1/3 + 1/6"))["exact"] == "1/2"

    anyio.run(scenario)
    assert finished == ["quick", "slow"]


def test_a_lone_surrogate_is_refused_in_process() -> None:
    """Over stdio or HTTP no JSON parser lets a lone surrogate through; an in-process client can."""

    async def call() -> CallToolResult:
        async with Client(build_server()) as client:
            return await client.call_tool("evaluate", {"expression": "1 + \udcff"})

    result = anyio.run(call)
    assert result.is_error and isinstance(result.content[0], TextContent)
    assert result.content[0].text.endswith(
        ": not an arithmetic expression: '\\udcff' at column 5 is not a character"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-digits", "0"], "--max-digits: must be a number of digits from 1 to 1,000,000, not '0'"),
        (["--max-digits", "10000000"], "from 1 to 1,000,000, not '10000000'"),
        (["--timeout", "nan"], "--timeout: must be a positive number of seconds, not 'nan'"),
        (["--timeout", "-1"], "must be a positive number of seconds, not '-1'"),
    ],
)
def test_bad_limits_stop_the_server_with_a_clear_message(flags: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", MODULE, *flags], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr


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
