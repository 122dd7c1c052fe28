"""Served agents as OAuth resource servers: `mcpagents serve --oauth-issuer` against a real
authorization server (oidc-provider, tests/peers/authorization_server.mjs), called by the MCP SDK's
client, its OAuth provider and the MCP Inspector, with the tokens those get from it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import re
import secrets
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import anyio
import httpx2
import mcp_types
import pytest
from mcp import Client
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from starlette.responses import PlainTextResponse

from mcpagents import ConfigError, HttpServer, ServerSettings, ToolCollection, ToolError
from mcpagents.http_server.introspection import IntrospectionVerifier, TokenIntrospection
from mcpagents.http_server.protected_resource import ProtectedResource, ResourceGuard
from mcpagents.serving.serve import guarded
from mcpagents.sign_in.flow import MemoryStorage
from tests.conftest import (
    TESTS,
    AuthorizationServer,
    authorization_server,
    inspector_cli,
    serving_spec,
)

REDIRECT = "http://127.0.0.1/callback"
"""The redirect URI the authorization server's client `service` is registered with."""

pytestmark = pytest.mark.anyio


def rememberer(folder: Path) -> Path:
    """An agent that answers whether its conversation is new: every conversation replays the
    script, whose third turn (0: its answer, 1: the answer as a message) is the second call's."""
    (folder / "script.yaml").write_text(
        "per_conversation: true\nresponses:\n"
        '  - tool_calls: [{name: final_answer, arguments: {answer: "a new conversation"}}]\n'
        "  - (never asked for)\n"
        '  - tool_calls: [{name: final_answer, arguments: {answer: "a continued conversation"}}]\n'
    )
    spec = folder / "rememberer.yaml"
    spec.write_text(
        "name: rememberer\ndescription: Says whether it spoke in this conversation before.\n"
        "type: tool_calling\nmodel: scripted:script.yaml\n"
    )
    return spec


def asker(folder: Path) -> Path:
    """An agent that asks its caller a question (`ask_user`), then answers "thanks"."""
    (folder / "asking.yaml").write_text(
        "per_conversation: true\nresponses:\n"
        '  - tool_calls: [{name: ask_user, arguments: {question: "Which colour?"}}]\n'
        '  - tool_calls: [{name: final_answer, arguments: {answer: "thanks"}}]\n'
    )
    spec = folder / "asker.yaml"
    spec.write_text(
        "name: asker\ndescription: Asks, then thanks.\ntype: tool_calling\nask_user: true\n"
        "model: scripted:asking.yaml\n"
    )
    return spec


async def metadata(auth: AuthorizationServer) -> dict[str, Any]:
    async with httpx2.AsyncClient(timeout=30) as http:
        found: dict[str, Any] = (
            await http.get(f"{auth.issuer}/.well-known/oauth-authorization-server")
        ).json()
    return found


async def client_token(
    auth: AuthorizationServer, resource: str, scope: str = "read", client: tuple[str, str] | None = None
) -> str:
    """An access token for `resource` by the client credentials grant (its subject: the client)."""
    async with httpx2.AsyncClient(timeout=30) as http:
        issued = await http.post(
            (await metadata(auth))["token_endpoint"],
            data={"grant_type": "client_credentials", "resource": resource, "scope": scope},
            auth=client or (auth.client_id, auth.client_secret),
        )
    assert issued.status_code == 200, issued.text
    token: str = issued.json()["access_token"]
    return token


