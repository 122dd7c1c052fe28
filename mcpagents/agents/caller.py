"""The caller of a served agent, as the one who answers what the agent's tool servers ask.

A question raised anywhere below a served agent (a tool server's elicitation or sampling request,
a served child agent's relayed question, the agent's own `ask_user`) goes up to the agent's caller,
in the caller's protocol era:

* 2025-era callers are asked directly: the request goes out on the call's own stream.
* 2026-07-28 callers cannot be asked mid-call. The run goes on in the background; the call answers
  `input_required` with the questions and a `request_state` naming the run, and the caller's retry
  brings the answers and picks the run up again (`HeldRuns`).

A caller that did not declare a capability is not asked for it: elicitations are declined and
sampling refused, each saying why.
"""

from __future__ import annotations

import secrets
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

import anyio
import mcp_types
from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.shared.message import ServerMessageMetadata
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel

from mcpagents.agents.caller_identity import owned_name
from mcpagents.agents.chain import DEFAULT_ANSWER_WAIT
from mcpagents.agents.run_relay import POLL_SECONDS, RunRelay, dumped
from mcpagents.connections.interaction import (
    ElicitationHandler,
    ElicitationRequest,
    Interaction,
    InteractionRefused,
    SamplingHandler,
    SamplingRequest,
    declined,
)
from mcpagents.logs import LogLevel
from mcpagents.portal import spawn_detached

R = TypeVar("R", bound=mcp_types.Result)
_KEPT_PROGRESS = 1000
"""Progress lines kept for the next call that drives a run (the oldest go first)."""
_NO_BACK_CHANNEL = "the caller's connection cannot carry requests to it (stateless or JSON-response HTTP)"


def is_modern(ctx: ServerRequestContext[Any]) -> bool:
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


def caller_capabilities(ctx: ServerRequestContext[Any]) -> mcp_types.ClientCapabilities:
    return ctx.session.client_capabilities or mcp_types.ClientCapabilities()


def pushing_caller(ctx: ServerRequestContext[Any], *, relay_sampling: bool) -> Interaction:
    """The interaction of a 2025-era caller: each request is sent on the call's stream."""
    capabilities = caller_capabilities(ctx)
    metadata = ServerMessageMetadata(related_request_id=ctx.request_id)

    async def send(request: mcp_types.ServerRequest, result_type: type[R]) -> R:
        return await ctx.session.send_request(request, result_type, metadata=metadata)

    async def elicit(request: ElicitationRequest) -> mcp_types.ElicitResult:
        if not ctx.session.can_send_request:
            return declined(_NO_BACK_CHANNEL)
        return await send(mcp_types.ElicitRequest(params=request.params), mcp_types.ElicitResult)

    async def sample(request: SamplingRequest) -> mcp_types.CreateMessageResult:
        if not ctx.session.can_send_request:
            raise InteractionRefused(_NO_BACK_CHANNEL)
        return await send(
            mcp_types.CreateMessageRequest(params=request.params), mcp_types.CreateMessageResult
        )

    return _offered(capabilities, elicit, sample if relay_sampling else None)


def _offered(
    capabilities: mcp_types.ClientCapabilities,
    elicit: ElicitationHandler,
    sample: SamplingHandler | None,
) -> Interaction:
    asks = capabilities.elicitation is not None
    samples = capabilities.sampling is not None
    return Interaction(
        elicitation=elicit if asks else None,
        sampling=sample if sample is not None and samples else None,
        decline_reason="the caller of this agent does not accept elicitation requests",
    )


