"""The operating-system layers the worker puts itself under: rlimits, Landlock, seccomp.

Standard library only (plus the optional `pyseccomp`): this runs inside the worker, before any
model-written code. Each `apply_*` returns a one-line description of what it did, or raises
`LayerUnavailable` saying why it could not.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38


class LayerUnavailable(Exception):
    """The kernel or the system cannot provide this layer here."""


# -- rlimits ------------------------------------------------------------------------------------


def apply_rlimits(memory_bytes: int, file_bytes: int, open_files: int) -> str:
    """Address space, size of files written, open files; no core dumps; few queued signals (their
    count is the user's, shared with the agent's own processes)."""
    # A write past RLIMIT_FSIZE would otherwise kill the worker with SIGXFSZ; ignored, it fails with EFBIG.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limits = {
        resource.RLIMIT_AS: memory_bytes,
        resource.RLIMIT_FSIZE: file_bytes,
        resource.RLIMIT_NOFILE: open_files,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_SIGPENDING: 64,
    }
    for kind, limit in limits.items():
        resource.setrlimit(kind, (limit, limit))
    return f"memory {memory_bytes >> 20} MiB, files {file_bytes >> 20} MiB, {open_files} open files, no core"


# -- Landlock -------------------------------------------------------------------------------------

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FILE_ONLY = _EXECUTE | _WRITE_FILE | _READ_FILE | (1 << 14) | (1 << 15)  # + TRUNCATE, IOCTL_DEV
_READ = _EXECUTE | _READ_FILE | _READ_DIR
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: not available)."""
    version = _syscall(
        _SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)
    )
    return max(version, 0)


def apply_landlock(read_paths: Iterable[str], write_paths: Iterable[str]) -> str:
    """Files: read (and execute) only under `read_paths`, read and write only under `write_paths`.
    From ABI 4 no TCP bind or connect at all; from ABI 6 no signals to processes outside."""
    abi = landlock_abi()
    if abi < 1:
        raise LayerUnavailable("the kernel has no Landlock (Linux >= 5.13 with landlock in the LSM list)")
    handled_fs = (1 << 13) - 1  # ABI 1: bits 0-12
    handled_fs |= (1 << 13) if abi >= 2 else 0  # REFER
    handled_fs |= (1 << 14) if abi >= 3 else 0  # TRUNCATE
    handled_fs |= (1 << 15) if abi >= 5 else 0  # IOCTL_DEV
    attr = _RulesetAttr(handled_fs, _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0, 0)
    size = 8
    if abi >= 4:
        size = 16
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL
        size = 24
    ruleset = _syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise LayerUnavailable(f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}")
    try:
        allowed = []
        for path, access in [*((p, _READ) for p in read_paths), *((p, handled_fs) for p in write_paths)]:
            if _add_path(ruleset, path, access, handled_fs):
                allowed.append(path)
        _no_new_privileges()
        if _syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            raise LayerUnavailable(f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)
    extras = [name for name, on in (("no TCP", abi >= 4), ("no signals outside", abi >= 6)) if on]
    return f"ABI {abi}: {len(allowed)} paths readable, writable only {', '.join(write_paths)}; " + ", ".join(
        extras
    )


def _add_path(ruleset: int, path: str, access: int, handled: int) -> bool:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False  # a path that does not exist needs no rule
    try:
        if not os.path.isdir(path):
            access &= _FILE_ONLY
        rule = _PathBeneath(access & handled, fd)
        if (
            _syscall(
                _SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule), 0
            )
            < 0
        ):
            raise LayerUnavailable(f"landlock_add_rule({path}) failed: {os.strerror(ctypes.get_errno())}")
        return True
    finally:
        os.close(fd)


# -- seccomp --------------------------------------------------------------------------------------

_CLONE_THREAD = 0x00010000
_S_IFMT, _S_IFCHR, _S_IFBLK = 0o170000, 0o020000, 0o060000
_F_SETPIPE_SZ = 1031

