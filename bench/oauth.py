"""What OAuth costs a served agent's callers: one call of the same agent, served by `mcpagents serve
--transport http` behind a static `--token` (the baseline), behind an authorization server whose
JWTs it checks itself (`--oauth-issuer`), and whose opaque tokens it asks about on every request
(`--oauth-introspection`); then through a chain, the boss calling its child with its own token
(`client_credentials`) or with one exchanged for its caller's (`token_exchange`: once per caller,
then kept), for one caller, and for a caller the boss has not seen at each call (each one pays an
exchange, and opens a connection of its own, which the clock does not see).

Run: `.venv/bin/python bench/oauth.py [--calls N] [--rounds N]`

The authorization server is oidc-provider (tests/peers/authorization_server.mjs, node); the agents
answer with a scripted model in one step. The client is the MCP SDK's `Client` over streamable HTTP
(2026-07-28), sending the bearer token as a header; tokens are fetched before the clock starts.
Rounds interleave the contenders; the table shows each one's median round, per call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).parent.parent
MCPAGENTS = str(Path(sys.executable).parent / "mcpagents")
AUTHORIZATION_SERVER = ROOT / "tests" / "peers" / "authorization_server.mjs"
CLIENT = ("service", "service-secret")
"""The client the authorization server knows beforehand (tests/peers/authorization_server.mjs)."""
ANSWER = (
    "per_conversation: true\nresponses:\n  - tool_calls: [{name: final_answer, arguments: {answer: ok}}]\n"
)
ASK_CHILD = (
    "per_conversation: true\nresponses:\n"
    "  - |\n    <code>\n    final_answer(child(task='Q?')['answer'])\n    </code>\n"
)


@contextmanager
def authorization_server(token_format: str) -> Iterator[str]:
    """oidc-provider issuing `token_format` (jwt, opaque) access tokens; its issuer URL."""
    process = subprocess.Popen(
        ["node", str(AUTHORIZATION_SERVER)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "AS_TOKEN_FORMAT": token_format},
    )
    try:
        assert process.stdout is not None
        yield str(json.loads(process.stdout.readline())["issuer"])
    finally:
        process.terminate()
        process.wait()


@contextmanager
def served(spec: Path, *flags: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`mcpagents serve SPEC --transport http`; the URL it serves at."""
    process = subprocess.Popen(
        [MCPAGENTS, "serve", str(spec), "--transport", "http", "--port", "0", *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert " at http" in line, line + process.stderr.read()
        yield line.split(" at ")[1].split()[0]
    finally:
        process.terminate()
        process.wait(timeout=30)


def client_token(issuer: str, resource: str) -> str:
    """A client credentials token of `CLIENT` for `resource` (each one a new token)."""
    issued = httpx2.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials", "resource": resource, "scope": "read"},
        auth=CLIENT,
        timeout=30,
    )
    assert issued.status_code == 200, issued.text
    return str(issued.json()["access_token"])


def spec(folder: Path, name: str, script: str, extra: str = "") -> Path:
    (folder / f"{name}-script.yaml").write_text(script)
    path = folder / f"{name}.yaml"
    kind = "code" if "<code>" in script else "tool_calling"
    path.write_text(
        f"name: {name}\ndescription: Answers.\ntype: {kind}\nmodel: scripted:{name}-script.yaml\n{extra}"
    )
    return path


class Caller:
    """One MCP client of one served agent, calling its tool `calls` times a round; `tokens` gives
    the bearer token of each call (one connection per token)."""

    def __init__(self, url: str, tool: str, tokens: Callable[[], list[str]], calls: int) -> None:
        self.url, self.tool, self.tokens, self.calls = url, tool, tokens, calls

    async def round(self) -> float:
        tokens = self.tokens()
        async with AsyncExitStack() as stack:
            clients = []
            for token in dict.fromkeys(tokens):
                http = await stack.enter_async_context(
                    httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
                )
                client = Client(streamable_http_client(self.url, http_client=http), mode="2026-07-28")
                clients.append((token, await stack.enter_async_context(client)))
            by_token = dict(clients)
            started = time.perf_counter()
            for token in tokens:
                result = await by_token[token].call_tool(self.tool, {"task": "Q?"})
                assert not result.is_error, result
            return (time.perf_counter() - started) / len(tokens)


async def measure(callers: dict[str, Caller], rounds: int) -> dict[str, list[float]]:
    for caller in callers.values():  # warm-up: keys fetched, exchanges kept, imports done
        await caller.round()
    results: dict[str, list[float]] = {name: [] for name in callers}
    for _ in range(rounds):
        for name, caller in callers.items():
            results[name].append(await caller.round())
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    calls = options.calls
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        folder = Path(scratch)
        answerer = spec(folder, "answerer", ANSWER)
        jwt_issuer = stack.enter_context(authorization_server("jwt"))
        opaque_issuer = stack.enter_context(authorization_server("opaque"))
        static_url = stack.enter_context(served(answerer, "--token", "s3cret"))
        jwt_url = stack.enter_context(served(answerer, "--oauth-issuer", jwt_issuer))
        introspected_url = stack.enter_context(
            served(
                answerer,
                "--oauth-issuer",
                opaque_issuer,
                "--oauth-introspection",
                "--oauth-client-id",
                CLIENT[0],
                env={"MCPAGENTS_OAUTH_CLIENT_SECRET": CLIENT[1]},
            )
        )
        child_url = stack.enter_context(served(spec(folder, "child", ANSWER), "--oauth-issuer", jwt_issuer))
        bosses = {}
        for grant in ("client_credentials", "token_exchange"):
            oauth = f"{{{grant}: true, client_id: {CLIENT[0]}, client_secret: {CLIENT[1]}}}"
            boss = spec(
                folder, f"boss-{grant}", ASK_CHILD, f"agents:\n  - url: {child_url}\n    oauth: {oauth}\n"
            )
            bosses[grant] = stack.enter_context(served(boss, "--oauth-issuer", jwt_issuer))

        def same(token: str) -> Callable[[], list[str]]:
            return lambda: [token] * calls

        callers = {
            "static --token (baseline)": Caller(static_url, "answerer", same("s3cret"), calls),
            "JWT checked by the server": Caller(
                jwt_url, "answerer", same(client_token(jwt_issuer, jwt_url)), calls
            ),
            "opaque token, introspected per request": Caller(
                introspected_url,
                "answerer",
                same(client_token(opaque_issuer, introspected_url)),
                calls,
            ),
        }
        for grant, how in (
            ("client_credentials", "the boss's own token"),
            ("token_exchange", "token exchange"),
        ):
            url, tool = bosses[grant], f"boss-{grant}"
            token = client_token(jwt_issuer, url)
            callers[f"chain: {how}, one caller"] = Caller(url, tool, same(token), calls)
            callers[f"chain: {how}, a new caller each call"] = Caller(
                url, tool, lambda url=url: [client_token(jwt_issuer, url) for _ in range(calls)], calls
            )
        rounds = asyncio.run(measure(callers, options.rounds))
    median = {name: statistics.median(values) * 1000 for name, values in rounds.items()}
    print(f"{'contender':<52} {'ms per call':>12} {'adds':>10}")
    for name, milliseconds in median.items():
        base = BASELINES.get(name)
        added = "" if base is None else f"{milliseconds - median[base]:+.2f} ms"
        print(f"{name:<52} {milliseconds:>12.2f} {added:>10}")


BASELINES = {
    "JWT checked by the server": "static --token (baseline)",
    "opaque token, introspected per request": "static --token (baseline)",
    "chain: token exchange, one caller": "chain: the boss's own token, one caller",
    "chain: token exchange, a new caller each call": "chain: the boss's own token, a new caller each call",
}
"""What each contender is compared with (the others are baselines)."""


if __name__ == "__main__":
    main()
