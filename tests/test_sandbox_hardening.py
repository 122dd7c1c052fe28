"""The code executor against a worker that attacks its host: other processes, the zygote, file
metadata, the host's waiting, the step's limits, threads, sizes and forged frames.

As in test_sandbox_escapes.py, the lint is off and every import is authorised: what stops an
attempt is the worker's confinement and the host's checks, not a list of bad words.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcpagents import ToolCollection, tool
from mcpagents.sandbox import executor as executor_module
from mcpagents.sandbox.executor import MAX_CALLS_IN_FLIGHT, PythonExecutor
from mcpagents.sandbox.interface import ExecutorOptions

pytestmark = pytest.mark.anyio

MODES = ["local", "sandbox"]
in_flight = {"now": 0, "most": 0}

FIND_CHANNEL = """
import os, stat
channel = next(fd for fd in range(3, 256) if _is_socket(fd))
"""
IS_SOCKET = """
def _is_socket(fd):
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False
"""


def frame_code(message: str) -> str:
    """Code that writes the dict `message` (Python source) on the worker's channel as a frame."""
    return (
        f"import json, struct\nbody = json.dumps({message}).encode()\n"
        "os.write(channel, struct.pack('>I', len(body)) + body)\n"
    )


def frame(message: dict[str, object]) -> str:
    return frame_code(repr(message))


@tool
def echo(text: str) -> str:
    """Echo a text."""
    return text


@tool
async def nap(seconds: float) -> str:
    """Sleep, then answer."""
    await anyio.sleep(seconds)
    return "rested"


@tool
async def counted(index: int) -> int:
    """Return `index`, counting how many calls are in flight together."""
    in_flight["now"] += 1
    in_flight["most"] = max(in_flight["most"], in_flight["now"])
    await anyio.sleep(0.01)
    in_flight["now"] -= 1
    return index


def executor_for(
    tools: ToolCollection | None = None,
    *,
    workdir: Path | None = None,
    read_paths: Sequence[str] = (),
    **options: Any,
) -> PythonExecutor:
    """An executor with every import allowed and no lint: only the boundary stops the code."""
    return PythonExecutor(
        tools or [],
        ExecutorOptions(authorized_imports=("*",), **options),
        workdir=workdir,
        read_paths=read_paths,
        check_code=False,
    )


@pytest.fixture
async def tools() -> AsyncIterator[ToolCollection]:
    async with ToolCollection.from_mcp([echo, nap, counted]) as collection:
        yield collection


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """Another process, in a process group of its own and, when the tests run as root, of a user of
    its own: what an attempt on everyone's processes would reach if it got through."""
    process = subprocess.Popen(
        ["sleep", "120"], start_new_session=True, user=65534 if os.getuid() == 0 else None
    )
    yield process
    process.kill()
    process.wait()


def thread_states(pid: int) -> set[str]:
    return {
        (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        for task in Path(f"/proc/{pid}/task").iterdir()
    }


def parent_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no PPid for {pid}")


# -- 1, 2: other processes, the host and the zygote --------------------------------------------------

TRYING = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
def tried(attempt):
    try:
        attempt()
        return "DONE"
    except OSError as error:
        return error.errno
    except ValueError:  # what resource says of EPERM
        return 1
def syscall(*arguments):
    if libc.syscall(*arguments) < 0:
        raise OSError(ctypes.get_errno(), "refused")
"""
"""What the attempts below share: `tried(...)` is "DONE" or the errno; `syscall(...)` raises OSError."""

ATTEMPTS = (
    TRYING
    + """
import resource
results = {}
for name, pid in {"victim": VICTIM, "zygote": os.getppid()}.items():
    results[name] = [
        tried(lambda: resource.prlimit(pid, resource.RLIMIT_CPU, (1, 1))),
        tried(lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE, (3, 3))),
        tried(lambda: resource.prlimit(pid, resource.RLIMIT_AS)),
        tried(lambda: os.setpriority(os.PRIO_PROCESS, pid, 19)),
        tried(lambda: os.getpriority(os.PRIO_PROCESS, pid)),
        tried(lambda: os.sched_setaffinity(pid, {0})),
        tried(lambda: os.sched_getaffinity(pid)),
        tried(lambda: os.sched_setscheduler(pid, os.SCHED_BATCH, os.sched_param(0))),
        tried(lambda: syscall(251, 1, pid, (3 << 13) | 7)),  # ioprio_set(IOPRIO_WHO_PROCESS, pid, idle)
        tried(lambda: syscall(434, pid, 0)),  # pidfd_open
        tried(lambda: syscall(312, os.getpid(), pid, 0, 0, 0)),  # kcmp
    ]