_DENIED_SYSCALLS = (
    # no new programs, no new processes (threads are created by clone with CLONE_THREAD, below)
    "execve", "execveat", "fork", "vfork",
    # no network, no new sockets
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    # no looking into, signalling or steering other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_getfd", "pidfd_send_signal",
    "process_madvise", "process_mrelease", "kcmp", "tkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
    "migrate_pages", "move_pages", "get_robust_list",
    # no namespaces, mounts (old and new API), kernel objects, modules or io_uring (which bypasses seccomp)
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "fsopen", "fsconfig", "fsmount",
    "fspick", "open_tree", "move_mount", "mount_setattr", "bpf", "perf_event_open", "keyctl", "add_key",
    "request_key", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd", "fanotify_init", "inotify_init",
    "inotify_init1",
    "name_to_handle_at", "open_by_handle_at", "lookup_dcookie",
    # no changing the machine: clock, names, kernel log, swap, accounting, quotas, ports, reboot
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    "syslog", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "iopl", "ioperm", "reboot",
    "vhangup", "uselib", "nfsservctl",
    # no file metadata changes (Landlock covers contents, not modes, owners, times or attributes)
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "utime", "utimes",
    "futimesat", "utimensat", "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr",
    "fremovexattr",
    # no memory outside RLIMIT_AS that outlives or escapes the worker: memfd, System V and POSIX IPC
    "memfd_create", "memfd_secret", "shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv",
    "msgctl", "semget", "semop", "semtimedop", "semctl", "mq_open", "mq_unlink", "mq_timedsend",
    "mq_timedreceive", "mq_notify", "mq_getsetattr",
)  # fmt: skip

_NEWER_DENIED = {"statmount": 457, "listmount": 458, "lsm_set_self_attr": 460, "setxattrat": 463,
                 "removexattrat": 466, "open_tree_attr": 467, "file_setattr": 469}  # fmt: skip
"""Syscalls newer than libseccomp 2.5 knows, by number (the same on every architecture since 424)."""

_FUTURE_SYSCALLS = range(470, 512)
"""Refused with ENOSYS ("not implemented"), so that a kernel newer than this list adds no way around it."""

_SELF_ONLY = {
    "prlimit64": 0, "sched_setaffinity": 0, "sched_getaffinity": 0, "sched_setscheduler": 0,
    "sched_getscheduler": 0, "sched_setparam": 0, "sched_getparam": 0, "sched_setattr": 0,
    "sched_getattr": 0, "sched_rr_get_interval": 0,
}  # fmt: skip
"""Syscalls that act on the process their argument names: allowed only with 0, the caller itself."""

_FILE_FLAG_IOCTLS = (0x40086602, 0x40046602, 0x401C5820, 0x40087602, 0x40047602)
"""FS_IOC_SETFLAGS, FS_IOC32_SETFLAGS, FS_IOC_FSSETXATTR, FS_IOC_SETVERSION, FS_IOC32_SETVERSION: a file's
flags and attributes, settable by its owner on a descriptor open for reading."""


def load_seccomp() -> Any:
    """Import pyseccomp (before Landlock: it looks its libraries up by name).

    pyseccomp finds libc and libseccomp with `ctypes.util.find_library`, which runs `ldconfig -p`
    in a subprocess (15 ms); the usual sonames are tried first, directly.
    """
    import ctypes.util

    find_library = ctypes.util.find_library

    def known_first(name: str) -> str | None:
        soname = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}.get(name)
        if soname is not None:
            with suppress(OSError):
                ctypes.CDLL(soname)
                return soname
        return find_library(name)

    ctypes.util.find_library = known_first
    try:
        import pyseccomp  # type: ignore[import-untyped]
    except (ImportError, OSError, RuntimeError) as error:
        raise LayerUnavailable(f"pyseccomp/libseccomp is not available ({error})") from None
    finally:
        ctypes.util.find_library = find_library
    return pyseccomp


