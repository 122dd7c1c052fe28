"""PythonExecutor: state between steps, tools proxied to the host, errors the model can act on,
limits, and the worker process's hygiene."""

from __future__ import annotations

import ast
import gc
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar, TypedDict

import anyio
import pytest

from mcpagents import SandboxUnavailableError, ToolCollection, tool
from mcpagents.sandbox.executor import PythonExecutor, check_layers
from mcpagents.sandbox.interface import ExecutorOptions

groups: dict[str, tuple[list[int], anyio.Event]] = {}


class Division(TypedDict):
    quotient: int
    remainder: int


@tool
def divide(a: int, b: int) -> Division:
    """Divide with remainder."""
    return {"quotient": a // b, "remainder": a % b}


@tool(name="get-greeting")
def get_greeting(name: str, excited: bool = False) -> str:
    """A greeting (a tool whose name is not a Python identifier)."""
    return f"Hello, {name}{'!' if excited else '.'}"


@tool
async def rendezvous(group: str, parties: int) -> str:
    """Return once `parties` calls of `group` are in flight together (fail after 10 s)."""
    arrived, everyone = groups.setdefault(group, ([0], anyio.Event()))
    arrived[0] += 1
    if arrived[0] >= parties:
        everyone.set()
    with anyio.move_on_after(10):
        await everyone.wait()
    if not everyone.is_set():
        raise RuntimeError(f"only {arrived[0]} of {parties} calls arrived together")
    return "met"


@tool
async def nap(seconds: float) -> str:
    """Sleep, then answer."""
    await anyio.sleep(seconds)
    return "rested"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def executor() -> AsyncIterator[PythonExecutor]:
    async with (
        ToolCollection.from_mcp([divide, get_greeting, rendezvous]) as tools,
        PythonExecutor(tools, ExecutorOptions(step_timeout=5)) as running,
    ):
        yield running


pytestmark = pytest.mark.anyio


async def test_state_persists_between_steps(executor: PythonExecutor) -> None:
    await executor.run("import math\ntotal = 40\ndef twice(x):\n    return 2 * x")
    result = await executor.run("print(twice(total) + math.floor(1.5))\ntotal")
    assert (result.stdout, result.value, result.error) == ("81\n", "40", None)


async def test_tools_are_functions_returning_python_data(executor: PythonExecutor) -> None:
    result = await executor.run(
        "d = divide(17, b=5)\nprint(d['quotient'], d['remainder'])\nget_greeting('Ann', excited=True)"
    )
    assert (result.stdout, result.value, result.tool_calls) == ("3 2\n", "'Hello, Ann!'", 2)


async def test_tool_calls_can_run_concurrently(executor: PythonExecutor) -> None:
    result = await executor.run("map_tool(rendezvous, [{'group': 'map', 'parties': 5}] * 5)")
    assert result.error is None
    assert result.value == "['met', 'met', 'met', 'met', 'met']"
    both = await executor.run("parallel([(divide, {'a': 9, 'b': 2}), (get_greeting, {'name': 'Bo'})])")
    assert both.value == "[{'quotient': 4, 'remainder': 1}, 'Hello, Bo.']"


async def test_tool_errors_reach_the_code_as_exceptions(executor: PythonExecutor) -> None:
    result = await executor.run("divide(a='x', b=1)")
    assert result.error is not None
    assert (
        result.error.splitlines()[-1]
        == "ToolCallError: divide(): argument 'a' must be integer, got string \"x\""
    )
    caught = await executor.run(
        "calls = [(divide, {'a': 1, 'b': 0}), (divide, {'a': 4, 'b': 2})]\n"
        "outcomes = parallel(calls, return_exceptions=True)\n"
        "[type(o).__name__ for o in outcomes]"
    )
    assert caught.value == "['ToolCallError', 'dict']"


async def test_errors_show_the_models_own_lines(executor: PythonExecutor) -> None:
    failing = await executor.run("def inner():\n    return 1 / 0\n\nvalue = inner()")
    assert failing.error == (
        "Traceback (most recent call last):\n  line 4, in <module>\n    value = inner()\n"
        "  line 2, in inner\n    return 1 / 0\nZeroDivisionError: division by zero"
    )
    broken = await executor.run("x = 1\nif x = 2:\n    pass")
    assert broken.error is not None and broken.error.startswith("SyntaxError: invalid syntax")
    assert "(line 2)" in broken.error and "if x = 2:" in broken.error


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("final_answer({'a': [1, 2.5, None]})", {"a": [1, 2.5, None]}),
        ("final_answer([1, 'two'])", [1, "two"]),
        ("final_answer(42)", 42),
        ("try:\n    final_answer('kept')\nexcept Exception:\n    pass", "kept"),
    ],
)
async def test_final_answer_takes_json_data(executor: PythonExecutor, code: str, expected: object) -> None:
    result = await executor.run(code)
    assert (result.has_final_answer, result.final_answer, result.final_answer_note) == (True, expected, None)


