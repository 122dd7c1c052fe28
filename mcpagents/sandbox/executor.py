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
import keyword
import logging
import os
import secrets
import shutil
import signal
import site
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio
import anyio.abc

from mcpagents.errors import ConfigError, SandboxUnavailableError
from mcpagents.json_data import to_json
from mcpagents.sandbox import protocol
from mcpagents.sandbox.channel import FrameChannel, WorkerGone, open_channel
from mcpagents.sandbox.interface import ExecutorMode, ExecutorOptions, SandboxTool, StepResult
from mcpagents.sandbox.launcher import ZygoteDied, ZygoteProcess, retire, zygote_for
from mcpagents.sandbox.limits import ScratchQuota, StepWatch
from mcpagents.sandbox.lint import lint
from mcpagents.sandbox.worker_process import WorkerProcess

logger = logging.getLogger("mcpagents")

LAYERS = ("process", "rlimits", "landlock", "seccomp")
_READY_TIMEOUT = 60.0
"""How long a worker may take to be ready, and a zygote to import heavy modules and fork."""
_FORK_TIMEOUT = 10.0
"""How long a zygote may take to answer a fork with nothing to import: past it, it is replaced."""
MAX_CALLS_IN_FLIGHT = 16
_BYTES_IN_FLIGHT = 16 << 20
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
_PACKAGE = Path(__file__).resolve().parents[1]
"""mcpagents itself, which the worker imports (from a checkout, not under site-packages)."""
_HEAVY_MODULES = frozenset({"numpy", "pandas", "scipy", "sklearn", "matplotlib", "PIL", "sympy"})


@dataclass(frozen=True)
class Layer:
    """One confinement layer as the worker reported it."""

    name: str
    ok: bool
    detail: str


@dataclass
class _Worker:
    process: WorkerProcess
    channel: FrameChannel


