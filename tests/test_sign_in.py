"""Signing in to MCP servers behind OAuth 2.1, as a client: `mcpagents login` through the browser
flow (the browser step done by an HTTP client following the redirects), the sign-in kept per user
and renewed, client credentials, and clear, fast errors when a sign-in is missing or refused.

The authorization server is a real one (oidc-provider, tests/peers); the protected MCP server is an
agent served by `mcpagents serve` behind it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import keyring.core
import pytest
from mcp.shared.auth import OAuthToken

from mcpagents import HttpServer, OAuth, SignInRequired, ToolCollection, load_server_config
from mcpagents.errors import ConfigError
from mcpagents.sign_in.keyring_store import KeyringStore
from mcpagents.sign_in.token_store import SignIn, TokenStore, default_store, expiry
from tests.conftest import MCPAGENTS, AuthorizationServer, authorization_server, serving_spec

SCRIPT = (
    "per_conversation: true\nresponses:\n  - tool_calls: [{name: final_answer, arguments: {answer: ok}}]\n"
)


@contextmanager
def protected(tmp_path: Path, access_ttl: int = 3600) -> Iterator[tuple[AuthorizationServer, str]]:
    """An authorization server, and an agent served behind it: its URL."""
    (tmp_path / "script.yaml").write_text(SCRIPT)
    spec = tmp_path / "agent.yaml"
    spec.write_text("name: agent\ndescription: Answers.\ntype: tool_calling\nmodel: scripted:script.yaml\n")
    with (
        authorization_server(access_ttl) as issuer,
        serving_spec(spec, "--oauth-issuer", issuer.issuer) as url,
    ):
        yield issuer, url


@pytest.fixture
def sign_ins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "sign-ins"
    monkeypatch.setenv("MCPAGENTS_SIGN_IN_DIR", str(directory))
    return directory


@pytest.fixture
def plaintext_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """keyring with keyrings.alt's plaintext backend, its file in tmp_path: a real keyring that runs
    anywhere, and one only an explicit `MCPAGENTS_SIGN_IN_STORE=keyring` may use. No store is chosen."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    for variable, folder in (("HOME", ""), ("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config")):
        monkeypatch.setenv(variable, str(tmp_path / folder))
    monkeypatch.delenv("MCPAGENTS_SIGN_IN_STORE", raising=False)
    monkeypatch.delenv("MCPAGENTS_SIGN_IN_DIR", raising=False)
    # keyring picks its backend once per process: have it read this environment (restored after).
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


