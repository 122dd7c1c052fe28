"""The calculator MCP server: exact arithmetic on expressions, evaluated safely (never `eval`).

Run: `python -m mcpagents.servers.calculator` (stdio) or with `--http PORT` (see `launch.py`).
Options: `--timeout S` stops an evaluation after S seconds (default 5); `--max-digits N` lets values
have N digits (default 10,000, at most 1,000,000).

Integers and fractions stay exact (`1/3 + 1/6` is `1/2`); functions (`sqrt`, `sin`, `log`, ...) and
decimals use floating point. Only arithmetic is understood: no names but the listed functions and
constants, no attribute access, no calls of anything else.

The work is bounded before it is done. Every value has at most N digits (a fraction: in its
numerator and its denominator), so + - * / // %, comparisons and conversions cost little; what can
outgrow its operands without bound (`**`, `factorial`, `round` to a digit, `lcm` of many numbers) is
sized from its operands first and refused when the result would be too large: `9**9**9` is refused at
once. Evaluations run in worker processes, and one that runs past the time limit is killed, so the
server keeps answering other calls, during an evaluation and after it.
"""

from __future__ import annotations

import argparse
import ast
import math
import operator
import sys
from collections.abc import Callable
from fractions import Fraction
from typing import TypedDict

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from .launch import add_transport_options, run
from .workers import WorkerPool, serve_lines

MAX_EXPRESSION_CHARACTERS = 2_000
DEFAULT_MAX_DIGITS = 10_000
MAX_DIGITS = 1_000_000
"""The most `--max-digits` may allow: the checks compute 10**max_digits."""
DEFAULT_TIMEOUT = 5.0
MAX_WORKERS = 4
"""Evaluations that run at once; more calls wait for a worker."""
MAX_REPLY_BYTES = 1024 * 1024
WORKER = "import sys; from mcpagents.servers.calculator import serve_worker; serve_worker(int(sys.argv[1]))"

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
# Floating-point functions: a fraction is converted to the nearest float first.
_FLOAT_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt, "cbrt": math.cbrt, "exp": math.exp, "log": math.log, "log2": math.log2,
    "log10": math.log10, "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin,
    "acos": math.acos, "atan": math.atan, "atan2": math.atan2, "sinh": math.sinh, "cosh": math.cosh,
    "tanh": math.tanh, "degrees": math.degrees, "radians": math.radians, "hypot": math.hypot,
}  # fmt: skip
# Functions that keep integers and fractions exact.
_EXACT_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "abs": abs, "round": round, "floor": math.floor, "ceil": math.ceil, "factorial": math.factorial,
    "gcd": math.gcd, "lcm": math.lcm, "min": min, "max": max,
}  # fmt: skip
_CONSTANTS: dict[str, Number] = {"pi": math.pi, "e": math.e, "tau": math.tau}
_TOO_LARGE_FOR_FLOAT = "a value is too large for a floating-point number (the largest is about 1.8e308)"


class CalculationError(Exception):
    """An expression that cannot be evaluated; the message says why."""


class _Refused(Exception):
    """Why the node being computed has no value; `_computed` names the node."""


class Evaluation(TypedDict):
    value: float | int | None
    """The result as a JSON number: the integer itself, or the nearest float (0.0 below about 5e-324);
    null when it lies beyond the range of a float (about ±1.8e308)."""
    exact: str
    """The exact result: an integer, a fraction like `1/3`, or the decimal of an inexact one."""