def apply_seccomp(pyseccomp: Any) -> str:
    """Deny new programs and processes (threads allowed), sockets, acting on other processes, namespaces
    and mounts, changing the machine, file metadata and memory outside the rlimits, with EPERM so that
    Python raises a clean OSError."""
    denied = pyseccomp.ERRNO(errno.EPERM)
    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    with suppress(
        AttributeError, OSError
    ):  # a binary tree of syscalls rather than a list (libseccomp >= 2.5)
        rules.set_attr(pyseccomp.Attr.CTL_OPTIMIZE, 2)
    for name in _DENIED_SYSCALLS:
        _try_rule(rules, denied, name)
    for number in _NEWER_DENIED.values():
        _try_rule(rules, denied, number)
    for number in _FUTURE_SYSCALLS:
        _try_rule(rules, pyseccomp.ERRNO(errno.ENOSYS), number)
    # clone() is how both threads and processes are made: only thread-creating calls pass.
    rules.add_rule(denied, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, _CLONE_THREAD, 0))
    # clone3 passes its flags in memory, out of seccomp's sight: refuse it so that libc falls back to clone.
    _try_rule(rules, pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    me = os.getpid()
    for name in ("kill", "tgkill"):
        rules.add_rule(denied, name, pyseccomp.Arg(0, pyseccomp.NE, me))
    for name, argument in _SELF_ONLY.items():
        _try_rule(rules, denied, name, pyseccomp.Arg(argument, pyseccomp.NE, 0))
    # (which, who): only PRIO_PROCESS (0) and IOPRIO_WHO_PROCESS (1), and only who = 0, the caller.
    for name, which in (("setpriority", 0), ("getpriority", 0), ("ioprio_set", 1), ("ioprio_get", 1)):
        _try_rule(rules, denied, name, pyseccomp.Arg(0, pyseccomp.NE, which))
        _try_rule(rules, denied, name, pyseccomp.Arg(1, pyseccomp.NE, 0))
    # Device nodes (a disk, say) must not be made in the scratch folder; FIFOs may.
    for name, mode in (("mknod", 1), ("mknodat", 2)):
        for kind in (_S_IFCHR, _S_IFBLK):
            _try_rule(rules, denied, name, pyseccomp.Arg(mode, pyseccomp.MASKED_EQ, _S_IFMT, kind))
    # Pipe buffers are kernel memory outside RLIMIT_AS: they keep their default size.
    rules.add_rule(denied, "fcntl", pyseccomp.Arg(1, pyseccomp.EQ, _F_SETPIPE_SZ))
    for request in _FILE_FLAG_IOCTLS:
        rules.add_rule(denied, "ioctl", pyseccomp.Arg(1, pyseccomp.EQ, request))
    _no_new_privileges()
    rules.load()
    return (
        f"{len(_DENIED_SYSCALLS) + len(_NEWER_DENIED)} syscalls denied (exec, fork, sockets, other"
        " processes, mounts, metadata, ...); prlimit, sched_*, priorities and signals only on itself"
    )


def _try_rule(rules: Any, action: int, syscall: str | int, *conditions: Any) -> None:
    with suppress(OSError, ValueError):  # a syscall this architecture does not have
        rules.add_rule(action, syscall, *conditions)


# -- capabilities ---------------------------------------------------------------------------------

_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_capabilities() -> str:
    """No capabilities at all, even for root: no raising rlimits, making devices, owning every file, ...

    Called before Landlock, which then makes /proc unreadable."""
    for capability in range(_last_capability() + 1):
        _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)  # fails harmlessly without CAP_SETPCAP
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if _libc.capset(ctypes.byref(_CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)), (_CapData * 2)()) != 0:
        raise LayerUnavailable(f"capset failed: {os.strerror(ctypes.get_errno())}")
    return "no capabilities"


def _last_capability() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as file:
            return int(file.read())
    except (OSError, ValueError):
        return 63


def die_with_parent() -> None:
    """SIGKILL when the parent (the zygote) dies: a worker never outlives it, nor the agent."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# -- helpers ---------------------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def _syscall(number: int, *arguments: Any) -> int:
    return int(_libc.syscall(ctypes.c_long(number), *arguments))


def _no_new_privileges() -> None:
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise LayerUnavailable(f"prctl(NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}")