results["everyone"] = [
    tried(lambda: os.setpriority(os.PRIO_USER, VICTIM_USER, 19)),
    tried(lambda: os.setpriority(os.PRIO_PGRP, VICTIM, 19)),
    tried(lambda: syscall(251, 3, VICTIM_USER, (3 << 13) | 7)),  # ioprio_set(IOPRIO_WHO_USER)
    tried(lambda: syscall(251, 2, VICTIM, (3 << 13) | 7)),  # ioprio_set(IOPRIO_WHO_PGRP)
    tried(lambda: syscall(440, 0, 0, 0, 0, 0)),  # process_madvise
]
results["privileges"] = [
    tried(lambda: os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))),  # a real-time spin
    tried(lambda: os.setpriority(os.PRIO_PROCESS, 0, -20)),
    tried(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1 << 20, 1 << 20))),
]
results["itself"] = [
    tried(lambda: resource.prlimit(0, resource.RLIMIT_NOFILE)),
    tried(lambda: os.sched_getaffinity(0)),
    tried(lambda: os.setpriority(os.PRIO_PROCESS, 0, 19)),
]
print(json.dumps(results))
"""
)


@pytest.mark.parametrize("mode", MODES)
async def test_code_can_act_on_no_process_but_its_own(mode: str, victim: subprocess.Popen[bytes]) -> None:
    limits_before = Path(f"/proc/{victim.pid}/limits").read_text()
    nice_before = os.getpriority(os.PRIO_PROCESS, victim.pid)
    async with executor_for(mode=mode) as executor:
        attempts = ATTEMPTS.replace("VICTIM_USER", str(Path(f"/proc/{victim.pid}").stat().st_uid))
        result = await executor.run(attempts.replace("VICTIM", str(victim.pid)))
        assert result.error is None, result.error
        results = json.loads(result.stdout)
        for target in ("victim", "zygote", "everyone"):
            assert all(outcome in (1, 3) for outcome in results[target]), (
                target,
                results[target],
            )  # EPERM, ESRCH
        assert results["itself"] == ["DONE"] * 3
        assert (await executor.run("final_answer(6 * 7)")).final_answer == 42, "the zygote still forks"
    assert Path(f"/proc/{victim.pid}/limits").read_text() == limits_before
    assert os.getpriority(os.PRIO_PROCESS, victim.pid) == nice_before
    assert victim.poll() is None


def spare_of(worker: int) -> int:
    """The child the worker's zygote forked ahead for the next run: the one forked after the worker
    (the zygote may still hold earlier runs' workers, frozen, on their way out). Waited for: it is
    forked just after the worker is handed its run."""
    zygote = parent_of(worker)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = [
            int(pid)
            for task in Path(f"/proc/{zygote}/task").iterdir()
            for pid in (task / "children").read_text().split()
        ]
        if later := [pid for pid in children if started_at(pid) > started_at(worker)]:
            return max(later, key=started_at)
        time.sleep(0.01)
    raise AssertionError(f"the zygote {zygote} forked no spare")


def started_at(pid: int) -> tuple[int, int]:
    """When `pid` started, in clock ticks since boot (its pid breaks a tie: pids grow)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]), pid