async def test_a_non_json_final_answer_becomes_text_with_a_note(executor: PythonExecutor) -> None:
    result = await executor.run("final_answer({1, 2})")
    assert result.final_answer == "{1, 2}"
    assert (
        result.final_answer_note == "final_answer got a set, which is not JSON data: its text form was used"
    )


async def test_authorised_imports_work(executor: PythonExecutor) -> None:
    code = (
        "import math, json, re, datetime, collections, statistics\n"
        "[math.sqrt(16), json.dumps([1]), re.sub('a', 'b', 'aa'), datetime.date(2026, 1, 2).isoformat(),"
        " collections.Counter('aab')['a'], statistics.mean([1, 2, 3])]"
    )
    assert (await executor.run(code)).value == "[4.0, '[1]', 'bb', '2026-01-02', 2, 2]"


async def test_the_lint_explains_what_is_not_allowed(executor: PythonExecutor) -> None:
    refused = await executor.run("import subprocess\nx = 1")
    assert refused.error is not None
    assert refused.error.startswith(
        "Import of 'subprocess' is not allowed. Authorized imports are: ['collections'"
    )
    assert (await executor.run("x")).error is not None, "refused code did not run"
    rebinding = await executor.run("divide = None")
    assert (
        rebinding.error
        == "Cannot assign to 'divide': it is a tool (or final_answer); choose another variable name."
    )


async def test_system_exit_and_keyboard_interrupt_do_not_end_the_worker(executor: PythonExecutor) -> None:
    await executor.run("kept = 'still here'")
    for code in ("raise SystemExit(2)", "raise KeyboardInterrupt"):
        result = await executor.run(code)
        assert result.error is not None and not result.state_reset
    assert (await executor.run("kept")).value == "'still here'"


async def test_output_is_capped_with_a_notice() -> None:
    async with PythonExecutor(options=ExecutorOptions(output_limit=100)) as executor:
        result = await executor.run("print('x' * 1000)")
    assert result.stdout == "x" * 100 + "\n[output truncated: 901 more characters]"


async def test_a_step_over_its_time_limit_is_stopped_and_the_model_told() -> None:
    async with PythonExecutor(options=ExecutorOptions(step_timeout=1)) as executor:
        await executor.run("kept = 1")
        first_pid = executor.pid
        result = await executor.run("while True:\n    pass")
        assert result.state_reset and result.error is not None
        assert result.error.startswith(
            "your code ran longer than the 1 s limit and was stopped. The worker was restarted"
        )
        assert executor.pid != first_pid
        assert "NameError" in str((await executor.run("kept")).error)
        assert (await executor.run("1 + 1")).value == "2"


async def test_time_spent_in_tool_calls_does_not_count() -> None:
    async with (
        ToolCollection.from_mcp([nap]) as tools,
        PythonExecutor(tools, ExecutorOptions(step_timeout=0.5)) as short,
    ):
        result = await short.run("nap(1.5)")
    assert (result.value, result.error, result.state_reset) == ("'rested'", None, False)


async def test_a_crashing_worker_is_replaced() -> None:
    async with PythonExecutor(options=ExecutorOptions(authorized_imports=("ctypes",))) as executor:
        result = await executor.run("import ctypes\nctypes.string_at(0)")
        assert result.state_reset
        assert result.error is not None and result.error.startswith("the Python worker crashed (SIGSEGV)")
        assert (await executor.run("2 * 21")).value == "42"


async def test_memory_and_file_limits(tmp_path: Path) -> None:
    async with PythonExecutor(
        options=ExecutorOptions(memory_mb=256, file_mb=1), workdir=tmp_path
    ) as executor:
        assert "MemoryError" in str((await executor.run("block = bytearray(512 * 1024 * 1024)")).error)
        too_big = await executor.run("open('big.bin', 'wb').write(b'0' * (2 * 1024 * 1024))")
        assert "File too large" in str(too_big.error)
        written = await executor.run("open('note.txt', 'w').write('hi')\nopen('note.txt').read()")
    assert written.value == "'hi'"
    assert (tmp_path / "note.txt").read_text() == "hi", "the workdir is the code's current directory"