class Arithmetic:
    """Evaluates expressions whose values (every one on the way, too) have at most `max_digits` digits."""

    def __init__(self, max_digits: int = DEFAULT_MAX_DIGITS) -> None:
        self.max_digits = max_digits
        self._too_many_digits = 10**max_digits  # the smallest number with more digits than allowed

    def calculate(self, expression: str) -> Evaluation:
        """The value of `expression`; `CalculationError` says what is wrong with one that has none."""
        if len(expression) > MAX_EXPRESSION_CHARACTERS:
            raise CalculationError(
                f"the expression is {len(expression)} characters long;"
                f" the limit is {MAX_EXPRESSION_CHARACTERS}"
            )
        source = expression.replace("^", "**")
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as error:
            where = "" if error.offset is None else f" at column {error.offset}"
            raise CalculationError(f"not an arithmetic expression: {error.msg}{where}") from None
        except UnicodeEncodeError as error:  # a lone surrogate, which no text encoding holds
            raise CalculationError(
                f"not an arithmetic expression: {error.object[error.start]!r} at column {error.start + 1}"
                " is not a character"
            ) from None
        except (MemoryError, RecursionError):  # the parser's own limit on nesting
            raise CalculationError("the expression is nested too deeply to be read") from None
        return _shape(self._evaluate(tree.body, source))

    def _evaluate(self, root: ast.expr, source: str) -> Number:
        """The value of `root`, worked out without recursion (a chain of 1,000 signs nests 1,000 deep):
        a node is taken from the stack twice, first to put its operands above it, then to be computed."""
        values: list[Number] = []
        stack: list[tuple[ast.expr, bool]] = [(root, False)]
        while stack:
            node, operands_done = stack.pop()
            operands = _operands(node)
            if operands and not operands_done:
                stack.append((node, True))
                stack.extend((operand, False) for operand in reversed(operands))
                continue
            first = len(values) - len(operands)
            arguments = values[first:]
            del values[first:]
            values.append(self._computed(node, arguments, source))
        return values[0]

    def _computed(self, node: ast.expr, operands: list[Number], source: str) -> Number:
        """The value of `node` from its operands' values: a finite number of at most the allowed size."""
        try:
            return self._bounded(self._compute(node, operands))
        except _Refused as refusal:
            reason = str(refusal)
        except ZeroDivisionError:
            reason = "division by zero"
        except OverflowError:
            reason = _TOO_LARGE_FOR_FLOAT
        except (ValueError, TypeError) as error:
            reason = str(error)
            if reason == "math domain error":
                reason = "an argument is outside the function's domain"
        text = ast.get_source_segment(source, node) or type(node).__name__
        raise CalculationError(
            f"cannot evaluate {text if len(text) <= 80 else text[:77] + '...'!r}: {reason}"
        )

    def _compute(self, node: ast.expr, operands: list[Number]) -> Number | complex:
        match node:
            case ast.Constant(value=int() | float() as value):
                return value
            case ast.Name(id=name):
                return _CONSTANTS[name]
            case ast.BinOp(op=ast.Pow()):
                return self._power(*operands)
            case ast.BinOp(op=op):
                return _BINARY[type(op)](*operands)
            case ast.UnaryOp(op=op):
                return _UNARY[type(op)](*operands)
            case ast.Call(func=ast.Name(id=name)) if name in _FLOAT_FUNCTIONS:
                return _FLOAT_FUNCTIONS[name](*(_float_operand(value) for value in operands))
            case ast.Call(func=ast.Name(id=name)):
                return self._exact_function(name, operands)
        raise AssertionError(f"{type(node).__name__} passed _operands")

    def _power(self, base: Number, exponent: Number) -> Number | complex:
        if isinstance(exponent, int) and not isinstance(base, float):
            size = _log_size(base)  # 0 for 0, 1 and -1, whose powers are cheap whatever the exponent
            if size > 0 and exponent != 0:
                self._check_digits(math.log10(abs(exponent)) + math.log10(size))
            power: Number = Fraction(base) ** exponent if exponent < 0 else base**exponent
            return power
        inexact: float | complex = float(base) ** float(exponent)  # complex for (-8) ** (1/3)
        return inexact

    def _exact_function(self, name: str, operands: list[Number]) -> Number:
        match name, operands:
            case "factorial", [int() as n] if n > 2:
                # n! > (n/e)^n: it has more than n·log10(n/e) digits.
                self._check_digits(math.log10(n) + math.log10(math.log10(n) - math.log10(math.e)))
            case "round", [_, int() as digit] if abs(digit) > self.max_digits:
                raise _Refused(
                    f"the digit to round at must be between -{self.max_digits} and {self.max_digits}"
                )
            case "min" | "max", [value]:  # which Python would take for a collection of values
                return value
            case "lcm", _:  # the lcm of many numbers can have as many digits as all of them together
                result: Number = 1
                for value in operands:
                    result = self._bounded(math.lcm(result, value))  # type: ignore[arg-type]
                return result
        return _EXACT_FUNCTIONS[name](*operands)

    def _check_digits(self, log_digits: float) -> None:
        """Refuses a result, before it is computed, that would have about 10**log_digits digits."""
        if log_digits > math.log10(self.max_digits + 1):  # the 1 covers the rounding of the estimate
            digits = f"{10**log_digits:,.0f}" if log_digits < 15 else f"10^{log_digits:.0f}"
            raise _Refused(f"the result would have about {digits} digits; the limit is {self.max_digits:,}")

    def _bounded(self, value: Number | complex) -> Number:
        """`value` if it is a finite real number of the allowed size; an integral fraction as an int."""
        if isinstance(value, complex):
            raise _Refused("the result is a complex number")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _Refused(_TOO_LARGE_FOR_FLOAT)
            return value
        fraction = Fraction(value)
        if abs(fraction.numerator) >= self._too_many_digits or fraction.denominator >= self._too_many_digits:
            which = "the result" if fraction.denominator == 1 else "the result's numerator or denominator"
            raise _Refused(f"{which} would have more than {self.max_digits:,} digits")
        return fraction.numerator if fraction.denominator == 1 else fraction