def pid_inside(pid: int) -> int:
    """`pid` as its own PID namespace numbers it (the sandbox's, in sandbox mode)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    return pid


@pytest.mark.parametrize("mode", MODES)
async def test_code_cannot_reach_the_worker_forked_for_the_next_run(mode: str) -> None:
    async with executor_for(mode=mode) as executor:
        assert executor.pid is not None
        spare = spare_of(executor.pid)
        attempts = (
            TRYING
            + f"""
import resource, signal
pid = {pid_inside(spare)}
print(json.dumps([
    tried(lambda: os.kill(pid, signal.SIGKILL)),
    tried(lambda: os.kill(pid, signal.SIGSTOP)),
    tried(lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE, (3, 3))),
    tried(lambda: os.setpriority(os.PRIO_PROCESS, pid, 19)),
    tried(lambda: syscall(434, pid, 0)),  # pidfd_open
]))
"""
        )
        result = await executor.run(attempts)
        assert result.error is None, result.error
        assert all(outcome in (1, 3) for outcome in json.loads(result.stdout)), result.stdout  # EPERM, ESRCH
    assert thread_states(spare) <= {"R", "S"}, "the spare, not stopped, still sets up or waits for its run"
    async with executor_for(mode=mode) as second:
        assert second.pid == spare, "the next run took it"
        assert (await second.run("final_answer(6 * 7)")).final_answer == 42


async def test_a_crippled_zygote_is_replaced() -> None:
    async with executor_for() as first:
        assert first.pid is not None
        zygote = parent_of(first.pid)
    resource.prlimit(zygote, resource.RLIMIT_NOFILE, (3, 3))  # what a run could do before the fix
    async with executor_for() as second:
        assert (await second.run("final_answer('forked')")).final_answer == "forked"
        assert second.pid is not None
        assert parent_of(second.pid) != zygote


async def test_a_zygote_that_stops_answering_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor_module, "_FORK_TIMEOUT", 0.5)
    async with executor_for() as first:
        assert first.pid is not None
        zygote = parent_of(first.pid)
    os.kill(zygote, 19)  # SIGSTOP
    try:
        async with executor_for() as second:
            assert second.pid is not None and parent_of(second.pid) != zygote
            assert (await second.run("1 + 1")).value == "2"
    finally:
        with suppress(ProcessLookupError):  # killed when it was retired
            os.kill(zygote, 9)


# -- 3: metadata outside the scratch folder ---------------------------------------------------------

METADATA = (
    TRYING
    + """
import fcntl, struct
target = TARGET
descriptor = os.open(target, os.O_RDONLY)
results = [
    tried(lambda: os.chmod(target, 0o777)),
    tried(lambda: os.fchmod(descriptor, 0o777)),
    tried(lambda: os.utime(target, (0, 0))),
    tried(lambda: os.utime(descriptor, (0, 0))),
    tried(lambda: os.setxattr(target, "user.planted", b"1")),
    tried(lambda: os.setxattr(descriptor, "user.planted", b"1")),
    tried(lambda: os.removexattr(target, "user.kept")),
    tried(lambda: os.chown(target, 1, 1)),
    tried(lambda: os.fchown(descriptor, 1, 1)),
    tried(lambda: fcntl.ioctl(descriptor, 0x40086602, struct.pack("l", 0x80))),  # FS_IOC_SETFLAGS
    tried(lambda: os.mknod("disk", 0o600 | 0o060000, os.makedev(8, 0))),
    tried(lambda: os.memfd_create("outside-the-rlimits")),
]
# fsopen, open_tree, syslog(READ_ALL), sethostname
for arguments in ((430, b"tmpfs", 0), (428, -100, b"/", 1), (103, 3, 0, 0), (170, b"x", 1)):
    results.append(tried(lambda: syscall(*arguments)))
