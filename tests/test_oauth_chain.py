"""A chain of served agents behind one authorization server (oidc-provider, tests/peers): the boss
calls its child with a token exchanged for its caller's (RFC 8693) when its spec says so, with its
own credentials when it says that, and never with the caller's token itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mcpagents import HttpServer, OAuth, SignInRequired, ToolCollection
from mcpagents.sign_in.on_behalf import on_behalf_of
from tests.conftest import AuthorizationServer, authorization_server, serving_spec
from tests.test_oauth_serving import calling, registered_client, user_token

pytestmark = pytest.mark.anyio

CREDENTIALS = "client_id: service, client_secret: service-secret"
"""The client the boss is registered as (see tests/peers/authorization_server.mjs)."""


def child(folder: Path) -> Path:
    """The spec of an agent that answers "hi" (and, served, names its caller in its answer)."""
    (folder / "child-script.yaml").write_text(
        "per_conversation: true\nresponses:\n"
        "  - tool_calls: [{name: final_answer, arguments: {answer: hi}}]\n"
    )
    spec = folder / "child.yaml"
    spec.write_text(
        "name: child\ndescription: Greets.\ntype: tool_calling\nmodel: scripted:child-script.yaml\n"
    )
    return spec


@contextmanager
def chain(tmp_path: Path, oauth: str) -> Iterator[tuple[AuthorizationServer, str]]:
    """An authorization server, a child agent behind it, and a boss behind it that calls the child
    with the `oauth` options of its spec and answers with the caller the child saw."""
    (tmp_path / "boss-script.yaml").write_text(
        "per_conversation: true\nresponses:\n  - |\n    <code>\n    reply = child(task='Who asks?')\n"
        "    final_answer(reply['caller'])\n    </code>\n"
    )
    with (
        authorization_server() as auth,
        serving_spec(child(tmp_path), "--oauth-issuer", auth.issuer) as child_url,
    ):
        (tmp_path / "boss.yaml").write_text(
            "name: boss\ndescription: Asks its child.\ntype: code\nmodel: scripted:boss-script.yaml\n"
            f"agents:\n  - url: {child_url}\n    oauth: {{{oauth}}}\n"
        )
        with serving_spec(tmp_path / "boss.yaml", "--oauth-issuer", auth.issuer) as boss_url:
            yield auth, boss_url


async def caller_seen_by_child(auth: AuthorizationServer, boss_url: str, user: str) -> object:
    async with calling(boss_url, await user_token(auth, boss_url, user)) as client:
        result = await client.call_tool("boss", {"task": "Ask the child who asks."})
    assert not result.is_error, result
    assert result.structured_content is not None
    assert result.structured_content["caller"] == user  # the boss's own caller
    return result.structured_content["answer"]


async def test_with_token_exchange_the_child_serves_the_bosss_caller_each_their_own(tmp_path: Path) -> None:
    with chain(tmp_path, f"token_exchange: true, {CREDENTIALS}") as (auth, boss_url):
        seen = [await caller_seen_by_child(auth, boss_url, user) for user in ("alice", "bob", "alice")]
    assert seen == ["alice", "bob", "alice"]


async def test_with_client_credentials_the_child_serves_the_boss_itself(tmp_path: Path) -> None:
    with chain(tmp_path, f"client_credentials: true, {CREDENTIALS}") as (auth, boss_url):
        assert await caller_seen_by_child(auth, boss_url, "alice") == "service"


async def test_a_refused_exchange_fails_the_call_naming_the_server_and_the_refusal(tmp_path: Path) -> None:
    with (
        authorization_server() as auth,
        serving_spec(child(tmp_path), "--oauth-issuer", auth.issuer) as url,
    ):
        client_id, secret = await registered_client(auth)  # allowed client credentials, not exchange
        oauth = OAuth(client_id=client_id, client_secret=secret, token_exchange=True)
        caller = await user_token(auth, "http://boss.example/mcp", "alice")
        async with ToolCollection([HttpServer(url, name="child", oauth=oauth)]) as tools:
            assert (await tools["child"].acall(task="Who asks?"))["caller"] == client_id  # not for a caller
            with on_behalf_of(caller), pytest.raises(SignInRequired) as refused:
                await tools["child"].acall(task="Who asks?")
            assert (await tools["child"].acall(task="Still there?"))["caller"] == client_id
    assert "server 'child'" in str(refused.value)
    assert "refused a token-exchange request: invalid_request (requested grant type is not allowed" in str(
        refused.value
    )