def _operands(node: ast.expr) -> list[ast.expr]:
    """The sub-expressions `node` is computed from; what is not arithmetic is refused here."""
    match node:
        case ast.BinOp(left=left, op=op, right=right):
            if not isinstance(op, ast.Pow) and type(op) not in _BINARY:
                raise CalculationError(
                    f"the operator {type(op).__name__} is not supported (only + - * / // % ** and ^ for **)"
                )
            return [left, right]
        case ast.UnaryOp(op=op, operand=operand):
            if type(op) not in _UNARY:
                raise CalculationError(f"the operator {type(op).__name__} is not supported (only signs + -)")
            return [operand]
        case ast.Call(func=ast.Name(id=name), args=args, keywords=keywords):
            if name not in _FLOAT_FUNCTIONS and name not in _EXACT_FUNCTIONS:
                known = " ".join([*_FLOAT_FUNCTIONS, *_EXACT_FUNCTIONS])
                raise CalculationError(f"unknown function {name!r}; the functions are {known}")
            if keywords:
                raise CalculationError(f"{name}(): arguments are given by position only")
            return list(args)
        case ast.Constant(value=bool()):
            raise CalculationError("booleans are not numbers here")
        case ast.Constant(value=complex()):
            raise CalculationError("complex numbers are not supported")
        case ast.Constant(value=int() | float()):
            return []
        case ast.Constant(value=value):
            raise CalculationError(f"{value!r} is not a number")
        case ast.Name(id=name):
            if name not in _CONSTANTS:
                raise CalculationError(f"unknown name {name!r}; the constants are {' '.join(_CONSTANTS)}")
            return []
    raise CalculationError(f"{type(node).__name__} is not arithmetic")


def _float_operand(value: Number) -> int | float:
    """A float function's argument: a fraction as the nearest float (`log` takes integers of any size)."""
    return float(value) if isinstance(value, Fraction) else value


def _log_size(value: int | Fraction) -> float:
    """log10 of the larger of the numerator and the denominator: about how many digits they have."""
    fraction = Fraction(value)
    return math.log10(max(abs(fraction.numerator), fraction.denominator))


def _exact(*values: Number) -> bool:
    return all(isinstance(value, int | Fraction) for value in values)


def _shape(result: Number) -> Evaluation:
    if isinstance(result, float):
        if result.is_integer() and abs(result) < 2**53:
            return {"value": int(result), "exact": str(int(result))}
        return {"value": result, "exact": repr(result)}
    if isinstance(result, int):
        return {"value": result if abs(result) <= sys.float_info.max else None, "exact": str(result)}
    try:
        value: float | None = float(result)
    except OverflowError:
        value = None
    return {"value": value, "exact": str(result)}


