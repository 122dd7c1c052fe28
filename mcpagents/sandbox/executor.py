"""PythonExecutor: the host side of the code executor.

One confined worker process per executor (per agent run) keeps variables between steps. Each
step is linted in the host, sent to the worker, and watched: the worker's tool calls are checked
and performed here (concurrently), the step's wall-clock limit is enforced by killing the worker's
process group, and a worker that dies or overruns is replaced (the model is told its variables
were lost). The executor does not know MCP: a tool is anything with `name`, `description`,
`input_schema` and `async acall_with(arguments)`.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import dataclasses
import keyword
import logging
import math
import os
import signal
import site
import socket
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self

import anyio
import anyio.abc

import mcpagents
from mcpagents.errors import SandboxUnavailableError
from mcpagents.sandbox import protocol
from mcpagents.sandbox.channel import FrameChannel, WorkerGone, open_channel
from mcpagents.sandbox.launcher import ZygoteDied, ZygoteProcess, zygote_for
from mcpagents.sandbox.lint import DEFAULT_AUTHORIZED_IMPORTS, lint

logger = logging.getLogger("mcpagents")

ExecutorMode = Literal["local", "sandbox"]

LAYERS = ("process", "rlimits", "landlock", "seccomp")
_READY_TIMEOUT = 60.0
_SYSTEM_READ_PATHS = (
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/etc/ld.so.cache",
    "/dev/null",
    "/dev/zero",
    "/dev/urandom",
)
_HELPERS = ("final_answer", "parallel", "map_tool")
_HEAVY_MODULES = frozenset({"numpy", "pandas", "scipy", "sklearn", "matplotlib", "PIL", "sympy"})


class SandboxTool(Protocol):
    """What the executor needs of a tool (a `mcpagents.Tool` is one)."""

    name: str

    @property
    def description(self) -> str: ...

    @property
    def input_schema(self) -> dict[str, Any]: ...

    async def acall_with(self, arguments: Mapping[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Layer:
    """One confinement layer as the worker reported it."""

    name: str
    ok: bool
    detail: str


@dataclass
class StepResult:
    """What one step of code did."""

    stdout: str = ""
    stderr: str = ""
    value: str | None = None
    """The repr of the code's last expression, as a notebook shows it."""
    final_answer: Any = None
    has_final_answer: bool = False
    final_answer_note: str | None = None
    error: str | None = None
    """The error, with the traceback lines of the model's own code."""
    state_reset: bool = False
    """The worker was replaced during this step: variables, imports and definitions are gone."""
    tool_calls: int = 0
    duration: float = 0.0


@dataclass
class _Worker:
    pid: int
    zygote: ZygoteProcess
    channel: FrameChannel