class PythonExecutor:
    """Runs model-written Python in a confined worker process, tools proxied back to the host.

    `mode="local"` applies every layer the kernel offers (process, rlimits, Landlock, seccomp) and
    warns naming any that is missing; `mode="sandbox"` also runs the worker inside bubblewrap and
    refuses to start when any layer is missing. `step_timeout` bounds the code's own time in one step:
    its wall time while no tool call is in flight, and its CPU time (all threads); `tool_wait_limit`
    bounds the step's time waiting for tool calls, of which at most `MAX_CALLS_IN_FLIGHT` run at once.
    `memory_mb`, `file_mb` and `open_files` are the worker's rlimits; the scratch folder may grow by
    `disk_mb` and `max_files` over the run; `output_limit` caps what a step's stdout, stderr and error
    keep (in characters). Between steps the worker is frozen (once idle for 50 ms): threads the code
    left running do nothing until the next step, whose limits they count against. Code may read the Python
    installation and read/write only `workdir` (a fresh temporary folder unless given). `check_code`
    runs the advisory lint in the host first (imports outside `authorized_imports`, dunder tricks,
    rebinding tool names), for clear errors to the model; the boundary is the worker's confinement,
    not the lint.
    """

    def __init__(
        self,
        tools: Iterable[SandboxTool] = (),
        options: ExecutorOptions | None = None,
        *,
        workdir: str | os.PathLike[str] | None = None,
        read_paths: Sequence[str] = (),
        check_code: bool = True,
    ) -> None:
        self.options = options = options or ExecutorOptions()
        self.tools = {python_name(tool.name): tool for tool in tools}
        self._by_name = {tool.name: tool for tool in self.tools.values()}
        self.limits = {
            "memory_bytes": options.memory_mb << 20,
            "file_bytes": options.file_mb << 20,
            "open_files": options.open_files,
        }
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else None
        self.extra_read_paths = tuple(read_paths)
        self.check_code = check_code
        self.layers: list[Layer] = []
        self._worker: _Worker | None = None
        self._scratch: ScratchQuota | None = None
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
        if self._scratch is None:
            self._scratch = ScratchQuota(self.workdir, self.options.disk_mb << 20, self.options.max_files)
        if self._worker is None:
            self._worker = await self._spawn()

    async def aclose(self) -> None:
        self._closed = True
        if self._worker is not None:
            with anyio.CancelScope(shield=True):
                await self._kill(self._worker)
            self._worker = None
        if self._own_workdir and self.workdir is not None:
            await anyio.to_thread.run_sync(_remove_tree, self.workdir)
            self.workdir = None

    # -- steps ------------------------------------------------------------------------------------

    async def run(self, code: str) -> StepResult:
        """Run one step of code in the worker and report what it did."""
        problems = self.check_code and lint(code, self.options.authorized_imports, [*self.tools, *_HELPERS])
        if problems:
            return StepResult(error="\n".join(problems))
        await self.start()
        assert self._worker is not None
        worker = self._worker
        started = time.monotonic()
        try:
            result = await self._step(worker, {"type": "run", "code": code})
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
        result = await self._step(self._worker, {"type": "define", "values": to_json(values)})
        if result.error is not None:
            raise ConfigError(f"could not define {sorted(values)}: {result.error}")

    async def _step(self, worker: _Worker, request: dict[str, Any]) -> StepResult:
        # A step is named by a number the code cannot guess before the step starts: a frame forged
        # for a later step, or left over from an earlier one, is never taken for this step's.
        request["step"] = secrets.randbits(62)
        tool_calls: set[asyncio.Task[None]] = set()  # plain tasks: most steps call no tool at all
        worker.process.resume()
        try:
            outcome, message, calls, exceeded = await self._serve(worker, request, tool_calls)
        finally:
            for task in tool_calls:
                task.cancel()
        if outcome == "done" and exceeded is None:
            worker.process.pause_soon()  # threads the code left running wait for the next step
            return _step_result(message, calls, self.options.output_limit)
        if exceeded is not None:
            return await self._replace(worker, f"{exceeded} and was stopped")
        if outcome == "timeout":
            return await self._replace(
                worker, f"your code ran longer than the {self.options.step_timeout:g} s limit and was stopped"
            )
        if outcome == "gone":
            return await self._replace(worker, f"the Python worker {await self._exit_reason(worker)}")
        return await self._replace(worker, "the Python worker broke the protocol")

    async def _serve(
        self, worker: _Worker, request: dict[str, Any], tool_calls: set[asyncio.Task[None]]
    ) -> tuple[str, dict[str, Any], int, str | None]:
        """Send the step, then perform its tool calls until the worker is done, dies or overruns."""
        outcome, calls = "done", 0
        message: dict[str, Any] = {}
        gate = _CallGate()
        with anyio.CancelScope() as limit:
            watch = StepWatch(
                limit,
                self.options.step_timeout,
                self.options.tool_wait_limit,
                worker.process.cpu_seconds,
                self._scratch,
            )
            try:
                worker.channel.send(request)
                while True:
                    message, size = await worker.channel.receive()
                    kind = message.get("type")
                    if kind == "done" and message.get("step") == request["step"]:
                        break
                    if kind == "done":
                        continue  # a late or forged answer to another step
                    if kind != "call":
                        outcome = "garbage"
                        break
                    if message.get("step") != request["step"] or size > protocol.MAX_CALL_BYTES:
                        _refuse(worker, message, size)
                        continue
                    await gate.enter(size)
                    calls += 1
                    watch.pause()
                    task = asyncio.get_running_loop().create_task(
                        self._perform(worker, message, watch, gate, size)
                    )
                    tool_calls.add(task)
                    task.add_done_callback(tool_calls.discard)
            except WorkerGone:
                outcome = "gone"
            except protocol.ProtocolError:
                outcome = "garbage"
            finally:
                scratch_due = watch.stop()
        if limit.cancelled_caught:
            outcome = "timeout"
        if scratch_due:
            await watch.check_scratch()
        return outcome, message, calls, watch.exceeded

    async def _perform(
        self, worker: _Worker, call: dict[str, Any], watch: StepWatch, gate: _CallGate, size: int
    ) -> None:
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
        except asyncio.CancelledError:
            reply |= {"ok": False, "error": "the step ended before this tool call finished"}
            _send(worker, reply)
            raise
        except Exception as error:
            reply |= {"ok": False, "error": str(error) or type(error).__name__}
        finally:
            gate.leave(size)
            watch.resume()
        _send(worker, reply)

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
        """A ready worker. A zygote that cannot fork, stops answering or forks a worker that dies
        before it is ready is replaced, and the worker asked for again once."""
        failure: BaseException | None = None
        for _ in range(2):
            try:
                return await self._spawn_once()
            except _ZygoteFailed as error:
                retire(error.zygote)
                failure = error.__cause__ or error
        raise SandboxUnavailableError(f"the Python worker could not be started: {failure}") from failure

    async def _spawn_once(self) -> _Worker:
        assert self.workdir is not None
        environment = _worker_environment(self.workdir)
        read_paths = self._read_paths()
        preimport = [m for m in self.options.authorized_imports if m.split(".")[0] in _HEAVY_MODULES]
        root = self._sandbox_root()
        zygote = zygote_for(self.options.mode, root, _worker_environment(root), read_paths)
        waited = _FORK_TIMEOUT if zygote.imported.issuperset(preimport) else _READY_TIMEOUT
        host_end, worker_end = socket.socketpair()
        try:
            forked = zygote.fork(
                worker_end, workdir=str(self.workdir), environment=environment, preimport=preimport
            )
            with anyio.fail_after(waited):
                process = WorkerProcess(await asyncio.wrap_future(forked), zygote)
        except (ZygoteDied, TimeoutError) as error:
            host_end.close()
            raise _ZygoteFailed(zygote) from error
        finally:
            worker_end.close()
        worker = _Worker(process, await open_channel(host_end))
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
            "output_limit": self.options.output_limit,
        }
        with anyio.move_on_after(_READY_TIMEOUT), suppress(WorkerGone, protocol.ProtocolError):
            worker.channel.send(setup)
            ready, _ = await worker.channel.receive()
            if ready.get("type") == "ready":
                self._check_layers(ready.get("layers") or {})
                process.pause_soon()
                return worker
        reason = await self._exit_reason(worker)
        await self._kill(worker)
        raise _ZygoteFailed(zygote) from SandboxUnavailableError(
            f"the Python worker did not start: it {reason}"
        )

    def _sandbox_root(self) -> Path:
        """The folder a sandbox-mode zygote binds read-write: the workdir given, else the shared base."""
        assert self.workdir is not None
        return self.workdir if not self._own_workdir else self.workdir.parent

    def _check_layers(self, reported: Mapping[str, Any]) -> None:
        first = not self.layers
        self.layers = check_layers(reported, self.options.mode)
        missing = [layer for layer in self.layers if not layer.ok]
        if missing and first:
            summary = "; ".join(f"{layer.name}: {layer.detail}" for layer in missing)
            logger.warning("the code executor runs without some confinement layers: %s", summary)

    @property
    def pid(self) -> int | None:
        """The worker's process id (None before start), as this process sees it."""
        return self._worker.process.host_pid if self._worker is not None else None

    def _read_paths(self) -> list[str]:
        """What the worker may read: the Python installation and site-packages, mcpagents itself,
        the system's shared libraries, and what the user added."""
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        packages = [*site.getsitepackages(), str(_PACKAGE)]
        paths = [*sorted(prefixes), *packages, *_SYSTEM_READ_PATHS, *self.extra_read_paths]
        return [str(Path(path)) for path in dict.fromkeys(paths) if os.path.exists(path)]

    async def _kill(self, worker: _Worker) -> None:
        await worker.process.kill()
        worker.channel.close()

    async def _exit_reason(self, worker: _Worker) -> str:
        code = await worker.process.exit_code(2)
        if code is None:
            return "closed its channel and was stopped"
        if code < 0:
            with suppress(ValueError):
                return f"crashed ({signal.Signals(-code).name})"
        return f"exited with code {code}"