print(json.dumps(results))
"""
)


@pytest.mark.parametrize("mode", MODES)
async def test_code_cannot_change_metadata_outside_the_scratch_folder(mode: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "notes.txt"
    target.write_text("keep me")
    target.chmod(0o644)
    os.setxattr(target, "user.kept", b"yes")
    before = target.stat()
    async with executor_for(mode=mode, read_paths=[str(outside)]) as executor:
        result = await executor.run(METADATA.replace("TARGET", repr(str(target))))
    assert result.error is None, result.error
    outcomes = json.loads(result.stdout)
    assert "DONE" not in outcomes, outcomes
    after = target.stat()
    assert (stat.S_IMODE(after.st_mode), after.st_mtime_ns, after.st_uid) == (
        0o644,
        before.st_mtime_ns,
        before.st_uid,
    )
    assert os.listxattr(target) == ["user.kept"]


# -- 4: a worker that closes its channel and lingers -------------------------------------------------


async def test_a_worker_that_closes_its_channel_and_lingers_is_replaced() -> None:
    async with executor_for(step_timeout=30) as executor:
        await executor.run("kept = 1")
        result = await executor.run(
            f"{IS_SOCKET}{FIND_CHANNEL}os.close(channel)\nimport time\ntime.sleep(60)"
        )
        assert result.state_reset
        assert result.error is not None and result.error.startswith(
            "the Python worker closed its channel and was stopped. The worker was restarted"
        )
        assert (await executor.run("2 + 2")).value == "4"


async def test_closing_an_executor_mid_step_raises_only_the_cancellation() -> None:
    async with executor_for() as executor:
        with anyio.move_on_after(0.5):
            await executor.run(f"{IS_SOCKET}{FIND_CHANNEL}os.close(channel)\nimport time\ntime.sleep(60)")
    assert executor.pid is None


# -- 5: the step's clocks ---------------------------------------------------------------------------


async def test_threads_left_running_are_frozen_between_steps() -> None:
    async with executor_for() as executor:
        result = await executor.run(
            "import threading\nthreading.Thread(target=lambda: [0 for _ in iter(int, 1)]).start()"
        )
        assert result.error is None
        pid = executor.pid
        assert pid is not None
        with anyio.fail_after(5):  # a signal takes effect when each thread next runs
            while thread_states(pid) != {"T"}:  # noqa: ASYNC110 (nothing to wait on but /proc)
                await anyio.sleep(0.01)
        assert (await executor.run("threading.active_count()")).value == "2"


async def test_a_tool_call_in_flight_does_not_free_the_code_from_its_cpu_limit(tools: ToolCollection) -> None:
    code = "import threading\nthreading.Thread(target=nap, args=(30,)).start()\nwhile True:\n    pass"
    async with executor_for(tools, step_timeout=1) as executor:
        started = time.monotonic()
        result = await executor.run(code)
        elapsed = time.monotonic() - started
        assert result.state_reset and result.error is not None
        assert result.error.startswith("your code used more than 1 s of CPU time (all its threads together)")
        assert elapsed < 5
        assert (await executor.run("final_answer(echo('after'))")).final_answer == "after"


async def test_tool_calls_in_flight_do_not_stretch_a_step_forever(tools: ToolCollection) -> None:
    code = "import threading, time\nthreading.Thread(target=nap, args=(30,)).start()\ntime.sleep(30)"
    async with executor_for(tools, step_timeout=5, tool_wait_limit=1) as executor:
        started = time.monotonic()
        result = await executor.run(code)
        assert time.monotonic() - started < 5
        assert result.error is not None
        assert result.error.startswith("your code waited for tool calls longer than the 1 s limit")


# -- 6: tool calls from several threads --------------------------------------------------------------


async def test_tool_calls_from_several_threads(tools: ToolCollection) -> None:
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "with ThreadPoolExecutor(4) as pool:\n"
        "    echoed = list(pool.map(lambda i: echo(str(i)), range(40)))\n"
        "final_answer(echoed)"
    )
    async with executor_for(tools, step_timeout=10) as executor:
        result = await executor.run(code)
    assert result.error is None, result.error
    assert result.final_answer == [str(i) for i in range(40)]


# -- 7: caps -----------------------------------------------------------------------------------------


async def test_error_text_is_capped() -> None:
    async with executor_for(output_limit=1000) as executor:
        for size in (5_000_000, 20_000_000):
            result = await executor.run(f"raise ValueError('x' * {size})")
            assert not result.state_reset, result.error
            assert result.error is not None and len(result.error) < 1200
            assert "[truncated:" in result.error
        assert (await executor.run("3 * 3")).value == "9"


async def test_a_final_answer_too_large_to_send_is_an_error() -> None:
    async with executor_for() as executor:
        result = await executor.run("final_answer('x' * 20_000_000)")
        assert not result.has_final_answer and not result.state_reset
        assert result.error is not None and result.error.startswith("the final answer is too large to send")


async def test_tool_calls_are_capped_in_size_and_in_number(tools: ToolCollection) -> None:
    in_flight["most"] = 0
    async with executor_for(tools, step_timeout=20) as executor:
        big = await executor.run("echo('x' * 5_000_000)")
        assert big.error is not None and "a tool call carries at most 4,194,304" in big.error
        forged = await executor.run(
            IS_SOCKET
            + FIND_CHANNEL
            + frame(
                {"type": "call", "step": 0, "id": 1, "tool": "echo", "arguments": {"text": "x" * 5_000_000}}
            )
            + "'sent'"
        )
        assert forged.value == "'sent'"
        many = await executor.run("final_answer(map_tool(counted, [{'index': i} for i in range(200)]))")
    assert many.final_answer == list(range(200))
    assert 1 < in_flight["most"] <= MAX_CALLS_IN_FLIGHT


async def test_the_scratch_folder_is_capped_as_a_whole(tmp_path: Path) -> None:
    async with executor_for(workdir=tmp_path, file_mb=4, disk_mb=8, max_files=50) as executor:
        result = await executor.run(
            "import time\nfor i in range(10):\n"
            "    open(f'part{i}.bin', 'wb').write(b'1' * (4 * 1024 * 1024 - 1))\ntime.sleep(30)"
        )
        assert result.state_reset and result.error is not None
        assert result.error.startswith("your code filled the scratch folder past its limit")
        cleaned = await executor.run(
            "import glob, os, time\nfor name in glob.glob('part*'):\n    os.remove(name)\n"
            "time.sleep(0.5)\n'ok'"
        )
        assert cleaned.value == "'ok'", "a folder over its limit may shrink"
        many = await executor.run("for i in range(500):\n    open(f'empty{i}', 'w').close()\ntime.sleep(30)")
        assert many.error is not None and many.error.startswith(
            "your code created too many files in the scratch folder"
        )


# -- 8: forged frames --------------------------------------------------------------------------------


async def test_a_frame_the_host_cannot_read_replaces_the_worker_and_nothing_else() -> None:
    nested = "'[' * 100_000 + ']' * 100_000"
    code = (
        f"{IS_SOCKET}{FIND_CHANNEL}import struct\nbody = ({nested}).encode()\n"
        "os.write(channel, struct.pack('>I', len(body)) + body)\nimport time\ntime.sleep(30)"
    )
    async with executor_for() as executor:
        result = await executor.run(code)
        assert result.state_reset and result.error is not None
        assert result.error.startswith("the Python worker broke the protocol")
        assert (await executor.run("5 * 5")).value == "25"


FORGED_DONE = {"type": "done", "final": {"value": "forged", "note": None}, "value": None, "error": None,
               "stdout": "forged", "stderr": ""}  # fmt: skip


async def test_forged_done_frames_never_answer_another_step() -> None:
    worker_step = "{**" + repr(FORGED_DONE) + ", 'step': worker.step}"
    this_step = (
        "import gc\nworker = next(o for o in gc.get_objects() if type(o).__name__ == 'Worker')\n"
        + frame_code(worker_step)
    )
    guesses = "".join(frame({**FORGED_DONE, "step": guess}) for guess in range(6))
    async with executor_for() as executor:
        forged = await executor.run(IS_SOCKET + FIND_CHANNEL + this_step + guesses)
        assert forged.final_answer == "forged", "the code may answer its own step as it likes"
        for expected in (2, 3, 4):
            result = await executor.run(f"final_answer({expected})")
            assert (result.final_answer, result.stdout) == (expected, "")