async def user_token(auth: AuthorizationServer, resource: str, user: str) -> str:
    """An access token for `resource` acting for `user`: authorization code with PKCE, the browser's
    part played here (the authorization server approves by itself, as `login_hint` names)."""
    found = await metadata(auth)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    asked = {
        "response_type": "code",
        "client_id": auth.client_id,
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "read",
        "resource": resource,
        "login_hint": user,
    }
    async with httpx2.AsyncClient(timeout=30) as browser:
        page = await browser.get(f"{found['authorization_endpoint']}?{urlencode(asked)}")
        while not page.headers["location"].startswith(REDIRECT):
            page = await browser.get(urljoin(str(page.url), page.headers["location"]))
        code = parse_qs(urlsplit(page.headers["location"]).query)["code"][0]
        issued = await browser.post(
            found["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
            auth=(auth.client_id, auth.client_secret),
        )
    assert issued.status_code == 200, issued.text
    token: str = issued.json()["access_token"]
    return token


async def registered_client(auth: AuthorizationServer) -> tuple[str, str]:
    """A second client (another subject for client credentials), registered dynamically."""
    async with httpx2.AsyncClient(timeout=30) as http:
        registered = await http.post(
            (await metadata(auth))["registration_endpoint"],
            json={"grant_types": ["client_credentials"], "response_types": [], "redirect_uris": []},
        )
    assert registered.status_code == 201, registered.text
    return registered.json()["client_id"], registered.json()["client_secret"]


@asynccontextmanager
async def calling(url: str, token: str, **options: Any) -> AsyncIterator[Client]:
    """The MCP SDK's client, sending `token` as the bearer on every request."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), **options) as client,
    ):
        yield client


def challenge_of(response: httpx2.Response) -> dict[str, str]:
    """The parameters of a `WWW-Authenticate: Bearer name="value", ...` answer."""
    scheme, _, parameters = response.headers["www-authenticate"].partition(" ")
    assert scheme == "Bearer", response.headers["www-authenticate"]
    return dict(re.findall(r'(\w+)="([^"]*)"', parameters))


async def test_a_caller_with_a_token_for_the_endpoint_calls_the_agent_and_is_named_in_the_answer(
    tmp_path: Path,
) -> None:
    with (
        authorization_server() as auth,
        serving_spec(rememberer(tmp_path), "--oauth-issuer", auth.issuer) as url,
    ):
        async with calling(url, await client_token(auth, url)) as client:
            result = await client.call_tool("rememberer", {"task": "Hello."})
        health = httpx2.get(urljoin(url, "/health"), timeout=30)
    assert not result.is_error, result
    assert result.structured_content is not None
    assert result.structured_content["answer"] == "a new conversation"
    assert result.structured_content["caller"] == auth.client_id  # a client credentials token's subject
    assert health.status_code == 200 and health.json()["agents"] == {"rememberer": {"conversations": 0}}


async def test_without_a_token_the_answer_points_to_metadata_naming_the_authorization_server(
    tmp_path: Path,
) -> None:
    with (
        authorization_server() as auth,
        serving_spec(rememberer(tmp_path), "--oauth-issuer", auth.issuer) as url,
    ):
        async with httpx2.AsyncClient(timeout=30) as http:
            refused = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            legacy = await http.get(urljoin(url, "/sse"))
            challenge = challenge_of(refused)
            described = (await http.get(challenge["resource_metadata"])).json()
            other = (await http.get(challenge_of(legacy)["resource_metadata"])).json()
    assert refused.status_code == 401 and legacy.status_code == 401
    assert "error" not in challenge  # no token sent: no error code (RFC 6750 §3.1)
    assert challenge["resource_metadata"] == urljoin(url, "/.well-known/oauth-protected-resource/mcp")
    assert described["resource"] == url
    assert described["authorization_servers"] == [auth.issuer]  # exactly: no slash added
    assert other["resource"] == urljoin(url, "/sse")  # each endpoint is a resource of its own


async def test_tokens_for_another_endpoint_or_from_another_issuer_are_refused(tmp_path: Path) -> None:
    with (
        authorization_server() as auth,
        authorization_server() as stranger,
        serving_spec(rememberer(tmp_path), "--oauth-issuer", auth.issuer) as url,
    ):
        named = urljoin(url, "/rememberer/mcp")  # the same agent, at the path it has beside others
        tokens = {
            "another endpoint": await client_token(auth, named),
            "another issuer": await client_token(stranger, url),
            "not a JWT": "s3cret",
        }
        async with httpx2.AsyncClient(timeout=30) as http:
            refusals = {
                case: challenge_of(
                    await http.post(url, json={}, headers={"Authorization": f"Bearer {token}"})
                )
                for case, token in tokens.items()
            }
            at_its_own = await http.post(
                named,
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={
                    "Authorization": f"Bearer {tokens['another endpoint']}",
                    "Accept": "application/json, text/event-stream",
                    "MCP-Protocol-Version": "2025-11-25",
                },
            )
    assert {case: refusal["error"] for case, refusal in refusals.items()} == dict.fromkeys(
        tokens, "invalid_token"
    )
    assert refusals["another endpoint"]["error_description"] == (
        f"the access token is for '{named}', not for this resource ({url})"
    )
    assert refusals["another issuer"]["error_description"] == (
        f"the access token was issued by '{stranger.issuer}', not by {auth.issuer}"
    )
    assert "not a JWT" in refusals["not a JWT"]["error_description"]
    assert at_its_own.status_code == 200, at_its_own.text


async def test_an_expired_token_is_refused_once_it_expires(tmp_path: Path) -> None:
    with (
        authorization_server(access_ttl=1) as auth,
        serving_spec(rememberer(tmp_path), "--oauth-issuer", auth.issuer) as url,
    ):
        token = await client_token(auth, url)
        async with calling(url, token) as client:
            assert not (await client.call_tool("rememberer", {"task": "Hello."})).is_error
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            with anyio.fail_after(20):  # 1 s of life, and the server's few seconds of clock leeway
                while (answer := await http.post(url, json={})).status_code != 401:  # noqa: ASYNC110 (a clock to wait on)
                    await anyio.sleep(0.2)
    assert challenge_of(answer)["error"] == "invalid_token"
    assert challenge_of(answer)["error_description"] == "the access token has expired"


async def test_with_introspection_opaque_tokens_work_and_a_revoked_one_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--oauth-introspection`: each token goes to the authorization server (which issues opaque ones
    here), so one it revoked is refused on the next request, while the server serves on."""
    monkeypatch.setenv("MCPAGENTS_OAUTH_CLIENT_SECRET", "service-secret")  # the served process's too
    introspecting = ("--oauth-introspection", "--oauth-client-id", "service")
    with (
        authorization_server(token_format="opaque") as auth,
        serving_spec(rememberer(tmp_path), "--oauth-issuer", auth.issuer, *introspecting) as url,
    ):
        token, named = await client_token(auth, url), urljoin(url, "/rememberer/mcp")
        async with calling(url, token) as client:
            before = await client.call_tool("rememberer", {"task": "Hello."})
        async with httpx2.AsyncClient(timeout=30) as http:
            revoked = await http.post(
                (await metadata(auth))["revocation_endpoint"],
                data={"token": token, "token_type_hint": "access_token"},
                auth=(auth.client_id, auth.client_secret),
            )
            after = await http.post(url, json={}, headers={"Authorization": f"Bearer {token}"})
            elsewhere = await http.post(
                url, json={}, headers={"Authorization": f"Bearer {await client_token(auth, named)}"}
            )
        async with calling(url, await client_token(auth, url)) as client:
            fresh = await client.call_tool("rememberer", {"task": "Hello again."})
    assert token.count(".") != 2  # opaque: only the authorization server can tell what it grants
    assert before.structured_content is not None, before
    assert before.structured_content["caller"] == auth.client_id  # known as a JWT's caller would be
    assert revoked.status_code == 200, revoked.text
    assert after.status_code == 401 and challenge_of(after)["error"] == "invalid_token"
    assert "the access token is not active" in challenge_of(after)["error_description"]
    assert challenge_of(elsewhere)["error_description"] == (
        f"the access token is for '{named}', not for this resource ({url})"
    )
    assert not fresh.is_error, fresh


@pytest.mark.parametrize("down", ["refusing connections", "silent"])
async def test_an_authorization_server_down_gets_503_naming_it_within_the_timeout(down: str) -> None:
    """Introspection: a caller gets 503 (not 401: its token may be fine) naming the authorization
    server, within the timeout, whether that server refuses connections or never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        if down == "silent":
            listener.listen()  # connections are accepted by the kernel, and nothing ever answers
        issuer = f"http://127.0.0.1:{listener.getsockname()[1]}"
        resource = ProtectedResource("http://agents.test/mcp", issuer)
        introspection = TokenIntrospection(issuer, "service", "service-secret", timeout=1)
        guard = ResourceGuard(
            PlainTextResponse("never reached"), resource, IntrospectionVerifier(introspection, resource.url)
        )
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(guard), base_url=resource.url) as http:
            with anyio.fail_after(10):
                answer = await http.post("/mcp", headers={"Authorization": "Bearer opaque-token"})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "30"
    assert answer.text.startswith("cannot check access tokens now: ")
    assert f"the authorization server {issuer}" in answer.text


async def test_a_token_without_a_required_scope_gets_403_naming_the_scope(tmp_path: Path) -> None:
    with (
        authorization_server() as auth,
        serving_spec(rememberer(tmp_path), "--oauth-issuer", auth.issuer, "--required-scope", "write") as url,
    ):
        narrow, wide = await client_token(auth, url, "read"), await client_token(auth, url, "read write")
        async with httpx2.AsyncClient(timeout=30) as http:
            refused = await http.post(url, json={}, headers={"Authorization": f"Bearer {narrow}"})
            unsigned = challenge_of(await http.post(url, json={}))
            described = (await http.get(unsigned["resource_metadata"])).json()
        async with calling(url, wide) as client:
            allowed = await client.call_tool("rememberer", {"task": "Hello."})
    assert refused.status_code == 403
    challenge = challenge_of(refused)
    assert challenge["error"] == "insufficient_scope" and challenge["scope"] == "write"
    assert unsigned["scope"] == "write" and described["scopes_supported"] == ["write"]
    assert not allowed.is_error


@pytest.mark.parametrize("kept", ["in memory", "in a shared file"])
async def test_two_people_never_share_a_conversation_whatever_its_id(kept: str, tmp_path: Path) -> None:
    store = ("--conversation-store", str(tmp_path / "store.db")) if kept == "in a shared file" else ()
    with (
        authorization_server() as auth,
        serving_spec(rememberer(tmp_path), "--oauth-issuer", auth.issuer, *store) as url,
    ):
        alice, bob = await user_token(auth, url, "alice"), await user_token(auth, url, "bob")
        answers = []
        for token in (alice, bob, alice, bob):  # one client, two people
            async with calling(url, token) as client:
                result = await client.call_tool("rememberer", {"task": "Hi.", "conversation_id": "shared"})
            assert result.structured_content is not None, result
            answers.append((result.structured_content["caller"], result.structured_content["answer"]))
    assert answers == [
        ("alice", "a new conversation"),
        ("bob", "a new conversation"),
        ("alice", "a continued conversation"),
        ("bob", "a continued conversation"),
    ]


async def test_a_callers_tasks_are_unknown_to_every_other_caller(tmp_path: Path) -> None:
    with (
        authorization_server() as auth,
        serving_spec(rememberer(tmp_path), "--oauth-issuer", auth.issuer) as url,
    ):
        own, other = (
            await client_token(auth, url),
            await client_token(auth, url, client=await registered_client(auth)),
        )
        headers = {"Authorization": f"Bearer {own}"}
        async with ToolCollection.from_mcp(HttpServer(url, headers=headers, mode="legacy")) as tools:
            handle = await tools["rememberer"].astart(task="Hello.")
            assert (await handle.aresult())["answer"] == "a new conversation"
            assert (await handle.astatus()).status == "completed"
        headers = {"Authorization": f"Bearer {other}"}
        async with ToolCollection.from_mcp(HttpServer(url, headers=headers, mode="legacy")) as tools:
            with pytest.raises(ToolError) as unknown:
                await tools["rememberer"].task(handle.task_id).astatus()
            with pytest.raises(ToolError) as never_made:
                await tools["rememberer"].task("no-such-task").astatus()
        listings = {}
        for token in (own, other):
            async with calling(url, token, mode="legacy") as client:
                listed = await client.session.send_request(
                    mcp_types.ListTasksRequest(), mcp_types.ListTasksResult
                )
                listings[token] = [task.task_id for task in listed.tasks]
    assert str(unknown.value).replace(handle.task_id, "ID") == str(never_made.value).replace(
        "no-such-task", "ID"
    )
    assert listings == {own: [handle.task_id], other: []}


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_run_waiting_for_its_callers_answer_answers_no_one_else(workers: int, tmp_path: Path) -> None:
    """2026-07-28: the run asks, the call answers `input_required` with a `request_state` naming the
    run; another caller's retry with that state reaches no run, its caller's retry finishes it (with
    two workers, whichever worker each retry reaches: they meet in the shared file)."""
    shared = ("--workers", "2", "--conversation-store", str(tmp_path / "store.db")) if workers == 2 else ()
    blue = mcp_types.ElicitResult(action="accept", content={"answer": "blue"})

    async def answer(context: Any, params: mcp_types.ElicitRequestParams) -> mcp_types.ElicitResult:
        return blue  # declares elicitation; the answers below go with the retries

    with (
        authorization_server() as auth,
        serving_spec(asker(tmp_path), "--oauth-issuer", auth.issuer, *shared) as url,
    ):
        own, other = (
            await client_token(auth, url),
            await client_token(auth, url, client=await registered_client(auth)),
        )
        arguments = {"task": "Paint it."}
        async with calling(url, own, mode="2026-07-28", elicitation_callback=answer) as client:
            asked = await client.session.call_tool("asker", arguments, allow_input_required=True)
        assert isinstance(asked, mcp_types.InputRequiredResult) and asked.request_state is not None
        retry: dict[str, Any] = {
            "input_responses": dict.fromkeys(asked.input_requests, blue),
            "request_state": asked.request_state,
        }
        async with calling(url, other, mode="2026-07-28", elicitation_callback=answer) as client:
            stolen = await client.session.call_tool("asker", arguments, **retry)
        async with calling(url, own, mode="2026-07-28", elicitation_callback=answer) as client:
            answered = await client.session.call_tool("asker", arguments, **retry)
    assert stolen.is_error
    assert isinstance(stolen.content[0], mcp_types.TextContent)
    assert "holds no run for this call's request_state" in stolen.content[0].text
    assert answered.structured_content is not None and answered.structured_content["answer"] == "thanks"


async def test_a_session_answers_only_the_caller_who_opened_it(tmp_path: Path) -> None:
    """`--stateful`: a 2025-era session, and the id that names it, are its caller's (the SDK binds
    them to the token's principal, which the guard hands it)."""
    with (
        authorization_server() as auth,
        serving_spec(rememberer(tmp_path), "--oauth-issuer", auth.issuer, "--stateful") as url,
    ):
        own, other = (
            await client_token(auth, url),
            await client_token(auth, url, client=await registered_client(auth)),
        )
        headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
        hello = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        }
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            opened = await http.post(
                url,
                json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
                headers={"Authorization": f"Bearer {own}"},
            )
            session = {"Mcp-Session-Id": opened.headers["mcp-session-id"]}
            stolen = await http.post(url, json=ping, headers={**session, "Authorization": f"Bearer {other}"})
            kept = await http.post(url, json=ping, headers={**session, "Authorization": f"Bearer {own}"})
    assert opened.status_code == 200, opened.text
    assert stolen.status_code == 404  # as for a session that does not exist
    assert kept.status_code == 200, kept.text


