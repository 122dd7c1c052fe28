"""`mcpagents ui`: the hub page's HTTP API, driven over HTTP against the real command, whose agents
have scripted models and the bundled calculator (tests/data/hub)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.hub_server import BROKEN_COMMAND, TOKEN, Hub, running_hub

AUTH = {"Authorization": f"Bearer {TOKEN}"}
PARENT_RUN, CHILD_RUN = "a1b2c3d4e5f60718", "0f1e2d3c4b5a6978"  # tests/data/hub/runs
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with running_hub(tmp_path_factory.mktemp("hub")) as hub:
        yield hub


@pytest.fixture
def api(hub: Hub) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=f"{hub.url}/api", headers=AUTH, timeout=60) as client:
        yield client


def records(response: httpx2.Response) -> Iterator[dict[str, Any]]:
    """The records of a run's Server-Sent Events, as they arrive."""
    assert response.status_code == 200, response.read()
    assert response.headers["content-type"].startswith("text/event-stream")
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


def turn(api: httpx2.Client, chat: str, task: str) -> list[dict[str, Any]]:
    with api.stream("POST", f"/chats/{chat}/messages", json={"task": task}) as response:
        return list(records(response))


def new_chat(api: httpx2.Client, agent: str) -> str:
    created = api.post("/chats", json={"agent": agent})
    assert created.status_code == 201, created.text
    chat: str = created.json()["id"]
    return chat


def test_the_api_needs_the_token_and_the_page_does_not(hub: Hub) -> None:
    with httpx2.Client(base_url=hub.url, timeout=30) as http:
        assert http.get("/api/agents").status_code == 401
        assert http.get("/api/agents", headers={"Authorization": "Bearer wrong"}).status_code == 401
        agents = http.get("/api/agents", headers=AUTH)
        assert [agent["name"] for agent in agents.json()] == ["helper", "slow", "asker"]
        page = http.get("/")
        assert page.status_code == 200
        assert '<script src="/static/app.js" defer></script>' in page.text
        assert TOKEN not in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self';")
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        script = http.get("/static/app.js")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert "innerHTML" not in script.text  # what agents and servers say is set as text only


def test_other_sites_cannot_reach_the_api(hub: Hub) -> None:
    with httpx2.Client(base_url=hub.url, headers=AUTH, timeout=30) as http:
        assert http.get("/api/agents", headers={"Origin": "https://evil.example"}).status_code == 403
        assert http.get("/api/agents", headers={"Host": "evil.example"}).status_code == 421  # DNS rebinding
        assert http.get("/api/agents", headers={"Origin": hub.url}).status_code == 200
        # An HTML form of another site can only post form encodings, which the API refuses.
        form = http.post("/api/chats", content="agent=helper", headers={"Content-Type": "text/plain"})
        assert form.status_code == 400


def test_a_chat_streams_each_event_and_continues_its_conversation(api: httpx2.Client) -> None:
    chat = new_chat(api, "helper")
    first = turn(api, chat, "What is 3 times 12?")
    assert [record["type"] for record in first] == [
        "run",
        "tool_call",
        "tool_result",
        "action",
        "action",
        "final_answer",
        "result",
        "end",
    ]
    assert first[1]["arguments"] == {"expression": "3 * 12"}
    assert first[2]["result"]["exact"] == "36"
    assert first[3]["usage"]["input_tokens"] > 0
    assert first[5]["output"] == "36 (3 × 12)"
    assert first[6]["state"] == "success"

    # The second turn continues the conversation: the script's turns numbered after the first's.
    second = turn(api, chat, "And twice that?")
    calls = [record for record in second if record["type"] == "tool_call"]
    assert calls[0]["arguments"] == {"expression": "36 * 2"}
    assert [record["output"] for record in second if record["type"] == "final_answer"] == ["72, twice that"]

    # Another chat with the same agent starts its own conversation.
    again = turn(api, new_chat(api, "helper"), "What is 3 times 12?")
    assert [record["output"] for record in again if record["type"] == "final_answer"] == ["36 (3 × 12)"]


def test_a_run_is_cancelled_and_the_hub_goes_on(api: httpx2.Client) -> None:
    chat = new_chat(api, "slow")
    assert api.post(f"/chats/{chat}/cancel", json={}).status_code == 409  # nothing runs yet
    seen: list[str] = []
    with api.stream("POST", f"/chats/{chat}/messages", json={"task": "Take your time"}) as response:
        for record in records(response):
            seen.append(record["type"])
            if record["type"] == "run":
                busy = api.post(f"/chats/{chat}/messages", json={"task": "Another one"})
                assert busy.status_code == 409, busy.text  # one turn at a time
                assert api.post(f"/chats/{chat}/cancel", json={}).status_code == 204
    assert seen == ["run", "cancelled", "end"]
    records_after = turn(api, new_chat(api, "helper"), "What is 3 times 12?")
    assert records_after[-2]["state"] == "success"


