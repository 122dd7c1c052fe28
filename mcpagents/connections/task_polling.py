"""How often a client asks how a task is, and how long it waits for a task it cancels: the same for
the in-core Tasks of 2025-11-25 and the Tasks extension of 2026-07-28."""

from __future__ import annotations

import mcp_types

POLL_FLOOR = 0.1
POLL_CEILING = 5.0
DEFAULT_POLL = 1.0
"""Seconds between two `tasks/get`: the task's `pollInterval` (or the default when it names none),
kept between the floor and the ceiling (a server may ask for a flood, or for long waits), and to
half the silence a caller allows, so that news can be seen before that silence runs out."""
CANCEL_WAIT = 5.0
"""How long a call being cancelled waits for its server to cancel the task (best effort)."""


def poll_delay(task: mcp_types.Task, timeout: float | None) -> float:
    """Seconds to wait before asking how `task` is again (see `DEFAULT_POLL`)."""
    asked = task.poll_interval / 1000 if task.poll_interval is not None else DEFAULT_POLL
    ceiling = POLL_CEILING if timeout is None else min(POLL_CEILING, timeout / 2)
    return max(min(asked, ceiling), POLL_FLOOR)
