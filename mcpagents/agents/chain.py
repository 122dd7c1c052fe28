"""What travels down a chain of agents calling agents: a trace id, the agents on the way, a deadline.

It rides in the `_meta` of each `tools/call` under `CHAIN_META_KEY`. A served agent refuses a call
whose chain already holds its own name (a cycle, A → B → A) or is `max_depth` agents long, and a
call whose deadline has passed; it runs with the deadline it was given.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from mcpagents.errors import AgentError
from mcpagents.tracing.trace_context import TraceParent, new_trace_id

CHAIN_META_KEY = "mcpagents.dev/chain"
DEFAULT_MAX_DEPTH = 8
DEFAULT_ANSWER_WAIT = 600.0
"""Seconds a run waits for its caller to answer a question (2026-07-28 callers: to come back with
the answers) before it goes on without."""
DEFAULT_TASK_AFTER = 5.0
"""Seconds a 2026-07-28 call whose caller accepts tasks waits for its run before becoming a task."""


class ChainError(AgentError):
    """A call refused because of its chain: a cycle, too deep, or past its deadline."""


@dataclass(frozen=True)
class CallChain:
    trace_id: str
    agents: tuple[str, ...] = ()
    """The agents the call went through, outermost first."""
    deadline: float | None = None
    """Wall-clock time (`time.time()`) by which the whole chain must be done."""
    caller: str | None = None
    """Who this server runs the chain for, for traces: the subject of the access token its call
    came with (served behind an authorization server). It stays in this server: the chain's `_meta`
    goes to every tool server a run calls, and a caller's subject (often an e-mail address) is not
    theirs to know."""
    parent: TraceParent | None = None
    """The span the call came from (its W3C `traceparent`), whose trace the chain's is."""

    @classmethod
    def start(
        cls, agent: str | None = None, timeout: float | None = None, trace_id: str | None = None
    ) -> CallChain:
        """The chain of a run nobody called over MCP."""
        deadline = None if timeout is None else time.time() + timeout
        return cls(trace_id or new_trace_id(), (agent,) if agent else (), deadline)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any] | None) -> CallChain | None:
        """The chain a request carries, if any (malformed entries count as none); a request with
        only a W3C `traceparent` (a host that traces) starts a chain in that trace."""
        parent = TraceParent.from_meta(meta)
        data = (meta or {}).get(CHAIN_META_KEY)
        if not isinstance(data, Mapping) or not isinstance(data.get("trace_id"), str):
            return None if parent is None else cls(parent.trace_id, parent=parent)
        agents = data.get("agents")
        deadline = data.get("deadline")
        return cls(
            parent.trace_id if parent is not None else data["trace_id"],
            tuple(str(name) for name in agents) if isinstance(agents, list) else (),
            float(deadline) if isinstance(deadline, int | float) and not isinstance(deadline, bool) else None,
            parent=parent,
        )

    def enter(
        self,
        agent: str,
        *,
        max_depth: int = DEFAULT_MAX_DEPTH,
        timeout: float | None = None,
        caller: str | None = None,
    ) -> CallChain:
        """The chain as `agent` runs it, or `ChainError` if `agent` must not run this call. `caller`:
        the subject of the access token this call came with, if one was checked."""
        if agent in self.agents:
            loop = " → ".join([*self.agents[self.agents.index(agent) :], agent])
            raise ChainError(f"refused: agent {agent!r} is already in this call chain ({loop}); a cycle")
        if len(self.agents) >= max_depth:
            path = " → ".join([*self.agents, agent])
            raise ChainError(
                f"refused: the call chain is {len(self.agents)} agents deep ({path}), the most is {max_depth}"
            )
        if self.deadline is not None and self.deadline <= time.time():
            raise ChainError(f"refused: the chain's deadline passed {time.time() - self.deadline:.1f} s ago")
        return replace(self, agents=(*self.agents, agent), caller=caller).within(timeout)

    def within(self, seconds: float | None) -> CallChain:
        """This chain, to end within `seconds` from now too (None: as it is)."""
        if seconds is None:
            return self
        deadline = min(math.inf if self.deadline is None else self.deadline, time.time() + seconds)
        return replace(self, deadline=deadline)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no deadline)."""
        return None if self.deadline is None else self.deadline - time.time()

    def meta(self) -> dict[str, Any]:
        """The `_meta` entry for calls made on this chain's behalf."""
        data: dict[str, Any] = {"trace_id": self.trace_id, "agents": list(self.agents)}
        if self.deadline is not None:
            data["deadline"] = self.deadline
        return {CHAIN_META_KEY: data}


current_chain: ContextVar[CallChain | None] = ContextVar("mcpagents_call_chain", default=None)
"""The chain of the served call being run in this context (set by the agent server)."""
