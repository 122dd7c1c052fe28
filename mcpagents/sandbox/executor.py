"""PythonExecutor: the host side of the code executor.

One confined worker process per executor (per agent run) keeps variables between steps. Each
step is linted in the host, sent to the worker, and watched: the worker's tool calls are checked
and performed here (concurrently), the step's wall-clock limit is enforced by killing the worker's
process group, and a worker that dies or overruns is replaced (the model is told its variables
were lost). The executor does not know MCP: a tool is anything with `name`, `description`,
`input_schema` and `async acall_with(arguments)`.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import math
import os
import signal
import site
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

import mcpagents
from mcpagents.errors import SandboxUnavailableError
from mcpagents.runtime import spawn_detached
from mcpagents.sandbox import protocol
from mcpagents.sandbox.bubblewrap import bwrap_command
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
    process: anyio.abc.Process
    stream: anyio.abc.SocketStream
    reader: BufferedByteReceiveStream
    events: anyio.abc.ObjectReceiveStream[tuple[str, Any]]
    post: anyio.abc.ObjectSendStream[tuple[str, Any]]
    send_lock: anyio.Lock = field(default_factory=anyio.Lock)

    async def send(self, message: dict[str, Any]) -> None:
        data = protocol.encode(message)
        async with self.send_lock:
            await self.stream.send(data)


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
            self.workdir = Path(tempfile.mkdtemp(prefix="mcpagents-run-"))
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
        result = await self._step(worker, code)
        result.duration = time.monotonic() - started
        return result

    async def _step(self, worker: _Worker, code: str) -> StepResult:
        try:
            await worker.send({"type": "run", "code": code})
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return await self._replace(worker, "the Python worker had stopped before the step")
        async with anyio.create_task_group() as tool_calls:
            kind, payload, calls = await self._watch(worker, tool_calls)
            tool_calls.cancel_scope.cancel()
        if kind == "done":
            return _step_result(payload, calls)
        if kind == "timeout":
            return await self._replace(
                worker, f"your code ran longer than the {self.step_timeout:g} s limit and was stopped"
            )
        if kind == "frame":
            return await self._replace(worker, "the Python worker broke the protocol")
        return await self._replace(worker, f"the Python worker {await self._exit_reason(worker)}")

    async def _watch(self, worker: _Worker, tool_calls: anyio.abc.TaskGroup) -> tuple[str, Any, int]:
        """Serve the step's tool calls until the worker is done, dies, or runs out of time."""
        clock = _StepClock(self.step_timeout)
        calls = 0
        while True:
            event: tuple[str, Any] | None = None
            with anyio.move_on_after(clock.remaining()):
                event = await worker.events.receive()
            if event is None:
                return "timeout", None, calls
            kind, payload = event
            if kind == "call_done":
                clock.resume()
            elif kind == "frame" and payload.get("type") == "call":
                clock.pause()
                calls += 1
                tool_calls.start_soon(self._perform, worker, payload)
            elif kind == "frame" and payload.get("type") == "done":
                return "done", payload, calls
            else:
                return kind, payload, calls

    async def _perform(self, worker: _Worker, call: dict[str, Any]) -> None:
        """One tool call the worker asked for: check it, perform it here, send the result back."""
        call_id = call.get("id")
        tool = self.tools.get(python_name(str(call.get("tool", ""))))
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
        try:
            await worker.send(reply)
        except protocol.ProtocolError as error:
            await worker.send(
                {"type": "result", "id": call_id, "ok": False, "error": f"result too large: {error}"}
            )
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the worker is gone; the step loop hears it from the reader
        finally:
            with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await worker.post.send(("call_done", call_id))

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
        host_end, worker_end = socket.socketpair()
        command = [sys.executable, "-I", "-B", "-m", "mcpagents.sandbox.worker", str(worker_end.fileno())]
        environment = _worker_environment(self.workdir)
        read_paths = self._read_paths()
        if self.mode == "sandbox":
            command = bwrap_command(
                command, read_paths=read_paths, workdir=str(self.workdir), environment=environment
            )
        try:
            process = await anyio.open_process(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=self.workdir,
                env=environment,
                start_new_session=True,
                pass_fds=[worker_end.fileno()],
            )
        finally:
            worker_end.close()
        stream = await anyio.abc.UNIXSocketStream.from_socket(host_end)
        post, events = anyio.create_memory_object_stream[tuple[str, Any]](math.inf)
        worker = _Worker(process, stream, BufferedByteReceiveStream(stream), events, post)
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
            "preimport": [m for m in self.authorized_imports if m.split(".")[0] in _HEAVY_MODULES],
            "limits": self.limits,
            "read_paths": read_paths,
            "write_paths": [str(self.workdir)],
            "output_limit": self.output_limit,
        }
        await worker.send(setup)
        spawn_detached(self._read(worker))
        with anyio.move_on_after(_READY_TIMEOUT):
            kind, ready = await events.receive()
            if kind == "frame" and ready.get("type") == "ready":
                self._check_layers(ready.get("layers") or {})
                return worker
        reason = await self._exit_reason(worker)
        await self._kill(worker)
        raise SandboxUnavailableError(f"the Python worker did not start: it {reason}")

    async def _read(self, worker: _Worker) -> None:
        """Frames from the worker, for as long as it lives; then one `dead` event."""
        try:
            while True:
                header = await worker.reader.receive_exactly(protocol.HEADER.size)
                body = await worker.reader.receive_exactly(protocol.frame_length(header))
                await worker.post.send(("frame", protocol.decode(body)))
        except (
            anyio.IncompleteRead,
            anyio.EndOfStream,
            anyio.ClosedResourceError,
            anyio.BrokenResourceError,
            OSError,
        ):
            pass
        except protocol.ProtocolError as error:
            await worker.post.send(("frame", {"type": "protocol-error", "error": str(error)}))
            return
        with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await worker.post.send(("dead", None))

    def _check_layers(self, reported: Mapping[str, Any]) -> None:
        first = not self.layers
        self.layers = check_layers(reported, self.mode)
        missing = [layer for layer in self.layers if not layer.ok]
        if missing and first:
            summary = "; ".join(f"{layer.name}: {layer.detail}" for layer in missing)
            logger.warning("the code executor runs without some confinement layers: %s", summary)

    @property
    def pid(self) -> int | None:
        """The worker's process id (None before start)."""
        return self._worker.process.pid if self._worker is not None else None

    def _read_paths(self) -> list[str]:
        """What the worker may read: the Python installation and site-packages, mcpagents itself,
        the system's shared libraries, and what the user added."""
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        packages = [*site.getsitepackages(), str(Path(mcpagents.__file__).resolve().parent)]
        paths = [*sorted(prefixes), *packages, *_SYSTEM_READ_PATHS, *self.extra_read_paths]
        return [str(Path(path)) for path in dict.fromkeys(paths) if os.path.exists(path)]

    async def _kill(self, worker: _Worker) -> None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(worker.process.pid, signal.SIGKILL)
        with anyio.move_on_after(5), suppress(Exception):
            await worker.process.wait()
        await worker.stream.aclose()
        await worker.post.aclose()

    async def _exit_reason(self, worker: _Worker) -> str:
        with anyio.move_on_after(2):
            await worker.process.wait()
        code = worker.process.returncode
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
    """A step's time limit; it stops while tool calls are in flight (their time is the tools')."""

    def __init__(self, limit: float) -> None:
        self.left = limit
        self.since = time.monotonic()
        self.in_flight = 0

    def remaining(self) -> float:
        return math.inf if self.in_flight else max(self.left - (time.monotonic() - self.since), 0.0)

    def pause(self) -> None:
        if self.in_flight == 0:
            self.left -= time.monotonic() - self.since
        self.in_flight += 1

    def resume(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.since = time.monotonic()


def python_name(tool_name: str) -> str:
    """The name a tool has in code: `get-sum` becomes `get_sum`."""
    name = "".join(char if char.isalnum() or char == "_" else "_" for char in tool_name)
    return name if name.isidentifier() else f"tool_{name}"


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