async def send_log(ctx: ServerRequestContext[Any], level: LogLevel, text: str, logger: str) -> None:
    """A log message to the caller, on the call's stream (the SDK applies the caller's level)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await ctx.session.send_log_message(level, text, logger=logger, related_request_id=ctx.request_id)


class _Question:
    def __init__(self, request: mcp_types.InputRequest, answer_type: type[mcp_types.Result]) -> None:
        self.request = request
        self.answer_type = answer_type
        self.answer: mcp_types.Result | None = None
        self.asked = False
        self.answered = anyio.Event()


class HeldRun:
    """A run of a served agent that outlives the call that started it, until it is finished and
    collected: 2026-07-28 calls are answered `input_required` while it waits for its caller.
    `owner`: the key of that caller (`Caller.key`), the only one its token leads to."""

    def __init__(self, token: str, answer_wait: float, owner: str = "") -> None:
        self.token = token
        self.answer_wait = answer_wait
        self.owner = owner
        self.relay_key = owned_name(owner, token)
        """What the workers of a server know it by (see `run_relay`): its token, tied to its owner."""
        self.result: mcp_types.CallToolResult | None = None
        self.finished = anyio.Event()
        self.finished_at: float | None = None
        self.scope = anyio.CancelScope()
        self.cancelled = False
        self._questions: dict[str, _Question] = {}
        self._count = 0
        self._progress: deque[str] = deque(maxlen=_KEPT_PROGRESS)
        self._changed = anyio.Event()
        self.last_message: str | None = None
        self._followers: list[Callable[[HeldRun], None]] = []

    def interaction(self, capabilities: mcp_types.ClientCapabilities, *, relay_sampling: bool) -> Interaction:
        async def elicit(request: ElicitationRequest) -> mcp_types.ElicitResult:
            asked = mcp_types.ElicitRequest(params=request.params)
            answer = await self._ask(asked, mcp_types.ElicitResult)
            return answer or declined(f"the caller did not answer within {self.answer_wait:g} s")

        async def sample(request: SamplingRequest) -> mcp_types.CreateMessageResult:
            asked = mcp_types.CreateMessageRequest(params=request.params)
            answer = await self._ask(asked, mcp_types.CreateMessageResult)
            if answer is None:
                raise InteractionRefused(f"the caller did not answer within {self.answer_wait:g} s")
            return answer

        return _offered(capabilities, elicit, sample if relay_sampling else None)

    async def _ask(self, request: mcp_types.InputRequest, answer_type: type[R]) -> R | None:
        self._count += 1
        key = f"q{self._count}"
        question = self._questions[key] = _Question(request, answer_type)
        self._poke()
        with anyio.move_on_after(self.answer_wait):
            await question.answered.wait()
        self._questions.pop(key, None)
        return question.answer if isinstance(question.answer, answer_type) else None

    def follow(self, follower: Callable[[HeldRun], None]) -> None:
        """Call `follower` whenever the run's status, progress or questions change."""
        self._followers.append(follower)

    def cancel(self) -> None:
        self.cancelled = True
        self.scope.cancel()

    def report(self, message: str) -> None:
        """A progress line of the run, for whichever call drives it next."""
        self._progress.append(message)
        self.last_message = message
        self._poke()

    def finish(self, result: mcp_types.CallToolResult) -> None:
        self.result = result
        self.finished_at = anyio.current_time()
        self.finished.set()
        self._poke()

    def answer(self, responses: Mapping[str, mcp_types.InputResponse | Mapping[str, Any]]) -> None:
        """The caller's answers to questions asked before, as models or JSON (unknown keys are
        ignored)."""
        for key, response in responses.items():
            question = self._questions.get(key)
            if question is None or question.answered.is_set():
                continue
            raw = response.model_dump(by_alias=True) if isinstance(response, BaseModel) else response
            try:
                answer = question.answer_type.model_validate(raw, by_name=False)
            except ValueError:
                answer = None  # an answer of the wrong kind counts as none
            question.answer = answer
            question.answered.set()

    async def drive(
        self,
        report: Callable[[str], Awaitable[None]],
        ask: Callable[[mcp_types.InputRequest], Awaitable[mcp_types.Result]] | None = None,
    ) -> mcp_types.CallToolResult | mcp_types.InputRequiredResult:
        """Forward the run's progress until it finishes; a new question ends the call with
        `input_required`, or, given `ask`, is asked through it and answered at once."""
        while True:
            while self._progress:
                await report(self._progress.popleft())
            if self.result is not None:
                return self.result
            unasked = {key: q for key, q in self.open_questions().items() if not q.asked}
            if unasked:
                for question in unasked.values():
                    question.asked = True
                if ask is None:
                    return mcp_types.InputRequiredResult(
                        input_requests={key: q.request for key, q in unasked.items()},
                        request_state=self.token,
                    )
                for key, question in unasked.items():
                    self.answer({key: cast(mcp_types.InputResponse, await ask(question.request))})
                continue
            await self._changed.wait()
            self._changed = anyio.Event()

    def open_questions(self) -> dict[str, _Question]:
        return {key: q for key, q in self._questions.items() if not q.answered.is_set()}

    @property
    def status(self) -> mcp_types.TaskStatus:
        if self.cancelled:
            return "cancelled"
        if self.result is not None:
            return "failed" if self.result.is_error else "completed"
        if self.open_questions():
            return "input_required"
        return "working"

    def _poke(self) -> None:
        self._changed.set()
        for follower in self._followers:
            follower(self)