async def test_a_worker_ends_when_its_executor_is_dropped_unclosed() -> None:
    """As when a program runs an agent and drops it without closing it (smolagents programs do):
    the worker, frozen between steps, must not outlive its executor."""
    async with ToolCollection.from_mcp([divide]) as tools:
        executor = PythonExecutor(tools, ExecutorOptions(step_timeout=5))
        await executor.start()
        assert (await executor.run("divide(a=7, b=2)")).value == "{'quotient': 3, 'remainder': 1}"
        pid = executor.pid
        assert pid is not None and _alive(pid)
        del executor
        gc.collect()
        with anyio.fail_after(10):
            while _alive(pid):  # noqa: ASYNC110 (nothing to wait on but /proc)
                await anyio.sleep(0.02)


def _alive(pid: int) -> bool:
    """Whether `pid` runs (or is stopped): not gone, not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_the_worker_process_is_clean(executor: PythonExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = executor.pid
    assert pid is not None
    assert os.getpgid(pid) == pid, "its own process group"
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null"
    environment = dict(
        line.split("=", 1) for line in Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0") if line
    )
    assert set(environment) == {
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "LC_ALL",
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
    }
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert command[1:5] == [b"-I", b"-B", b"-m", b"mcpagents.sandbox.zygote"], "forked from the clean zygote"
    assert [layer.name for layer in executor.layers if layer.ok] == [
        "process",
        "rlimits",
        "landlock",
        "seccomp",
    ]


def test_sandbox_mode_fails_closed_without_bubblewrap() -> None:
    script = (
        "import anyio\nfrom mcpagents import ExecutorOptions, PythonExecutor\n"
        "anyio.run(PythonExecutor(options=ExecutorOptions(mode='sandbox')).start)"
    )
    environment = {**os.environ, "PATH": "/nonexistent"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "mcpagents.errors.SandboxUnavailableError: mode='sandbox' needs bubblewrap, which is not installed:"
        " install bubblewrap (Debian/Ubuntu: `apt install bubblewrap`"
    )


def test_a_missing_layer_warns_in_local_mode_and_refuses_in_sandbox_mode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    report = {
        "process": {"ok": True, "detail": "pid 1"},
        "rlimits": {"ok": True, "detail": "set"},
        "landlock": {"ok": True, "detail": "ABI 7"},
        "seccomp": {"ok": False, "detail": "pyseccomp/libseccomp is not available"},
    }
    layers = check_layers(report, "local")
    assert [(layer.name, layer.ok) for layer in layers][-1] == ("seccomp", False)
    with pytest.raises(
        SandboxUnavailableError, match="missing seccomp: pyseccomp/libseccomp is not available"
    ):
        check_layers(report, "sandbox")
    with caplog.at_level(logging.WARNING, logger="mcpagents"):
        executor = PythonExecutor()
        executor._check_layers(report)
    assert (
        "runs without some confinement layers: seccomp: pyseccomp/libseccomp is not available" in caplog.text
    )


async def test_sandbox_mode_runs_the_same_code() -> None:
    async with (
        ToolCollection.from_mcp([divide]) as tools,
        PythonExecutor(tools, ExecutorOptions(mode="sandbox")) as executor,
    ):
        assert [layer.name for layer in executor.layers] == [
            "process",
            "rlimits",
            "landlock",
            "seccomp",
            "bubblewrap",
        ]
        await executor.run("x = divide(7, 2)")
        assert (await executor.run("x['quotient']")).value == "3"


async def test_tools_have_typed_signatures_in_the_worker() -> None:
    async with (
        ToolCollection.from_mcp([get_greeting]) as tools,
        PythonExecutor(tools, ExecutorOptions(authorized_imports=("inspect",))) as ex,
    ):
        result = await ex.run("import inspect\nstr(inspect.signature(get_greeting)), get_greeting.__doc__")
    signature = "(name: str, excited: bool = <optional>)"
    assert result.value == repr((signature, "A greeting (a tool whose name is not a Python identifier)."))


async def test_awkward_parameter_names_and_none_for_optional_arguments() -> None:
    class Echo:
        name = "import"
        description = "Echo the arguments."
        input_schema: ClassVar[dict[str, object]] = {
            "type": "object",
            "properties": {
                "class": {"type": "string"},
                "content-type": {"type": "string"},
                "limit": {"type": "integer"},
                "cursor": {"type": ["string", "null"]},
                "anything": True,
            },
            "required": ["class"],
        }

        async def acall_with(self, arguments: dict[str, object]) -> dict[str, object]:
            return dict(arguments)

    async with PythonExecutor([Echo()]) as executor:  # type: ignore[list-item]
        result = await executor.run(
            "import_(**{'class': 'a', 'content-type': 'text/plain'}, limit=None, cursor=None, anything=1)"
        )
    assert result.error is None and result.value is not None
    assert ast.literal_eval(result.value) == {
        "class": "a",
        "content-type": "text/plain",
        "cursor": None,  # nullable: None is sent
        "anything": 1,
    }, "None left the optional `limit` out"
