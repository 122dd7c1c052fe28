"""`mode="sandbox"`: the worker inside bubblewrap (`bwrap`), with its own namespaces and a minimal
read-only view of the system."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping

from mcpagents.errors import SandboxUnavailableError

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: `apt install bubblewrap`, Fedora: `dnf install bubblewrap`,"
    " Arch: `pacman -S bubblewrap`); it needs unprivileged user namespaces, which some systems switch off"
    " (Ubuntu 24.04: give bwrap an AppArmor profile, or"
    " `sysctl kernel.apparmor_restrict_unprivileged_userns=0`)"
)


def bwrap_command(
    command: list[str], *, read_paths: Iterable[str], workdir: str, environment: Mapping[str, str]
) -> list[str]:
    """`command` wrapped in bwrap: all namespaces new (no network), the given paths read-only, the
    workdir read-write, a private /tmp, a fresh /proc and /dev, no capabilities, a clean environment."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailableError(
            f"mode='sandbox' needs bubblewrap, which is not installed: {INSTALL_HINT}"
        )
    # The fresh /tmp, /proc and /dev come first: a later mount would hide binds beneath them
    # (a virtualenv or a checkout under /tmp, say).
    arguments = [bwrap, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL"]
    arguments += ["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]
    for top in ("/lib", "/lib64", "/lib32", "/bin", "/sbin"):
        if os.path.islink(top):
            arguments += ["--symlink", os.readlink(top), top]
    for path in dict.fromkeys(read_paths):
        if path.startswith("/dev/"):
            continue  # the fresh /dev has them, writable (a read-only bind of /dev/null is not)
        if os.path.exists(path) and not (os.path.islink(path) and path.count("/") == 1):
            arguments += ["--ro-bind", path, path]
    arguments += ["--bind", workdir, workdir, "--chdir", workdir, "--clearenv"]
    for name, value in environment.items():
        arguments += ["--setenv", name, value]
    return [*arguments, "--", *command]