class PythonExecutor:
    """Runs model-written Python in a confined worker process, tools proxied back to the host.

    `mode="local"` applies every layer the kernel offers (process, rlimits, Landlock, seccomp) and
    warns naming any that is missing; `mode="sandbox"` also runs the worker inside bubblewrap and
    refuses to start when any layer is missing. `step_timeout` is the wall-clock limit of one step
    (time spent waiting for tool calls does not count); `memory_mb`, `file_mb` and `open_files` are
    the worker's rlimits; `output_limit` caps what a step's stdout and stderr keep (in characters).
    Code may read the Python installation and read/write only `workdir` (a fresh temporary folder
    unless given). `check_code` runs the advisory lint in the host first (imports outside
    `authorized_imports`, dunder tricks, rebinding tool names), for clear errors to the model; the
    boundary is the worker's confinement, not the lint.
    """

    def __init__(
        self,
        tools: Iterable[SandboxTool] = (),
        *,
        authorized_imports: Sequence[str] = DEFAULT_AUTHORIZED_IMPORTS,
        mode: ExecutorMode = "local",
        step_timeout: float = 20.0,
        memory_mb: int = 1024,
        file_mb: int = 64,
        open_files: int = 256,
        output_limit: int = 20_000,
        workdir: str | os.PathLike[str] | None = None,
        read_paths: Sequence[str] = (),
        check_code: bool = True,
    ) -> None:
        if mode not in ("local", "sandbox"):
            raise ValueError(f"mode must be 'local' or 'sandbox', not {mode!r}")
        self.tools = {python_name(tool.name): tool for tool in tools}
        self._by_name = {tool.name: tool for tool in self.tools.values()}
        self.authorized_imports = tuple(authorized_imports)
        self.mode = mode
        self.step_timeout = step_timeout
        self.limits = {"memory_bytes": memory_mb << 20, "file_bytes": file_mb << 20, "open_files": open_files}
        self.output_limit = output_limit
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else None
        self.extra_read_paths = tuple(read_paths)
        self.check_code = check_code
        self.layers: list[Layer] = []
        self._worker: _Worker | None = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start the worker and check its layers (raises `SandboxUnavailableError` in sandbox mode)."""
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="run-", dir=_runs_folder()))
        if self._worker is None:
            self._worker = await self._spawn()

    async def aclose(self) -> None:
        self._closed = True
        if self._worker is not None:
            await self._kill(self._worker)
            self._worker = None
        if self._own_workdir and self.workdir is not None:
            await anyio.to_thread.run_sync(_remove_tree, self.workdir)
            self.workdir = None

    # -- steps ------------------------------------------------------------------------------------

    async def run(self, code: str) -> StepResult:
        """Run one step of code in the worker and report what it did."""
        problems = self.check_code and lint(code, self.authorized_imports, [*self.tools, *_HELPERS])
        if problems:
            return StepResult(error="\n".join(problems))
        await self.start()
        assert self._worker is not None
        worker = self._worker
        started = time.monotonic()
        try:
            result = await self._step(worker, code)
        except BaseException:
            # Cancelled mid-step (the agent's run was cancelled): the code may still be running, and
            # its late answer would be read as the next step's. The next step gets a fresh worker.
            with anyio.CancelScope(shield=True):
                await self._kill(worker)
            self._worker = None
            raise
        result.duration = time.monotonic() - started
        return result

    async def define(self, **values: Any) -> None:
        """Set variables in the code's namespace (JSON data), as if a step had assigned them."""
        await self.start()
        assert self._worker is not None
        result = await self._step(self._worker, "", message={"type": "define", "values": to_json(values)})
        if result.error is not None:
            raise RuntimeError(f"could not define {sorted(values)}: {result.error}")

    async def _step(self, worker: _Worker, code: str, message: dict[str, Any] | None = None) -> StepResult:
        tool_calls: set[asyncio.Task[None]] = set()  # plain tasks: most steps call no tool at all
        try:
            outcome, message, calls = await self._serve(
                worker, message or {"type": "run", "code": code}, tool_calls
            )
        finally:
            for task in tool_calls:
                task.cancel()
        if outcome == "done":
            return _step_result(message, calls)
        if outcome == "timeout":
            return await self._replace(
                worker, f"your code ran longer than the {self.step_timeout:g} s limit and was stopped"
            )
        if outcome == "gone":
            return await self._replace(worker, f"the Python worker {await self._exit_reason(worker)}")
        return await self._replace(worker, "the Python worker broke the protocol")

    async def _serve(
        self, worker: _Worker, request: dict[str, Any], tool_calls: set[asyncio.Task[None]]
    ) -> tuple[str, dict[str, Any], int]:
        """Send the step, then perform its tool calls until the worker is done, dies or overruns."""
        calls = 0
        message: dict[str, Any] = {}
        try:
            worker.channel.send(request)
            with anyio.CancelScope() as limit:
                clock = _StepClock(limit, self.step_timeout)
                while (message := await worker.channel.receive()).get("type") == "call":
                    calls += 1
                    clock.pause()
                    task = asyncio.get_running_loop().create_task(self._perform(worker, message, clock))
                    tool_calls.add(task)
                    task.add_done_callback(tool_calls.discard)
        except WorkerGone:
            return "gone", message, calls
        except protocol.ProtocolError:
            return "garbage", message, calls
        if limit.cancelled_caught:
            return "timeout", message, calls
        return ("done" if message.get("type") == "done" else "garbage"), message, calls

    async def _perform(self, worker: _Worker, call: dict[str, Any], clock: _StepClock) -> None:
        """One tool call the worker asked for: check it, perform it here, send the result back."""
        call_id = call.get("id")
        tool = self._by_name.get(str(call.get("tool", "")))
        arguments = call.get("arguments")
        reply: dict[str, Any] = {"type": "result", "id": call_id}
        try:
            if tool is None:
                raise LookupError(
                    f"there is no tool named {call.get('tool')!r}; the tools are {sorted(self.tools)}"
                )
            if not isinstance(arguments, dict):
                raise TypeError(f"{tool.name}(): the arguments must be an object")
            reply |= {"ok": True, "value": to_json(await tool.acall_with(arguments))}
        except Exception as error:
            reply |= {"ok": False, "error": str(error) or type(error).__name__}
        clock.resume()
        with suppress(WorkerGone):  # the step loop hears it too
            try:
                worker.channel.send(reply)
            except protocol.ProtocolError as error:
                worker.channel.send(
                    {"type": "result", "id": call_id, "ok": False, "error": f"result too large: {error}"}
                )

    async def _replace(self, worker: _Worker, what_happened: str) -> StepResult:
        await self._kill(worker)
        self._worker = None
        if not self._closed:
            self._worker = await self._spawn()
        return StepResult(
            error=f"{what_happened}. The worker was restarted: variables, imports and functions from earlier"
            " steps are gone; define what you need again.",
            state_reset=True,
        )

    # -- the worker process --------------------------------------------------------------------------

    async def _spawn(self) -> _Worker:
        assert self.workdir is not None
        environment = _worker_environment(self.workdir)
        read_paths = self._read_paths()
        preimport = [m for m in self.authorized_imports if m.split(".")[0] in _HEAVY_MODULES]
        host_end, worker_end = socket.socketpair()
        try:
            root = self._sandbox_root()
            zygote = zygote_for(self.mode, root, _worker_environment(root), read_paths)
            forked = zygote.fork(
                worker_end, workdir=str(self.workdir), environment=environment, preimport=preimport
            )
        finally:
            worker_end.close()
        try:
            with anyio.fail_after(_READY_TIMEOUT):
                pid = await asyncio.wrap_future(forked)
        except (ZygoteDied, TimeoutError) as error:
            host_end.close()
            raise SandboxUnavailableError(f"the Python worker could not be started: {error}") from error
        worker = _Worker(pid, zygote, await open_channel(host_end))
        setup = {
            "type": "setup",
            "tools": [
                {
                    "name": tool.name,
                    "python_name": name,
                    "description": tool.description,
                    "parameters": tool.input_schema,
                }
                for name, tool in self.tools.items()
            ],
            "preimport": preimport,
            "limits": self.limits,
            "read_paths": read_paths,
            "write_paths": [str(self.workdir)],
            "output_limit": self.output_limit,
        }
        with anyio.move_on_after(_READY_TIMEOUT), suppress(WorkerGone, protocol.ProtocolError):
            worker.channel.send(setup)
            ready = await worker.channel.receive()
            if ready.get("type") == "ready":
                self._check_layers(ready.get("layers") or {})
                return worker
        reason = await self._exit_reason(worker)
        await self._kill(worker)
        raise SandboxUnavailableError(f"the Python worker did not start: it {reason}")

    def _sandbox_root(self) -> Path:
        """The folder a sandbox-mode zygote binds read-write: the workdir given, else the shared base."""
        assert self.workdir is not None
        return self.workdir if not self._own_workdir else self.workdir.parent

    def _check_layers(self, reported: Mapping[str, Any]) -> None:
        first = not self.layers
        self.layers = check_layers(reported, self.mode)
        missing = [layer for layer in self.layers if not layer.ok]
        if missing and first:
            summary = "; ".join(f"{layer.name}: {layer.detail}" for layer in missing)
            logger.warning("the code executor runs without some confinement layers: %s", summary)

    @property
    def pid(self) -> int | None:
        """The worker's process id (None before start; in sandbox mode, inside its PID namespace)."""
        return self._worker.pid if self._worker is not None else None

    def _read_paths(self) -> list[str]:
        """What the worker may read: the Python installation and site-packages, mcpagents itself,
        the system's shared libraries, and what the user added."""
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        packages = [*site.getsitepackages(), str(Path(mcpagents.__file__).resolve().parent)]
        paths = [*sorted(prefixes), *packages, *_SYSTEM_READ_PATHS, *self.extra_read_paths]
        return [str(Path(path)) for path in dict.fromkeys(paths) if os.path.exists(path)]

    async def _kill(self, worker: _Worker) -> None:
        worker.zygote.kill(worker.pid)
        with anyio.move_on_after(5), suppress(ZygoteDied):
            await asyncio.wrap_future(worker.zygote.exit_code(worker.pid))
        worker.channel.close()

    async def _exit_reason(self, worker: _Worker) -> str:
        code: int | None = None
        with anyio.move_on_after(2), suppress(ZygoteDied):
            code = await asyncio.wrap_future(worker.zygote.exit_code(worker.pid))
        if code is None:
            return "stopped answering"
        if code < 0:
            with suppress(ValueError):
                return f"crashed ({signal.Signals(-code).name})"
        return f"exited with code {code}"


