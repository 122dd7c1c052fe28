"""What a code executor is, whatever runs the code: its options (every default declared here, once),
the tools it is given, what a step returns, and the protocol a `CodeAgent` drives.

`PythonExecutor` is the one mcpagents ships; a container or remote executor plugs in by
implementing `CodeExecutor` (`CodeAgent(executor=MyExecutor)`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mcpagents.errors import ConfigError
from mcpagents.sandbox.lint import DEFAULT_AUTHORIZED_IMPORTS

ExecutorMode = Literal["local", "sandbox"]


@dataclass(frozen=True)
class ExecutorOptions:
    """How the code is confined and what it may spend."""

    mode: ExecutorMode = "local"
    """`local`: every confinement layer the kernel offers; `sandbox`: also bubblewrap, and none may
    be missing."""
    authorized_imports: tuple[str, ...] = DEFAULT_AUTHORIZED_IMPORTS
    """Modules the code may import, with their submodules (`"*"`: all); an advisory check."""
    step_timeout: float = 20.0
    """Seconds of its own time one step may take: wall time with no tool call in flight, and CPU
    time of all its threads."""
    tool_wait_limit: float = 600.0
    """Seconds one step may spend waiting for tool calls."""
    memory_mb: int = 1024
    """The worker's address-space limit."""
    file_mb: int = 64
    """The largest file the code may write."""
    disk_mb: int = 512
    """How much the scratch folder may grow over a run."""
    max_files: int = 10_000
    """How many files and folders the code may create over a run."""
    open_files: int = 256
    """Files the worker may hold open at once."""
    output_limit: int = 20_000
    """Characters of output (and of an error) a step keeps."""

    def __post_init__(self) -> None:
        if self.mode not in ("local", "sandbox"):
            raise ConfigError(f"mode must be 'local' or 'sandbox', not {self.mode!r}")
        object.__setattr__(self, "authorized_imports", tuple(self.authorized_imports))


class SandboxTool(Protocol):
    """What an executor needs of a tool (a `mcpagents.Tool` is one)."""

    name: str

    @property
    def description(self) -> str: ...

    @property
    def input_schema(self) -> dict[str, Any]: ...

    async def acall_with(self, arguments: Mapping[str, Any]) -> Any: ...


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
    """The executor lost the code's state during this step: variables, imports and definitions are gone."""
    tool_calls: int = 0
    duration: float = 0.0


class CodeExecutor(Protocol):
    """Runs a run's code, step by step, keeping its variables between steps; the code calls the
    tools it was given as Python functions."""

    async def start(self) -> None:
        """Be ready to run code (raise if it cannot be)."""

    async def run(self, code: str) -> StepResult:
        """Run one step of code."""

    async def define(self, **values: Any) -> None:
        """Set variables in the code's namespace (JSON data), as if a step had assigned them."""

    async def aclose(self) -> None:
        """Stop, and release what the executor holds."""


ExecutorFactory = Callable[[Sequence[SandboxTool], ExecutorOptions], CodeExecutor]
"""What `CodeAgent(executor=...)` takes: called once per run with the run's tools and the agent's
options (`PythonExecutor` is one)."""