def test_a_servers_question_is_answered_from_the_page(api: httpx2.Client) -> None:
    chat = new_chat(api, "asker")
    seen: list[dict[str, Any]] = []
    with api.stream("POST", f"/chats/{chat}/messages", json={"task": "Greet me"}) as response:
        for record in records(response):
            seen.append(record)
            if record["type"] == "question":
                assert record["message"] == "What is your name?"
                assert record["schema"]["properties"]["answer"]["type"] == "string"
                answers = f"/chats/{chat}/answers/{record['id']}"
                wrong = api.post(answers, json={"action": "accept", "content": {"answer": 5}})
                assert wrong.status_code == 400
                assert "answer" in wrong.json()["error"]
                assert (
                    api.post(answers, json={"action": "accept", "content": {"answer": "Ada"}}).status_code
                    == 204
                )
                assert (
                    api.post(answers, json={"action": "accept", "content": {}}).status_code == 404
                )  # answered
    results = [record for record in seen if record["type"] == "tool_result"]
    assert results[0]["name"] == "ask_user"
    assert results[0]["result"] == "Ada"
    asked = [record for record in seen if record["type"] == "input_requested"]
    assert asked[0]["action"] == "accept"
    assert seen[-2]["state"] == "success"


def test_configured_servers_are_listed_opened_and_called(hub: Hub, api: httpx2.Client) -> None:
    servers = {server["name"]: server for server in api.get("/servers").json()}
    assert servers["calc"]["source"] == f"Cursor: {hub.home / '.cursor' / 'mcp.json'}"
    assert servers["calculator"]["source"].startswith("agent helper: ")
    claude_code = hub.home / ".claude.json"
    assert servers["local-calc"]["source"] == f"Claude Code (local): {claude_code}, {hub.home.parent}"
    assert "elsewhere" not in servers, "another folder's servers are not this one's"
    local = api.get(f"/servers/{servers['local-calc']['id']}").json()
    assert local["connected"] is True and "multiply" in {tool["name"] for tool in local["tools"]}
    calc = servers["calc"]["id"]

    opened = api.get(f"/servers/{calc}").json()
    assert opened["connected"] is True
    tools = {tool["name"]: tool for tool in opened["tools"]}
    assert tools["evaluate"]["input_schema"]["properties"]["expression"]["type"] == "string"
    assert "resources" in opened
    assert "prompts" in opened

    called = api.post(f"/servers/{calc}/call", json={"tool": "multiply", "arguments": {"a": 6, "b": 7}})
    assert called.json() == {"result": 42}
    wrong = api.post(f"/servers/{calc}/call", json={"tool": "multiply", "arguments": {"a": "six", "b": 7}})
    assert "a" in wrong.json()["error"]

    broken = api.get(f"/servers/{servers['broken']['id']}").json()
    assert broken["connected"] is False
    assert BROKEN_COMMAND in broken["error"]
    assert api.get("/servers/nope").status_code == 404


def test_past_runs_are_listed_and_shown_with_their_trace(api: httpx2.Client, tmp_path: Path) -> None:
    listed = {run["run_id"]: run for run in api.get("/runs").json()}
    assert listed[PARENT_RUN]["agent"] == "manager"
    assert listed[CHILD_RUN]["depth"] == 1
    assert listed[PARENT_RUN]["total_tokens"] == 307
    assert "path" not in listed[PARENT_RUN]

    run = api.get(f"/runs/{PARENT_RUN}").json()
    assert run["header"]["task"] == "Ask the helper what 3 times 12 is"
    assert {span["name"] for span in run["spans"]} >= {"invoke_agent manager", "step 1", "tools/call helper"}
    assert [other["run_id"] for other in run["trace"]] == [CHILD_RUN]
    trace = api.get(f"/traces/{TRACE}").json()
    assert [each["header"]["agent"] for each in trace] == ["manager", "helper"]
    assert api.get("/runs/ffffffffffffffff").status_code == 404

    # The hub's own chats are logged as runs too.
    turn(api, new_chat(api, "helper"), "Logged? 3 times 12")
    assert "Logged? 3 times 12" in [run["task"] for run in api.get("/runs").json()]