class _ZygoteFailed(Exception):
    """The zygote could not give a ready worker (its cause says why)."""

    def __init__(self, zygote: ZygoteProcess) -> None:
        super().__init__("the worker zygote failed")
        self.zygote = zygote


class _CallGate:
    """At most `MAX_CALLS_IN_FLIGHT` tool calls, and `_BYTES_IN_FLIGHT` of their arguments, at once;
    the step stops reading the worker's frames until there is room (the worker then blocks)."""

    def __init__(self) -> None:
        self.calls = 0
        self.bytes = 0
        self._room: asyncio.Event | None = None

    async def enter(self, size: int) -> None:
        while self.calls >= MAX_CALLS_IN_FLIGHT or (self.calls and self.bytes + size > _BYTES_IN_FLIGHT):
            self._room = asyncio.Event()
            await self._room.wait()
        self.calls += 1
        self.bytes += size

    def leave(self, size: int) -> None:
        self.calls -= 1
        self.bytes -= size
        if self._room is not None:
            self._room.set()


def _refuse(worker: _Worker, call: dict[str, Any], size: int) -> None:
    """Answer a call that will not be performed: too large, or made for a step that has ended."""
    if size > protocol.MAX_CALL_BYTES:
        error = f"the call is {size:,} bytes; a tool call carries at most {protocol.MAX_CALL_BYTES:,}"
    else:
        error = "the call was made after its step had ended"
    _send(worker, {"type": "result", "id": call.get("id"), "ok": False, "error": error})


def _send(worker: _Worker, reply: dict[str, Any]) -> None:
    with suppress(WorkerGone):  # the step loop hears it too
        try:
            worker.channel.send(reply)
        except protocol.ProtocolError as error:
            worker.channel.send(
                {"type": "result", "id": reply.get("id"), "ok": False, "error": f"result too large: {error}"}
            )


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


def python_name(tool_name: str) -> str:
    """The name a tool has in code: `get-sum` becomes `get_sum`, `import` becomes `import_`."""
    if tool_name.isidentifier() and not keyword.iskeyword(tool_name):
        return tool_name
    name = "".join(char if f"_{char}".isidentifier() else "_" for char in tool_name)
    if not name.isidentifier():
        name = f"tool_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def _step_result(done: Mapping[str, Any], calls: int, output_limit: int) -> StepResult:
    """The worker's report of a step, with every text capped here too: the worker is not trusted."""
    final = done.get("final")
    return StepResult(
        stdout=_text(done.get("stdout"), output_limit) or "",
        stderr=_text(done.get("stderr"), output_limit) or "",
        value=_text(done.get("value"), output_limit),
        final_answer=final.get("value") if isinstance(final, dict) else None,
        has_final_answer=isinstance(final, dict),
        final_answer_note=_text(final.get("note"), output_limit) if isinstance(final, dict) else None,
        error=_text(done.get("error"), output_limit),
        tool_calls=calls,
    )


def _text(value: Any, output_limit: int) -> str | None:
    if value is None:
        return None
    text = str(value)
    limit = output_limit + 100  # the worker's own truncation notice fits
    return (
        text if len(text) <= limit else text[:limit] + f"\n[truncated: {len(text) - limit} more characters]"
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
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():  # deeper than Python's recursion: rm walks any depth
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False, capture_output=True)
