"""The calculator MCP server: exact arithmetic on expressions, evaluated safely (never `eval`).

Run: `python -m mcpagents.servers.calculator` (stdio) or with `--http PORT` (see `launch.py`).

Integers and fractions stay exact (`1/3 + 1/6` is `1/2`); functions (`sqrt`, `sin`, `log`, ...) and
decimals use floating point. Only arithmetic is understood: no names but the listed functions and
constants, no attribute access, no calls of anything else. Sizes are bounded so that `9**9**9`
is refused instead of taking the machine down.
"""

from __future__ import annotations

import argparse
import ast
import math
import operator
from collections.abc import Callable
from fractions import Fraction
from typing import TypedDict

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from mcpagents.servers.launch import add_transport_options, run

MAX_EXPRESSION_CHARACTERS = 2_000
MAX_RESULT_DIGITS = 10_000
MAX_EXPONENT = 10_000

Number = int | Fraction | float

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: lambda a, b: Fraction(a) / Fraction(b) if _exact(a, b) else a / b,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {ast.UAdd: lambda a: +a, ast.USub: lambda a: -a}
_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "sqrt": math.sqrt, "cbrt": math.cbrt, "exp": math.exp, "log": math.log, "log2": math.log2,
    "log10": math.log10, "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin,
    "acos": math.acos, "atan": math.atan, "atan2": math.atan2, "sinh": math.sinh, "cosh": math.cosh,
    "tanh": math.tanh, "degrees": math.degrees, "radians": math.radians, "abs": abs, "round": round,
    "floor": math.floor, "ceil": math.ceil, "factorial": math.factorial, "gcd": math.gcd, "lcm": math.lcm,
    "hypot": math.hypot, "min": min, "max": max,
}  # fmt: skip
_CONSTANTS: dict[str, Number] = {"pi": math.pi, "e": math.e, "tau": math.tau}


class Evaluation(TypedDict):
    value: float | int
    exact: str
    """The exact result: an integer, a fraction like `1/3`, or the decimal of an inexact one."""


server = MCPServer(
    "calculator",
    instructions="Exact arithmetic: evaluate expressions like `(12 + 30) * 2` or `sqrt(2) / 3`.",
)


PURE = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


@server.tool(annotations=PURE)
def add(a: float, b: float) -> int | float:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return _plain(_exact_number(a) + _exact_number(b))


@server.tool(annotations=PURE)
def subtract(a: float, b: float) -> int | float:
    """Subtract b from a.

    Args:
        a: The number to subtract from.
        b: The number to subtract.
    """
    return _plain(_exact_number(a) - _exact_number(b))


@server.tool(annotations=PURE)
def multiply(a: float, b: float) -> int | float:
    """Multiply two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return _plain(_exact_number(a) * _exact_number(b))


@server.tool(annotations=PURE)
def divide(a: float, b: float) -> int | float:
    """Divide a by b.

    Args:
        a: The dividend.
        b: The divisor.
    """
    if b == 0:
        raise ToolError("division by zero")
    return _plain(_exact_number(a) / _exact_number(b))


@server.tool(annotations=PURE)
def evaluate(expression: str) -> Evaluation:
    """Evaluate an arithmetic expression exactly: + - * / // % **, parentheses, and the functions
    sqrt cbrt exp log log2 log10 sin cos tan asin acos atan atan2 sinh cosh tanh degrees radians abs
    round floor ceil factorial gcd lcm hypot min max, and the constants pi e tau.

    Args:
        expression: The expression, e.g. "(12 + 30) * 2" or "1/3 + 1/6".
    """
    if len(expression) > MAX_EXPRESSION_CHARACTERS:
        raise ToolError(
            f"the expression is {len(expression)} characters long; the limit is {MAX_EXPRESSION_CHARACTERS}"
        )
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError as error:
        raise ToolError(f"not an arithmetic expression: {error.msg} at column {error.offset}") from None
    try:
        result = _evaluate(tree.body)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except (ValueError, OverflowError, TypeError) as error:
        raise ToolError(f"cannot evaluate {expression!r}: {error}") from None
    return _shape(result)


def _evaluate(node: ast.expr) -> Number:
    match node:
        case ast.Constant(value=bool()):
            raise ValueError("booleans are not numbers here")
        case ast.Constant(value=int() | float() as value):
            return value
        case ast.Name(id=name) if name in _CONSTANTS:
            return _CONSTANTS[name]
        case ast.BinOp(left=left, op=ast.Pow(), right=right):
            return _power(_evaluate(left), _evaluate(right))
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            return _bounded(_BINARY[type(op)](_evaluate(left), _evaluate(right)))
        case ast.UnaryOp(op=op, operand=operand) if type(op) in _UNARY:
            return _UNARY[type(op)](_evaluate(operand))
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in _FUNCTIONS:
            values = [_evaluate(argument) for argument in args]
            if name == "factorial" and values and isinstance(values[0], int) and values[0] > 5_000:
                raise ValueError("factorial of more than 5000 is too large")
            return _bounded(_FUNCTIONS[name](*(float(v) if isinstance(v, Fraction) else v for v in values)))
        case ast.Name(id=name):
            raise ValueError(f"unknown name {name!r}")
    raise ValueError(f"{type(node).__name__} is not arithmetic")


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(exponent, int) and abs(exponent) > MAX_EXPONENT and abs(base) not in (0, 1):
        raise ValueError(f"exponent {exponent} is too large (the limit is {MAX_EXPONENT})")
    if isinstance(exponent, int) and isinstance(base, int | Fraction):
        return _bounded(Fraction(base) ** exponent if exponent < 0 else base**exponent)
    return _bounded(float(base) ** float(exponent))


def _bounded(value: Number | complex) -> Number:
    if isinstance(value, complex):
        raise ValueError("the result is a complex number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("the result is too large")
    if isinstance(value, int) and value.bit_length() > MAX_RESULT_DIGITS * 3.33:
        raise ValueError(f"the result has more than {MAX_RESULT_DIGITS} digits")
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return value


def _exact_number(value: float) -> Fraction:
    """A JSON number as an exact fraction (0.1 is taken as the decimal 0.1, not its binary neighbour)."""
    return Fraction(str(value))


def _plain(value: Fraction) -> int | float:
    """An exact result as a JSON number: an integer when it is one."""
    return int(value) if value.denominator == 1 else float(value)


def _exact(*values: Number) -> bool:
    return all(isinstance(value, int | Fraction) for value in values)


def _shape(result: Number) -> Evaluation:
    if isinstance(result, float) and result.is_integer() and abs(result) < 2**53:
        return {"value": int(result), "exact": str(int(result))}
    if isinstance(result, Fraction):
        return {"value": float(result), "exact": f"{result.numerator}/{result.denominator}"}
    return {"value": result, "exact": str(result)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_transport_options(parser)
    run(server, parser.parse_args())


if __name__ == "__main__":
    main()
