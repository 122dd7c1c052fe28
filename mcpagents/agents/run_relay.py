"""Held runs across the workers of one server: a 2026-07-28 caller's retry may reach a worker other
than the one running its run (stateless HTTP, `--workers N`).

The worker running a held run publishes its open questions and, at the end, its result on a
`RunRelay` shared by the workers (the SQLite file of `--conversation-store`), and takes the answers
other workers leave there. A worker that gets a retry for a run it does not hold leaves the answers,
then follows the run's record until it asks something new or ends, and answers the call with that.
A run is known on the relay by its token tied to its owner (`HeldRun.relay_key`): another caller's
retry with the same token finds nothing there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import mcp_types
from pydantic import TypeAdapter

POLL_SECONDS = 0.2
_INPUT_REQUEST: TypeAdapter[mcp_types.InputRequest] = TypeAdapter(mcp_types.InputRequest)


@dataclass(frozen=True)
class RelayedRun:
    """What the workers know of a held run: its open questions, the keys answered, its result."""

    questions: dict[str, Any]
    answered: frozenset[str]
    result: dict[str, Any] | None


class RunRelay(Protocol):
    """Where the workers of a server meet about the runs they hold (JSON values throughout)."""

    def publish(self, token: str, questions: Mapping[str, Any], result: Mapping[str, Any] | None) -> None:
        """The owner: the run's open questions now, and its result once it has one."""
        ...

    def read(self, token: str) -> RelayedRun | None: ...

    def answer(self, token: str, responses: Mapping[str, Any]) -> None:
        """Any worker: the caller's answers, for the owner to take."""
        ...

    def take_answers(self, token: str) -> dict[str, Any]:
        """The owner: the answers left since it last took them."""
        ...

    def drop(self, token: str) -> None: ...


def dumped(model: mcp_types.Result | mcp_types.Request[Any, Any]) -> dict[str, Any]:
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


async def follow_elsewhere(
    relay: RunRelay, token: str, responses: mcp_types.InputResponses, wait: float
) -> mcp_types.CallToolResult | mcp_types.InputRequiredResult | None:
    """Continue a run another worker holds: leave the answers, then wait for what it does next.
    None when no worker holds it."""
    if relay.read(token) is None:
        return None
    relay.answer(token, {key: dumped(response) for key, response in responses.items()})
    with anyio.move_on_after(wait):
        while True:
            run = relay.read(token)
            if run is None:
                return None
            if run.result is not None:
                return mcp_types.CallToolResult.model_validate(run.result, by_name=False)
            new = {key: request for key, request in run.questions.items() if key not in run.answered}
            if new:
                return mcp_types.InputRequiredResult(
                    input_requests={
                        key: _INPUT_REQUEST.validate_python(request) for key, request in new.items()
                    },
                    request_state=token,
                )
            await anyio.sleep(POLL_SECONDS)
    return mcp_types.CallToolResult(
        content=[
            mcp_types.TextContent(
                type="text", text=f"the worker running this call went quiet for {wait:g} s; call again"
            )
        ],
        is_error=True,
    )