def check_layers(reported: Mapping[str, Any], mode: ExecutorMode) -> list[Layer]:
    """The layers a worker reported; in sandbox mode a missing one is an error (fail closed)."""
    layers = [
        Layer(
            name,
            bool(reported.get(name, {}).get("ok")),
            str(reported.get(name, {}).get("detail", "not reported")),
        )
        for name in LAYERS
    ]
    if mode == "sandbox":
        layers.append(Layer("bubblewrap", True, "own namespaces, no network, read-only system"))
        if missing := [layer for layer in layers if not layer.ok]:
            summary = "; ".join(f"{layer.name}: {layer.detail}" for layer in missing)
            raise SandboxUnavailableError(
                f"mode='sandbox' refuses to run without every layer; missing {summary}"
            )
    return layers


class _StepClock:
    """A step's time limit, kept as the deadline of its cancel scope. It stops while tool calls are in
    flight: time spent in tools is the tools' (they have their own timeouts)."""

    def __init__(self, scope: anyio.CancelScope, limit: float) -> None:
        self.scope = scope
        self.left = limit
        self.in_flight = 0
        scope.deadline = anyio.current_time() + limit

    def pause(self) -> None:
        if self.in_flight == 0:
            self.left = self.scope.deadline - anyio.current_time()
            self.scope.deadline = math.inf
        self.in_flight += 1

    def resume(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.scope.deadline = anyio.current_time() + self.left


def python_name(tool_name: str) -> str:
    """The name a tool has in code: `get-sum` becomes `get_sum`, `import` becomes `import_`."""
    name = "".join(char if f"_{char}".isidentifier() else "_" for char in tool_name)
    if not name.isidentifier():
        name = f"tool_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def to_json(value: Any) -> Any:
    """A tool's result as JSON data for the worker: content objects become dicts, bytes base64."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__.lower(), **fields}
    return str(value)


def _step_result(done: Mapping[str, Any], calls: int) -> StepResult:
    final = done.get("final")
    return StepResult(
        stdout=str(done.get("stdout", "")),
        stderr=str(done.get("stderr", "")),
        value=done.get("value"),
        final_answer=final.get("value") if isinstance(final, dict) else None,
        has_final_answer=isinstance(final, dict),
        final_answer_note=final.get("note") if isinstance(final, dict) else None,
        error=done.get("error"),
        tool_calls=calls,
    )


def _runs_folder() -> Path:
    """Where default workdirs are made: one folder per host process (sandbox mode binds it once)."""
    global _runs
    if _runs is None:
        _runs = Path(tempfile.mkdtemp(prefix="mcpagents-runs-"))
        atexit.register(_remove_tree, _runs)
    return _runs


_runs: Path | None = None


def _worker_environment(workdir: Path) -> dict[str, str]:
    """Never the host's environment (it holds API keys): only what Python and numeric libraries need."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
