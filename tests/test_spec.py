"""Agent spec files: parsing, checking, building agents, and running them over real MCP servers."""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

import mcpagents
from mcpagents import (
    CodeAgent,
    ConfigError,
    ExecutorOptions,
    HttpServer,
    LiteLLMModel,
    StdioServer,
    ToolCallingAgent,
)
from mcpagents.models.resolve import DEFAULT_MODELS
from mcpagents.spec import AgentSpec, load_agent, load_spec
from tests.conftest import CALC_SERVER

CALC_ENTRY = {"command": sys.executable, "args": [str(CALC_SERVER)]}


def write(path: Path, content: Any) -> Path:
    """`content` as YAML, or JSON in a .json file (text is written as it is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not isinstance(content, str):
        content = json.dumps(content) if path.suffix == ".json" else yaml.safe_dump(content, sort_keys=False)
    path.write_text(content)
    return path


def spec_file(folder: Path, file: str = "agent.yaml", **keys: Any) -> Path:
    return write(folder / file, {"name": "helper", "description": "Helps.", **keys})


def script(folder: Path, *responses: Any, file: str = "script.yaml") -> Path:
    return write(folder / file, list(responses))


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_spec(path)
    return str(caught.value)


# What a spec gives the agent


def test_every_key_is_parsed_and_applied_to_a_code_agent(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"sum": {"type": "integer"}}, "required": ["sum"]}
    path = spec_file(
        tmp_path,
        name="summer",
        description="Adds things up.",
        type="code",
        model={"id": "openai/gpt-4o", "api_base": "http://127.0.0.1:9/v1", "temperature": 0.5},
        instructions="Show your sums.",
        max_steps=7,
        planning_interval=3,
        output_schema=schema,
        executor={
            "mode": "local",
            "authorized_imports": ["math", "json"],
            "step_timeout": 5,
            "tool_wait_limit": 60,
            "memory_mb": 256,
            "file_mb": 8,
            "disk_mb": 32,
            "max_files": 100,
            "open_files": 64,
            "output_limit": 1000,
        },
        mcpServers={"calc": CALC_ENTRY},
        include=["d*", "add"],
        exclude=["die"],
    )
    spec = load_spec(path)
    assert (spec.path, spec.name, spec.description, spec.type) == (path, "summer", "Adds things up.", "code")
    agent = spec.build(verbosity_level=0)
    assert isinstance(agent, CodeAgent)
    assert (agent.name, agent.description, agent.instructions) == (
        "summer",
        "Adds things up.",
        "Show your sums.",
    )
    assert (agent.max_steps, agent.planning_interval, agent.output_schema) == (7, 3, schema)
    assert agent.executor_options == ExecutorOptions(
        mode="local",
        authorized_imports=("math", "json"),
        step_timeout=5.0,
        tool_wait_limit=60.0,
        memory_mb=256,
        file_mb=8,
        disk_mb=32,
        max_files=100,
        open_files=64,
        output_limit=1000,
    )
    assert isinstance(agent.model, LiteLLMModel)
    assert (agent.model.model_id, agent.model.api_base) == ("openai/gpt-4o", "http://127.0.0.1:9/v1")
    assert agent.model.completion_options == {"temperature": 0.5}
    assert agent.console.verbosity_level == 0
    with agent:
        assert sorted(tool.name for tool in agent.toolbox.tools()) == ["add", "divide"]


def test_defaults_give_a_code_agent_with_the_default_model_and_no_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCPAGENTS_MODEL", "openai/gpt-5-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    spec = load_spec(spec_file(tmp_path))
    assert spec == AgentSpec(path=tmp_path / "agent.yaml", name="helper", description="Helps.")
    assert spec.tools() is None
    agent = load_agent(spec.path, verbosity_level=0)
    assert isinstance(agent, CodeAgent)
    assert (agent.model.model_id, agent.max_steps, agent.toolbox.collections) == ("openai/gpt-5-mini", 20, [])
    assert load_agent(spec.path).console.verbosity_level == 1
    assert (mcpagents.load_spec, mcpagents.load_agent) == (load_spec, load_agent)


def test_a_spec_built_tool_calling_agent_runs_a_task_on_the_calc_server(tmp_path: Path) -> None:
    script(tmp_path, call("add", a=12, b=30), call("final_answer", answer="42"))
    path = spec_file(
        tmp_path,
        type="tool_calling",
        model="scripted:script.yaml",
        mcpServers={"calc": CALC_ENTRY},
        include=["add"],
    )
    with load_agent(path, verbosity_level=0) as agent:
        assert isinstance(agent, ToolCallingAgent)
        result = agent.run("What is 12 + 30?", return_full_result=True)
    assert (result.output, result.state) == ("42", "success")
    assert [(c.name, c.result) for c in result.steps[1].tool_calls] == [("add", 42)]


def test_a_spec_built_code_agent_runs_a_task_on_the_calc_server(tmp_path: Path) -> None:
    code = "```python\nfinal_answer({'sum': add(a=12, b=30)})\n```"
    script(tmp_path, code, file="code.json")
    path = spec_file(
        tmp_path,
        model={"script": "code.json"},
        output_schema={"type": "object", "properties": {"sum": {"type": "integer"}}},
        mcpServers={"calc": CALC_ENTRY},
    )
    with load_agent(path, verbosity_level=0) as agent:
        result = agent.run("What is 12 + 30?", return_full_result=True)
    assert (result.output, result.state) == ({"sum": 42}, "success")
    assert [(c.name, c.result) for c in result.steps[1].tool_calls] == [("add", 42)]


def test_relative_paths_are_taken_from_the_spec_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "project"
    (folder / "tools").mkdir(parents=True)
    shutil.copy(CALC_SERVER, folder / "tools" / "calc.py")
    script(folder / "scripts", call("add", a=1, b=1), call("final_answer", answer="two"))
    path = spec_file(
        folder,
        type="tool_calling",
        model="scripted:scripts/script.yaml",
        mcpServers={
            "calc": {"command": sys.executable, "args": ["tools/calc.py"]},
            "elsewhere": {"command": "./bin/server", "cwd": "work", "disabled": True},
            "moved": {"command": "./bin/server", "cwd": "work"},
        },
        include=["add"],
    )
    monkeypatch.chdir(tmp_path)
    spec = load_spec("project/agent.yaml")
    assert spec.path == path
    assert spec.model == f"scripted:{folder}/scripts/script.yaml"
    assert spec.servers["calc"].cwd == str(folder), "a stdio server runs in the spec's folder"
    assert spec.servers["moved"] == StdioServer(f"{folder}/bin/server", cwd=f"{folder}/work", name="moved")
    assert "elsewhere" not in spec.servers
    spec = replace(spec, servers={"calc": spec.servers["calc"]})
    with spec.build(verbosity_level=0) as agent:
        assert agent.run("1 + 1?") == "two"


def test_variables_in_mcp_servers_are_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPEC_TEST_SERVER", str(CALC_SERVER))
    monkeypatch.delenv("SPEC_TEST_UNSET", raising=False)
    entry = {
        "command": sys.executable,
        "args": ["${SPEC_TEST_SERVER}"],
        "env": {"GREETING": "${SPEC_TEST_UNSET:-hello}"},
    }
    spec = load_spec(spec_file(tmp_path, mcpServers={"calc": entry}))
    assert spec.servers["calc"].args == (str(CALC_SERVER),)
    tools = spec.tools()
    assert tools is not None
    with tools:
        assert tools["getenv"](name="GREETING") == "hello"


# Managed agents


def test_agent_entries_become_servers_of_served_specs_with_the_model_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, _ in DEFAULT_MODELS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("MCPAGENTS_MODEL", "openai/gpt-5-mini")
    monkeypatch.setenv("SPEC_TEST_TOKEN", "t0ken")
    monkeypatch.setenv("UNRELATED_SECRET", "keep me here")
    spec_file(tmp_path / "team", "researcher.yml", name="researcher")
    spec_file(tmp_path / "team", "writer.yaml", name="writer")
    path = spec_file(
        tmp_path,
        agents=[
            "team/researcher.yml",
            {"spec": "team/writer.yaml", "env": {"TOKEN": "${SPEC_TEST_TOKEN}", "MODE": "draft"}},
            {"url": "http://127.0.0.1:8123/sse", "headers": {"Authorization": "Bearer ${SPEC_TEST_TOKEN}"}},
            {"url": "http://127.0.0.1:8123/b/mcp", "type": "http", "name": "remote-b"},
        ],
    )
    spec = load_spec(path)
    inherited = {
        "OPENAI_API_KEY": "sk-test",
        **{key: value for key, value in os.environ.items() if key.startswith("MCPAGENTS_")},
    }
    assert inherited["MCPAGENTS_LOG_DIR"] == str(tmp_path / "server-logs")
    assert inherited["MCPAGENTS_MODEL"] == "openai/gpt-5-mini"
    researcher, writer, remote, remote_b = spec.managed_agents
    assert researcher == StdioServer(
        sys.executable,
        ["-m", "mcpagents", "serve", str(tmp_path / "team" / "researcher.yml")],
        inherited,
        name="researcher",
        sampling=True,  # a managed agent relays its servers' sampling requests up the chain
    )
    assert writer.args[-1] == str(tmp_path / "team" / "writer.yaml")
    assert (writer.name, writer.env) == ("writer", {**inherited, "TOKEN": "t0ken", "MODE": "draft"})
    remote_url, remote_b_url = "http://127.0.0.1:8123/sse", "http://127.0.0.1:8123/b/mcp"
    assert remote == HttpServer(remote_url, {"Authorization": "Bearer t0ken"}, "sse", sampling=True)
    assert remote_b == HttpServer(remote_b_url, None, "streamable-http", "remote-b", sampling=True)
    agent = spec.build(verbosity_level=0)
    assert agent.toolbox.managed_agents == list(spec.managed_agents)


def test_a_child_spec_is_checked_in_the_environment_it_will_get(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPEC_TEST_TOKEN", "t0ken")
    child = spec_file(
        tmp_path,
        "child.yaml",
        name="child",
        mcpServers={"calc": {**CALC_ENTRY, "env": {"TOKEN": "${SPEC_TEST_TOKEN}"}}},
    )
    unpassed = error_of(spec_file(tmp_path, agents=["child.yaml"]))
    assert unpassed == (
        f"{tmp_path}/agent.yaml: agents[0]: {child}: mcpServers.calc.env.TOKEN: ${{SPEC_TEST_TOKEN}} is not"
        " set (set it, or write ${SPEC_TEST_TOKEN:-default})"
    )
    passed = load_spec(spec_file(tmp_path, agents=[{"spec": "child.yaml", "env": {"SPEC_TEST_TOKEN": "x"}}]))
    assert passed.managed_agents[0].name == "child"


def test_a_cycle_of_specs_is_refused_with_its_chain(tmp_path: Path) -> None:
    a = spec_file(tmp_path, "a.yaml", name="a", agents=["sub/b.yaml"])
    b = spec_file(tmp_path / "sub", "b.yaml", name="b", agents=["../a.yaml"])
    assert error_of(a) == (
        f"{a}: agents[0]: {b}: agents[0]: a cycle of agent specs, which would start agents without end:"
        f" {a} -> {b} -> {a}"
    )
    itself = spec_file(tmp_path, "self.yaml", name="self", agents=["self.yaml"])
    assert error_of(itself).endswith(
        f"agents[0]: a cycle of agent specs, which would start agents without end: {itself} -> {itself}"
    )
    linked = spec_file(tmp_path / "real", "linked.yaml", name="linked", agents=["../alias.yaml"])
    (tmp_path / "alias.yaml").symlink_to(linked)
    assert error_of(linked).endswith(f"without end: {linked} -> {linked}"), "a symlink is the same spec"


def test_a_diamond_of_specs_is_no_cycle(tmp_path: Path) -> None:
    spec_file(tmp_path, "leaf.yaml", name="leaf")
    spec_file(tmp_path, "left.yaml", name="left", agents=["leaf.yaml"])
    spec_file(tmp_path, "right.yaml", name="right", agents=["leaf.yaml"])
    spec = load_spec(spec_file(tmp_path, agents=["left.yaml", "right.yaml"]))
    assert [server.name for server in spec.managed_agents] == ["left", "right"]


def test_errors_of_managed_agent_entries_name_the_entry(tmp_path: Path) -> None:
    missing = error_of(spec_file(tmp_path, agents=["nobody.yaml"]))
    assert missing == (
        f"{tmp_path}/agent.yaml: agents[0]: {tmp_path}/nobody.yaml: cannot read the agent spec:"
        " No such file or directory"
    )
    spec_file(tmp_path, "bad.yaml", name="bad", max_steps="ten")
    assert error_of(spec_file(tmp_path, agents=[{"spec": "bad.yaml"}])) == (
        f"{tmp_path}/agent.yaml: agents[0]: {tmp_path}/bad.yaml: max_steps: expected a positive integer,"
        " got 'ten'"
    )
    both = error_of(spec_file(tmp_path, agents=[{"spec": "bad.yaml", "url": "http://x/mcp"}]))
    assert both.startswith(f"{tmp_path}/agent.yaml: agents[0]: expected a spec path, {{spec: PATH")
    assert "agents[0]: unknown key 'headres' (did you mean 'headers'?)" in error_of(
        spec_file(tmp_path, agents=[{"url": "http://x/mcp", "headres": {}}])
    )
    assert error_of(spec_file(tmp_path, agents=[{"url": "ftp://x"}])).endswith(
        'agents[0].url: must be an http:// or https:// URL, got "ftp://x"'
    )
    spec_file(tmp_path, "twin.yaml", name="helper")
    assert error_of(spec_file(tmp_path, agents=["twin.yaml", {"spec": "twin.yaml"}])).endswith(
        "agents: several managed agents are named helper"
    )


# Errors name the file and the key


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"max_step": 3}, "unknown key 'max_step' (did you mean 'max_steps'?); the keys are: name, "),
        ({"max_steps": "ten"}, "max_steps: expected a positive integer, got 'ten'"),
        ({"max_steps": 0}, "max_steps: expected a positive integer, got 0"),
        ({"max_steps": True}, "max_steps: expected a positive integer, got True"),
        ({"planning_interval": -1}, "planning_interval: expected a positive integer, got -1"),
        ({"type": "python"}, "type: expected code or tool_calling, got 'python'"),
        ({"name": "my agent"}, "name: expected an identifier of letters, digits, _ and -, got 'my agent'"),
        ({"name": None}, "name: missing: every agent needs a name"),
        ({"description": None}, "description: missing: a served agent is an MCP tool"),
        ({"description": ""}, "description: expected a non-empty string, got ''"),
        ({"instructions": ["be nice"]}, "instructions: expected a non-empty string, got ['be nice']"),
        ({"include": "add"}, "include: expected a list of strings, got 'add'"),
        ({"exclude": [1]}, "exclude: expected a list of strings, got [1]"),
        ({"model": {"temperature": 0}}, "model: expected a model string, {id: MODEL, ...options} or {script"),
        ({"model": {"script": "s.yaml", "id": "x"}}, "model: a {script: PATH} model takes no other key"),
        ({"model": ""}, "model: expected a model string such as openai/gpt-5-mini"),
        ({"model": {"id": 3}}, "model.id: expected a model string such as openai/gpt-5-mini"),
        ({"output_schema": "object"}, "output_schema: expected a JSON Schema mapping, got 'object'"),
        (
            {"output_schema": {"properties": {"a": {"type": "integr"}}}},
            "output_schema.properties.a.type: not a valid JSON Schema: 'integr' is not valid",
        ),
        ({"executor": {"timeout": 3}}, "executor: unknown key 'timeout' (did you mean 'step_timeout'?)"),
        ({"executor": {"mode": "docker"}}, "executor.mode: expected local or sandbox, got 'docker'"),
        ({"executor": {"step_timeout": 0}}, "executor.step_timeout: expected a positive number, got 0"),
        ({"executor": {"memory_mb": "1G"}}, "executor.memory_mb: expected a positive integer, got '1G'"),
        ({"executor": {"output_limit": 1.5}}, "executor.output_limit: expected a positive integer, got 1.5"),
        (
            {"executor": {"authorized_imports": "math"}},
            "executor.authorized_imports: expected a list of strings, got 'math'",
        ),
        (
            {"type": "tool_calling", "executor": {"mode": "local"}},
            "executor: only for types that run code (a tool_calling agent runs none)",
        ),
        ({"mcpServers": ["calc"]}, "mcpServers: must be an object mapping server names to entries"),
        ({"mcpServers": {"calc": {"command": 1}}}, "mcpServers.calc.command: must be a string, got 1"),
        (
            {"mcpServers": {"calc": {"command": "x", "args": ["${SPEC_TEST_UNSET}"]}}},
            "mcpServers.calc.args[0]: ${SPEC_TEST_UNSET} is not set",
        ),
        (
            {"agents": "child.yaml"},
            "agents: expected a list of agent spec paths or entries, got 'child.yaml'",
        ),
    ],
)
def test_errors_name_the_file_and_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: dict[str, Any], message: str
) -> None:
    monkeypatch.delenv("SPEC_TEST_UNSET", raising=False)
    path = spec_file(tmp_path, **keys)
    assert error_of(path).startswith(f"{path}: {message}")


def test_errors_of_the_file_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert (
        error_of(Path("absent.yaml")) == "absent.yaml: cannot read the agent spec: No such file or directory"
    )
    write(tmp_path / "broken.yaml", "name: a\ndescription: [unclosed\n")
    assert error_of(Path("broken.yaml")).startswith("broken.yaml:3:1: not valid YAML: expected ',' or ']'")
    write(tmp_path / "list.yaml", "- name: a\n")
    assert error_of(Path("list.yaml")) == (
        "list.yaml: expected a mapping of keys at the top level (at least `name` and `description`),"
        " got [{'name': 'a'}]"
    )
    write(tmp_path / "empty.yaml", "")
    assert error_of(Path("empty.yaml")).endswith("got None")


def test_a_model_option_its_constructor_refuses_is_reported_at_build(tmp_path: Path) -> None:
    path = spec_file(tmp_path, model={"id": "local", "colour": "blue"})
    with pytest.raises(ConfigError) as caught:
        load_spec(path).build()
    assert str(caught.value).startswith(f"{path}: model: ")
    assert "colour" in str(caught.value)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("opneai/gpt-5-mini", "model opneai/gpt-5-mini: unknown provider 'opneai' (did you mean 'openai'?)"),
        ("anthropic/claude-sonnet-4-5", "no API key: set $ANTHROPIC_API_KEY (or give the model an api_key)"),
        ("scripted:replys.yaml", "cannot read the model script (No such file or directory) (did you mean"),
        ("local:missing.gguf", "missing.gguf: no such model file"),
    ],
)
def test_a_model_that_cannot_answer_is_reported_when_the_agent_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str, message: str
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    script(tmp_path, call("final_answer", answer="42"), file="replies.yaml")
    spec = load_spec(spec_file(tmp_path, model=model))  # loading reads no model
    with pytest.raises(ConfigError) as caught:
        spec.build()
    assert str(caught.value).startswith(str(spec.path)) and message in str(caught.value)
    if model.startswith("scripted:"):
        assert str(tmp_path / "replies.yaml") in str(caught.value)


def test_a_key_or_endpoint_given_to_the_model_stands_for_the_provider_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for options in ({"api_key": "sk-test"}, {"api_base": "http://127.0.0.1:9/v1"}):
        load_spec(spec_file(tmp_path, model={"id": "openai/gpt-5-mini", **options})).build()
    load_spec(spec_file(tmp_path, model="ollama/llama3")).build()  # a local server needs no key


@pytest.mark.parametrize(("key", "closest"), [("timout", "timeout"), ("enviroment", "env"), ("arg", "args")])
def test_unknown_keys_of_server_entries_are_errors_in_specs(tmp_path: Path, key: str, closest: str) -> None:
    path = spec_file(tmp_path, mcpServers={"calc": {**CALC_ENTRY, key: 1}})
    assert f"mcpServers.calc: unknown key {key!r} (did you mean {closest!r}?)" in error_of(path)


def test_the_model_string_expands_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "script.yaml", ["done"])
    path = spec_file(tmp_path, model="${SPEC_TEST_MODEL:-scripted:script.yaml}")
    monkeypatch.delenv("SPEC_TEST_MODEL", raising=False)
    assert load_spec(path).model == f"scripted:{tmp_path / 'script.yaml'}"
    monkeypatch.setenv("SPEC_TEST_MODEL", "openai/gpt-5-mini")
    assert load_spec(path).model == "openai/gpt-5-mini"
    monkeypatch.delenv("SPEC_TEST_MODEL")
    with pytest.raises(ConfigError, match=r"agent.yaml: model: \$\{env:SPEC_TEST_MODEL\} is not set"):
        load_spec(spec_file(tmp_path, model="${env:SPEC_TEST_MODEL}"))


def test_interaction_keys_reach_the_agent_and_its_servers(tmp_path: Path) -> None:
    spec = load_spec(
        spec_file(
            tmp_path,
            type="tool_calling",
            ask_user=True,
            log_level="warning",
            sampling_limits={"max_requests": 2, "max_tokens": 500},
            mcpServers={"calc": {**CALC_ENTRY, "sampling": True, "roots": ["data", "file:///srv"]}},
        )
    )
    (calc,) = spec.servers.values()
    assert calc.sampling and calc.roots == (str(tmp_path / "data"), "file:///srv")
    agent = spec.build(verbosity_level=0)
    assert (agent.sampling_limits.max_requests, agent.sampling_limits.max_tokens) == (2, 500)
    assert any(collection.servers == ["local"] for collection in agent.toolbox.collections), "ask_user"
    wrong = error_of(spec_file(tmp_path, sampling_limits={"max_request": 2}))
    assert "sampling_limits: unknown key 'max_request' (did you mean 'max_requests'?)" in wrong
    assert error_of(spec_file(tmp_path, log_level="loud")).endswith(
        "log_level: expected debug or info or notice or warning or error or critical or alert or emergency,"
        " got 'loud'"
    )