async def test_the_sdks_client_credentials_provider_finds_the_authorization_server_by_itself(
    tmp_path: Path,
) -> None:
    """Nothing given but the agent's URL and the client's credentials: the SDK's provider reads the
    401, the resource's metadata and the authorization server's, and asks for a token for the URL."""
    with (
        authorization_server() as auth,
        serving_spec(rememberer(tmp_path), "--oauth-issuer", auth.issuer) as url,
    ):
        storage = MemoryStorage()
        provider = ClientCredentialsOAuthProvider(
            url, storage, auth.client_id, auth.client_secret, scope="read", issuer=auth.issuer
        )
        async with (
            httpx2.AsyncClient(auth=provider, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            result = await client.call_tool("rememberer", {"task": "Hello."})
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["caller"] == auth.client_id
    assert storage.tokens is not None  # what it signed in with


async def test_with_a_resource_url_one_token_opens_every_endpoint_of_the_server(tmp_path: Path) -> None:
    """`--resource-url` of the server's root: its metadata names that one resource (a parent of
    every endpoint's URL, as the SDK's provider wants), and a token for it opens each endpoint."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = f"http://127.0.0.1:{port}/"
    with (
        authorization_server() as auth,
        serving_spec(
            rememberer(tmp_path), "--oauth-issuer", auth.issuer, "--port", str(port), "--resource-url", root
        ) as url,
    ):
        storage = MemoryStorage()
        provider = ClientCredentialsOAuthProvider(
            urljoin(url, "/rememberer/mcp"), storage, auth.client_id, auth.client_secret, issuer=auth.issuer
        )
        async with (
            httpx2.AsyncClient(auth=provider, timeout=30) as http,
            Client(streamable_http_client(urljoin(url, "/rememberer/mcp"), http_client=http)) as client,
        ):
            first = await client.call_tool("rememberer", {"task": "Hi.", "conversation_id": "c"})
        assert storage.tokens is not None
        async with calling(url, storage.tokens.access_token) as client:  # /mcp, with the same token
            second = await client.call_tool("rememberer", {"task": "Hi.", "conversation_id": "c"})
        described = httpx2.get(urljoin(url, "/.well-known/oauth-protected-resource"), timeout=30).json()
    assert described["resource"] == root
    assert [
        result.structured_content and result.structured_content["answer"] for result in (first, second)
    ] == [
        "a new conversation",
        "a continued conversation",  # one agent at both paths, one caller
    ]


def test_the_mcp_inspector_signs_in_with_authorization_code_and_pkce(tmp_path: Path) -> None:
    """The Inspector's CLI, a static client (its CLI has no client credentials grant): it finds the
    authorization server from the served agent's 401 and metadata, and sends a person to sign in;
    here a scripted browser follows the authorization server's redirects back to its callback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        callback = f"http://127.0.0.1:{probe.getsockname()[1]}/callback"
    call = ["--method=tools/call", "--tool-name=rememberer", "--tool-arg", "task=Hello.", "--format=json"]
    with (
        authorization_server() as auth,
        # The required scope is what the 401 and the metadata tell the Inspector to ask for.
        serving_spec(rememberer(tmp_path), "--oauth-issuer", auth.issuer, "--required-scope", "read") as url,
    ):
        signing_in = [f"--client-id={auth.client_id}", f"--client-secret={auth.client_secret}"]
        inspector = subprocess.Popen(
            [
                *inspector_cli(),
                url,
                *call,
                *signing_in,
                f"--callback-url={callback}",
            ],
            cwd=TESTS / "peers",
            env={
                **os.environ,
                "HOME": str(tmp_path),
                "MCP_INSPECTOR_SECRET_STORE": "memory",
                "MCP_AUTO_OPEN_ENABLED": "true",  # print the sign-in address without a terminal...
                "BROWSER": "true",  # ...and open no real browser
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            said = []
            for line in _lines(inspector):
                said.append(line)
                if line.startswith("Please navigate to: "):
                    break
            with httpx2.Client(timeout=30) as browser:
                page = browser.get(said[-1].removeprefix("Please navigate to: ").strip())
                while not page.headers["location"].startswith(callback):
                    page = browser.get(urljoin(str(page.url), page.headers["location"]))
                assert browser.get(page.headers["location"]).status_code == 200
            assert inspector.wait(timeout=60) == 0, "".join(said)
            assert inspector.stdout is not None
            result = json.loads(inspector.stdout.read())["result"]
        finally:
            inspector.kill()
            inspector.wait()
    assert result["structuredContent"]["answer"] == "a new conversation"
    assert result["structuredContent"]["caller"] == "test-user"  # the person the sign-in was for


def _lines(process: subprocess.Popen[str]) -> Iterator[str]:
    """The process's stderr lines as they come, each within 60 s."""
    arrived: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            arrived.put(line)
        arrived.put(None)

    threading.Thread(target=read, daemon=True).start()
    while (line := arrived.get(timeout=60)) is not None:
        yield line


def test_an_authorization_server_excludes_a_static_token_and_needs_a_public_url_off_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer = "https://auth.example.com"
    with pytest.raises(ConfigError, match=r"a static token .* and an authorization server .* are exclusive"):
        ServerSettings(token="s3cret", oauth_issuer=issuer)
    with pytest.raises(ConfigError, match="must be an https URL"):
        ServerSettings(oauth_issuer="http://auth.example.com")
    with pytest.raises(ConfigError, match="give its oauth_issuer"):
        ServerSettings(required_scopes=["read"])
    with pytest.raises(ConfigError, match="needs --resource-url"):
        guarded(ServerSettings(host="0.0.0.0", oauth_issuer=issuer))
    public = guarded(
        ServerSettings(host="0.0.0.0", oauth_issuer=issuer, resource_url="https://agents.example.com/mcp")
    )
    assert public.resource_of("/helper/mcp") == "https://agents.example.com/mcp"
    monkeypatch.setenv("MCPAGENTS_TOKEN", "s3cret")
    with pytest.raises(ConfigError, match=r"\$MCPAGENTS_TOKEN is set"):
        guarded(ServerSettings(oauth_issuer=issuer))


def test_introspection_needs_an_issuer_and_the_servers_own_client_credentials() -> None:
    with pytest.raises(ConfigError, match=r"give its oauth_issuer \(--oauth-issuer\)"):
        ServerSettings(oauth_introspection=True, oauth_client_id="rs", oauth_client_secret="s3cret")
    with pytest.raises(ConfigError, match=r"--oauth-client-id.*\$MCPAGENTS_OAUTH_CLIENT_SECRET"):
        ServerSettings(
            oauth_issuer="https://auth.example.com", oauth_introspection=True, oauth_client_id="rs"
        )
    with pytest.raises(ConfigError, match=r"add oauth_introspection \(--oauth-introspection\)"):
        ServerSettings(oauth_issuer="https://auth.example.com", oauth_client_id="rs")
    settings = ServerSettings(
        oauth_issuer="https://auth.example.com",
        oauth_introspection=True,
        oauth_client_id="rs",
        oauth_client_secret="s3cret",
    )
    assert "s3cret" not in repr(settings)