class HeldRuns:
    """The runs held for 2026-07-28 callers, by the `request_state` token their calls carry."""

    def __init__(self, answer_wait: float = DEFAULT_ANSWER_WAIT, relay: RunRelay | None = None) -> None:
        self.answer_wait = answer_wait
        self.relay = relay
        """Shared with the other workers of the server, when there are any (see `run_relay`)."""
        self._runs: dict[str, HeldRun] = {}

    def start(
        self, run: Callable[[HeldRun], Awaitable[mcp_types.CallToolResult]], *, owner: str = ""
    ) -> HeldRun:
        """Start `run` in the background for the caller whose key is `owner`, held under a new token."""
        self._drop_uncollected()
        held = HeldRun(secrets.token_urlsafe(24), self.answer_wait, owner)
        if self.relay is not None:
            self._mirror(held, self.relay)
        self._runs[held.token] = held

        async def execute() -> None:
            try:
                with held.scope:
                    held.finish(await run(held))
            finally:
                if not held.finished.is_set():
                    held.finish(_error("the run was stopped: its caller gave the call up"))

        spawn_detached(execute())
        return held

    def get(self, token: str, owner: str = "") -> HeldRun | None:
        """The run held under `token` for `owner`; None, as for a token never given, for any other."""
        self._drop_uncollected()
        held = self._runs.get(token)
        return held if held is not None and held.owner == owner else None

    def collected(self, held: HeldRun) -> None:
        """The caller has the run's result: nobody comes back for it."""
        self._forget(held)

    def _mirror(self, held: HeldRun, relay: RunRelay) -> None:
        """Publish the run's questions and result for the other workers, and take their answers."""
        published: list[tuple[tuple[str, ...], bool]] = []

        def mirror(changed: HeldRun) -> None:
            questions = changed.open_questions()
            state = (tuple(questions), changed.result is not None)
            if published[-1:] != [state]:
                published.append(state)
                result = None if changed.result is None else dumped(changed.result)
                asked = {key: dumped(q.request) for key, q in questions.items()}
                relay.publish(changed.relay_key, asked, result)

        async def take_answers() -> None:
            while not held.finished.is_set():
                if held.open_questions() and (answers := relay.take_answers(held.relay_key)):
                    held.answer(answers)
                with anyio.move_on_after(POLL_SECONDS):
                    await held.finished.wait()

        relay.publish(held.relay_key, {}, None)
        held.follow(mirror)
        spawn_detached(take_answers())

    def _forget(self, held: HeldRun) -> None:
        self._runs.pop(held.token, None)
        if self.relay is not None:
            self.relay.drop(held.relay_key)

    def _drop_uncollected(self) -> None:
        """Finished runs whose caller did not come back for them within the wait."""
        now = anyio.current_time()
        for held in list(self._runs.values()):
            if held.finished_at is not None and now - held.finished_at > self.answer_wait:
                self._forget(held)


def _error(message: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=message)], is_error=True)