def login(url: str, *flags: str) -> str:
    """`mcpagents login --url URL --no-browser`, the browser step done by following the redirects
    of the address it prints; what it printed last."""
    process = subprocess.Popen(
        [MCPAGENTS, "login", "--url", url, "--no-browser", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith(f"To sign in to {url}, open this address")
        address = process.stdout.readline().strip()
        page = httpx2.get(address, follow_redirects=True, timeout=30)
        assert page.status_code == 200 and "You can close this tab" in page.text, page.text
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    return out


def answer(server: HttpServer) -> object:
    with ToolCollection.from_mcp(server) as tools:
        return tools["agent"](task="Anything?")


def test_login_then_every_connection_sends_the_kept_sign_in(tmp_path: Path, sign_ins: Path) -> None:
    with protected(tmp_path) as (issuer, url):
        said = login(url)
        assert said.startswith("Signed in to 127.0.0.1") and "renewed as it expires" in said
        assert answer(HttpServer(url))["answer"] == "ok"  # type: ignore[index]
        (kept,) = sign_ins.iterdir()
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert stat.S_IMODE(sign_ins.stat().st_mode) == 0o700
        record = json.loads(kept.read_text())
        assert record["issuer"] == issuer.issuer and record["resource"] == url
        assert record["client"]["client_id"], "registered on the fly (dynamic client registration)"
        logout = subprocess.run([MCPAGENTS, "logout", "--url", url], capture_output=True, text=True)
        assert logout.returncode == 0 and "Signed out" in logout.stdout
        assert not list(sign_ins.iterdir())
        with pytest.raises(SignInRequired, match=f"run `mcpagents login --url {url}`"):
            answer(HttpServer(url))


def test_an_expired_sign_in_is_renewed_and_a_refused_token_renewed_once(
    tmp_path: Path, plaintext_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kept in a keyring this time: `login`, every renewal and `logout` go through it.
    monkeypatch.setenv("MCPAGENTS_SIGN_IN_STORE", "keyring")
    with protected(tmp_path, access_ttl=2) as (_, url):
        login(url)
        store = default_store()
        first = store.load(url)
        assert first is not None and first.expires_at is not None
        deadline = time.monotonic() + 10
        while not first.expired:  # the store's own clock decides when a token is to be renewed
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert answer(HttpServer(url))["answer"] == "ok"  # type: ignore[index]
        renewed = store.load(url)
        assert renewed is not None and renewed.tokens.access_token != first.tokens.access_token
        # A token the server refuses (here: one it never issued), not known to be expired: renewed once.
        forged = renewed.tokens.model_copy(update={"access_token": "forged", "expires_in": 3600})
        store.save(renewed.renewed(forged))
        assert answer(HttpServer(url))["answer"] == "ok"  # type: ignore[index]
        # Once the refresh token is refused too, the error says what to run.
        broken = forged.model_copy(update={"refresh_token": "forged-too"})
        store.save(renewed.renewed(broken))
        started = time.monotonic()
        with pytest.raises(
            SignInRequired, match=r"could not be renewed .*invalid_grant.*`mcpagents login --url"
        ):
            answer(HttpServer(url))
        assert time.monotonic() - started < 10, "fails fast"
        logout = subprocess.run([MCPAGENTS, "logout", "--url", url], capture_output=True, text=True)
        assert "gone from the system keyring (file PlaintextKeyring)" in logout.stdout, logout.stderr
        assert keyring.get_password("mcpagents", url) is None


def test_a_sign_in_refused_mid_run_fails_that_call_and_the_connection_lives_on(
    tmp_path: Path, sign_ins: Path
) -> None:
    with protected(tmp_path) as (_, url):
        login(url)
        store = TokenStore(sign_ins)
        good = store.load(url)
        assert good is not None
        with ToolCollection.from_mcp(HttpServer(url, name="notes")) as tools:
            assert tools["agent"](task="First?")["answer"] == "ok"
            forged = good.tokens.model_copy(update={"access_token": "forged", "refresh_token": "forged-too"})
            store.save(good.renewed(forged))
            with pytest.raises(
                SignInRequired, match=r"server 'notes' .*could not be renewed .*invalid_grant"
            ):
                tools["agent"](task="Second?")
            store.save(good)
            assert tools["agent"](task="Third?")["answer"] == "ok"


def test_a_server_that_needs_a_sign_in_fails_at_once_naming_the_command(
    tmp_path: Path, sign_ins: Path
) -> None:
    with protected(tmp_path) as (_, url):
        started = time.monotonic()
        with pytest.raises(
            SignInRequired,
            match=rf"server 'plain' .* needs an OAuth sign-in: run `mcpagents login --url {url}`",
        ):
            answer(HttpServer(url, name="plain"))
        with pytest.raises(SignInRequired, match=rf"server 'declared' \({url}\) needs a sign-in"):
            answer(HttpServer(url, name="declared", oauth=OAuth()))
        assert time.monotonic() - started < 10


def test_the_keyring_keeps_sign_ins_when_asked_to(
    tmp_path: Path, plaintext_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCPAGENTS_SIGN_IN_STORE", "keyring")
    monkeypatch.setenv("MCPAGENTS_SIGN_IN_DIR", str(tmp_path / "sign-ins"))  # the explicit choice wins
    url = "https://mcp.example.com/mcp"
    tokens = OAuthToken(access_token="a", refresh_token="r", expires_in=60)
    sign_in = SignIn(url, tokens, expiry(tokens), None, "https://as.example", "https://as.example/t", url)
    store = default_store()
    assert isinstance(store, KeyringStore)
    store.save(sign_in)
    assert store.load(f"{url}/") == sign_in
    assert SignIn.from_json(keyring.get_password("mcpagents", url) or "") == sign_in
    assert not (tmp_path / "sign-ins").exists() and not (tmp_path / "config").exists()
    assert store.forget(url) and not store.forget(url)
    assert store.load(url) is None and keyring.get_password("mcpagents", url) is None


def test_the_store_is_chosen_safely(
    tmp_path: Path, plaintext_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = default_store()  # a keyring in a plain file is no better than our own files
    assert isinstance(store, TokenStore) and store.directory == tmp_path / "config/mcpagents/sign-ins"
    monkeypatch.setenv("MCPAGENTS_SIGN_IN_STORE", "bogus")
    with pytest.raises(
        ConfigError, match="MCPAGENTS_SIGN_IN_STORE is 'bogus': expected one of keyring, file"
    ):
        default_store()
    monkeypatch.setenv("MCPAGENTS_SIGN_IN_STORE", "keyring")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    with pytest.raises(ConfigError, match=r"finds no keyring here .* or set MCPAGENTS_SIGN_IN_STORE=file"):
        default_store()


def test_client_credentials_and_token_files_need_no_person(tmp_path: Path, sign_ins: Path) -> None:
    with protected(tmp_path) as (issuer, url):
        service = OAuth(
            client_id=issuer.client_id, client_secret=issuer.client_secret, client_credentials=True
        )
        assert answer(HttpServer(url, oauth=service))["answer"] == "ok"  # type: ignore[index]
        wrong = OAuth(client_id=issuer.client_id, client_secret="wrong", client_credentials=True)
        with pytest.raises(SignInRequired, match="refused a client_credentials request: invalid_client"):
            answer(HttpServer(url, name="wrong", oauth=wrong))
        assert not sign_ins.exists() or not list(sign_ins.iterdir()), "client tokens stay in memory"
        # A token issued elsewhere, read from a file on each connection.
        issued = httpx2.post(
            f"{issuer.issuer}/token",
            data={"grant_type": "client_credentials", "resource": url},
            auth=(issuer.client_id, issuer.client_secret),
        ).json()["access_token"]
        token_file = tmp_path / "token"
        token_file.write_text(issued + "\n")
        assert answer(HttpServer(url, oauth=OAuth(token_file=str(token_file))))["answer"] == "ok"  # type: ignore[index]
        token_file.write_text("not-a-token")
        with pytest.raises(SignInRequired, match=f"refused the token of {token_file}"):
            answer(HttpServer(url, name="stale", oauth=OAuth(token_file=str(token_file))))


def test_config_entries_take_oauth_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET", "s3cret")
    config = {
        "mcpServers": {
            "plain": {"url": "https://a.example/mcp", "oauth": True},
            "service": {
                "url": "https://b.example/mcp",
                "oauth": {"client_id": "bot", "client_secret": "${SECRET}", "client_credentials": True},
            },
            "chained": {
                "url": "https://c.example/mcp",
                "oauth": {"client_id": "bot", "client_secret": "${SECRET}", "token_exchange": True},
            },
            "issued": {"url": "https://d.example/mcp", "oauth": {"token_file": str(tmp_path / "token")}},
        }
    }
    servers = load_server_config(config)
    assert servers["plain"].oauth == OAuth()  # type: ignore[union-attr]
    assert servers["service"].oauth == OAuth(client_id="bot", client_secret="s3cret", client_credentials=True)  # type: ignore[union-attr]
    assert servers["chained"].oauth == OAuth(client_id="bot", client_secret="s3cret", token_exchange=True)  # type: ignore[union-attr]
    assert servers["issued"].oauth == OAuth(token_file=str(tmp_path / "token"))  # type: ignore[union-attr]
    for entry, problem in (
        ({"oauth": "yes"}, "must be true or an object of sign-in options"),
        ({"oauth": {"client": "x"}}, 'unknown key "client"; expected one of client_id'),
        ({"oauth": {"client_credentials": True}}, "client_credentials needs a client_id and a client_secret"),
        ({"oauth": {"callback_port": "80"}}, "callback_port: must be a port number"),
        ({"oauth": {"token_exchange": True}}, "token_exchange needs a client_id and a client_secret"),
        ({"oauth": {"token_exchange": "yes"}}, "token_exchange: must be true or false"),
    ):
        with pytest.raises(ConfigError, match=problem):
            load_server_config({"mcpServers": {"x": {"url": "https://c.example/mcp", **entry}}})


def test_login_names_what_it_cannot_sign_in_to(tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"local": {"command": "true"}}}))
    cases = [
        (["--url", "http://127.0.0.1:9/mcp", "--no-browser"], "127.0.0.1:9/mcp is unreachable"),
        (["local", "--config", str(config)], "server 'local' is started by a command: it needs no sign-in"),
        (["other", "--config", str(config)], "no server named 'other'; servers there: 'local'"),
        ([], "name the server: --url URL, or SERVER with --config FILE or --spec FILE"),
    ]
    for arguments, problem in cases:
        done = subprocess.run(
            [MCPAGENTS, "login", *arguments], capture_output=True, text=True, env={**os.environ}, timeout=60
        )
        assert done.returncode != 0 and problem in done.stderr, done.stderr