def serve_worker(max_digits: int) -> None:
    """A worker process (see `workers.serve_lines`): one JSON-encoded expression a line."""
    arithmetic = Arithmetic(max_digits)
    sys.set_int_max_str_digits(max(max_digits, 640))  # 640 is the lowest limit Python accepts
    serve_lines(arithmetic.calculate, (CalculationError,))


PURE = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def build_server(*, time_limit: float = DEFAULT_TIMEOUT, max_digits: int = DEFAULT_MAX_DIGITS) -> MCPServer:
    """The calculator: an evaluation is stopped after `time_limit` seconds, and its values (every one on
    the way, too) have at most `max_digits` digits."""
    evaluations = WorkerPool(
        [sys.executable, "-c", WORKER, str(max_digits)],
        size=MAX_WORKERS,
        kill_after=time_limit,
        timeout_error=f"the evaluation ran longer than {time_limit:g} s and was stopped",
        what="evaluation",
        max_reply_bytes=MAX_REPLY_BYTES,
    )
    server = MCPServer(
        "calculator",
        instructions="Exact arithmetic: evaluate expressions like `(12 + 30) * 2` or `sqrt(2) / 3`.",
    )

    @server.tool(annotations=PURE)
    def add(a: float, b: float) -> int | float:
        """Add two numbers.

        Args:
            a: The first number.
            b: The second number.
        """
        return _plain(_exact_number("a", a) + _exact_number("b", b))

    @server.tool(annotations=PURE)
    def subtract(a: float, b: float) -> int | float:
        """Subtract b from a.

        Args:
            a: The number to subtract from.
            b: The number to subtract.
        """
        return _plain(_exact_number("a", a) - _exact_number("b", b))

    @server.tool(annotations=PURE)
    def multiply(a: float, b: float) -> int | float:
        """Multiply two numbers.

        Args:
            a: The first number.
            b: The second number.
        """
        return _plain(_exact_number("a", a) * _exact_number("b", b))

    @server.tool(annotations=PURE)
    def divide(a: float, b: float) -> int | float:
        """Divide a by b.

        Args:
            a: The dividend.
            b: The divisor.
        """
        dividend, divisor = _exact_number("a", a), _exact_number("b", b)
        if divisor == 0:
            raise ToolError("division by zero")
        return _plain(dividend / divisor)

    @server.tool(annotations=PURE)
    async def evaluate(expression: str) -> Evaluation:
        """Evaluate an arithmetic expression exactly: + - * / // % **, parentheses, and the functions
        sqrt cbrt exp log log2 log10 sin cos tan asin acos atan atan2 sinh cosh tanh degrees radians
        hypot abs round floor ceil factorial gcd lcm min max, and the constants pi e tau. Values have at
        most 10,000 digits unless the server allows more.

        Args:
            expression: The expression, e.g. "(12 + 30) * 2" or "1/3 + 1/6".
        """
        result: Evaluation = await evaluations.ask(expression)
        return result

    return server


def _exact_number(name: str, value: float) -> Fraction:
    """The argument `name`, a JSON number, as an exact fraction (0.1 is taken as the decimal 0.1, not its
    binary neighbour)."""
    if not math.isfinite(value):  # JSON has no infinities, but Python's parsers accept `Infinity`
        raise ToolError(f"{name} must be a finite number, not {value}")
    return Fraction(str(value))


def _plain(value: Fraction) -> int | float:
    """An exact result as a JSON number: an integer when it is one."""
    return int(value) if value.denominator == 1 else float(value)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return seconds


def _digits(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_DIGITS:
        raise argparse.ArgumentTypeError(f"must be a number of digits from 1 to {MAX_DIGITS:,}, not {text!r}")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="S",
        help=f"stop an evaluation after S seconds (default {DEFAULT_TIMEOUT:g})",
    )  # fmt: skip
    parser.add_argument(
        "--max-digits", type=_digits, default=DEFAULT_MAX_DIGITS, metavar="N",
        help=f"the most digits a value may have (default {DEFAULT_MAX_DIGITS:,})",
    )  # fmt: skip
    add_transport_options(parser)
    options = parser.parse_args()
    run(build_server(time_limit=options.timeout, max_digits=options.max_digits), options)


if __name__ == "__main__":
    main()
