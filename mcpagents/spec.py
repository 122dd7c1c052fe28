"""Agent spec files: one YAML file describes one agent, its model, its MCP servers and the agents it manages.

```yaml
name: researcher
description: Finds facts and cites them.
type: tool_calling
model: {id: openai/gpt-5-mini, temperature: 0}
mcpServers:
  fetch: {command: uvx, args: [mcp-server-fetch]}
agents: [summarizer.yaml]
```

Everything is checked when the file is loaded, the specs of managed agents included, so that a
mistake surfaces before any server or model starts.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_type_hints

from mcpagents.agents.budgets import Budget
from mcpagents.agents.registry import agent_type as registered_type, agent_type_names, takes_executor_options
from mcpagents.connections.host_config import (
    ConfiguredServer,
    expand_variables,
    load_server_config,
    load_server_entry,
)
from mcpagents.connections.specs import StdioServer
from mcpagents.errors import ConfigError, ModelKeyMissing
from mcpagents.logs import LOG_LEVELS, LogLevel
from mcpagents.models.resolve import DEFAULT_MODELS, MODEL_VARIABLE
from mcpagents.sandbox.interface import ExecutorMode, ExecutorOptions
from mcpagents.tracing.settings import Tracing

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent
    from mcpagents.tools.collection import ToolCollection


KEYS = (
    "name",
    "description",
    "type",
    "model",
    "instructions",
    "server_instructions",
    "max_steps",
    "budget",
    "tracing",
    "planning_interval",
    "tool_prompt_limit",
    "pinned_tools",
    "result_limit",
    "output_schema",
    "ask_user",
    "log_level",
    "sampling_limits",
    "executor",
    "mcpServers",
    "include",
    "exclude",
    "agents",
)
EXECUTOR_KEYS = tuple(option.name for option in fields(ExecutorOptions))
BUDGET_KEYS = tuple(limit.name for limit in fields(Budget))
TRACING_KEYS = ("run_log", "content", "otlp_endpoint")
SAMPLING_LIMIT_KEYS = ("max_requests", "max_tokens", "max_tokens_per_request")
_SPEC_AGENT_KEYS = ("spec", "env")
_URL_AGENT_KEYS = ("url", "headers", "type", "name", "oauth")
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_PATH_MODELS = ("scripted:", "local:")
"""Model strings that end in a file path, which a spec takes from its own folder."""


@dataclass(frozen=True)
class AgentSpec:
    """A parsed and checked agent spec file. `build()` makes the agent it describes.

    `model` is a model string (`resolve_model`; None for the default model) and `model_options` the
    options for its constructor; `type` names an agent type (`mcpagents.agents.registry`); `executor`
    holds the options of a code executor, for types that run code;
    `servers` are the `mcpServers` entries by name and `managed_agents` the servers of the agents it
    manages (`mcpagents serve CHILD.yaml` over stdio, or a URL).
    """

    path: Path
    name: str
    description: str
    type: str = "code"
    model: str | None = None
    model_options: Mapping[str, Any] = field(default_factory=dict)
    instructions: str | None = None
    server_instructions: bool = True
    max_steps: int | None = None
    budget: Budget | None = None
    """What each run may spend (tool calls, tokens, wall time)."""
    tracing: Tracing | None = None
    """What is recorded of each run (the run log, spans' content, an OTLP collector)."""
    planning_interval: int | None = None
    tool_prompt_limit: int | Literal["default"] | None = "default"
    """Tokens the tools may take in the prompt before they are indexed (None: no limit)."""
    pinned_tools: tuple[str, ...] = ()
    result_limit: int | None = None
    output_schema: dict[str, Any] | None = None
    executor: ExecutorOptions | None = None
    servers: Mapping[str, ConfiguredServer] = field(default_factory=dict)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    managed_agents: tuple[ConfiguredServer, ...] = ()
    ask_user: bool = False
    """Give the agent the `ask_user` tool (answered by whoever answers the run's elicitations)."""
    log_level: LogLevel | None = None
    """The least severe log messages the servers should send (they become run events)."""
    sampling_limits: Mapping[str, int] = field(default_factory=dict)
    """`SamplingLimits` fields: how much of the model the servers may use per run by sampling."""

    def tools(self) -> ToolCollection | None:
        """The tools of the spec's `mcpServers`, filtered by `include`/`exclude` (None without servers)."""
        if not self.servers:
            return None
        from mcpagents.tools.collection import ToolCollection

        return ToolCollection.from_mcp(
            list(self.servers.values()), include=self.include, exclude=self.exclude, log_level=self.log_level
        )

    def build(self, *, verbosity_level: int = 1) -> MultiStepAgent:
        """A new agent as the spec describes it; its servers start on its first run (or `with agent:`)."""
        from mcpagents.agents.registry import agent_type
        from mcpagents.models.resolve import resolve_model

        try:
            model = resolve_model(self.model, **self.model_options)
            model.check()  # a missing key or file now, before any server starts
        except TypeError as error:  # an option the model's constructor does not take
            raise ConfigError(f"{self.path}: model: {error}") from error
        except ModelKeyMissing as error:
            raise ModelKeyMissing(f"{self.path}: {error}", variable=error.variable) from error
        except ConfigError as error:
            raise ConfigError(f"{self.path}: {error}") from error
        options: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "instructions": self.instructions,
            "server_instructions": self.server_instructions,
            "planning_interval": self.planning_interval,
            "output_schema": self.output_schema,
            "managed_agents": self.managed_agents,
            "verbosity_level": verbosity_level,
        }
        if self.max_steps is not None:
            options["max_steps"] = self.max_steps
        if self.tool_prompt_limit != "default":
            options["tool_prompt_limit"] = self.tool_prompt_limit
        if self.pinned_tools:
            options["pinned_tools"] = self.pinned_tools
        if self.result_limit is not None:
            options["result_limit"] = self.result_limit
        if self.budget is not None:
            options["budget"] = self.budget
        if self.tracing is not None:
            options["tracing"] = self.tracing
        if self.executor is not None:
            options["executor_options"] = self.executor
        if self.sampling_limits:
            from mcpagents.agents.run_interaction import SamplingLimits

            options["sampling_limits"] = SamplingLimits(**self.sampling_limits)
        tools = self.tools()
        if self.ask_user:
            from mcpagents.tools.ask_user import ask_user

            return agent_type(self.type)([*([tools] if tools else []), ask_user], model, **options)
        return agent_type(self.type)(tools, model, **options)


def load_spec(path: str | os.PathLike[str]) -> AgentSpec:
    """Read and check an agent spec file, and the specs of the agents it manages (not starting them).

    Raises `ConfigError` naming the file, the key and what was expected.
    """
    return _read(os.fspath(path), _absolute(path), os.environ, ())


def load_agent(path: str | os.PathLike[str], *, verbosity_level: int = 1) -> MultiStepAgent:
    """The agent an agent spec file describes: `load_spec(path).build()`."""
    return load_spec(path).build(verbosity_level=verbosity_level)


def load_agents(
    paths: Sequence[str | os.PathLike[str]], *, model: str | None = None, verbosity_level: int = 1
) -> list[MultiStepAgent]:
    """The agents of these spec files, each with `model` instead of its own when given."""
    specs = [load_spec(path) for path in paths]
    if model:
        specs = [replace(spec, model=model, model_options={}) for spec in specs]
    return [spec.build(verbosity_level=verbosity_level) for spec in specs]


def _read(where: str, path: Path, environ: Mapping[str, str], chain: tuple[Path, ...]) -> AgentSpec:
    """`where` names the file in errors; `chain` holds the specs of the managers that lead to it (as
    real paths, so that a cycle through a symlink is seen too)."""
    data = _read_yaml(path, where)
    reader = _Reader(where, path, environ, chain)
    reader.check_keys(data, KEYS, "")
    agent_type = reader.agent_type(data.get("type", "code"))
    if data.get("executor") is not None and not takes_executor_options(registered_type(agent_type)):
        raise reader.fail("executor", f"only for types that run code (a {agent_type} agent runs none)")
    model, model_options = reader.model(data.get("model"))
    return AgentSpec(
        path=path,
        name=reader.name(data),
        description=reader.description(data),
        type=agent_type,
        model=model,
        model_options=model_options,
        instructions=reader.text(data.get("instructions"), "instructions"),
        server_instructions=reader.flag(data.get("server_instructions", True), "server_instructions"),
        max_steps=reader.positive_int(data.get("max_steps"), "max_steps"),
        budget=reader.budget(data.get("budget")),
        tracing=reader.tracing(data.get("tracing")),
        planning_interval=reader.positive_int(data.get("planning_interval"), "planning_interval"),
        tool_prompt_limit=reader.tool_prompt_limit(data.get("tool_prompt_limit", "default")),
        pinned_tools=reader.strings(data.get("pinned_tools"), "pinned_tools"),
        result_limit=reader.positive_int(data.get("result_limit"), "result_limit"),
        output_schema=reader.output_schema(data.get("output_schema")),
        executor=reader.executor(data.get("executor")),
        servers=reader.servers(data.get("mcpServers")),
        include=reader.strings(data.get("include"), "include"),
        exclude=reader.strings(data.get("exclude"), "exclude"),
        managed_agents=reader.managed_agents(data.get("agents")),
        ask_user=reader.flag(data.get("ask_user", False), "ask_user"),
        log_level=reader.log_level(data.get("log_level")),
        sampling_limits=reader.sampling_limits(data.get("sampling_limits")),
    )


def _read_yaml(path: Path, where: str) -> Mapping[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{where}: cannot read the agent spec: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{where}: cannot read the agent spec: not UTF-8 text ({error})") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or error
        raise ConfigError(f"{where}{at}: not valid YAML: {problem}") from error
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping of keys at the top level (at least `name` and `description`),"
            f" got {_show(data)}"
        )
    return data


@dataclass(frozen=True)
class _Reader:
    """Checks the values of one spec file; errors name the file and the key."""

    where: str
    path: Path
    environ: Mapping[str, str]
    chain: tuple[Path, ...]

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: {key}: {problem}")

    def expected(self, key: str, expected: str, value: Any) -> ConfigError:
        return self.fail(key, f"expected {expected}, got {_show(value)}")

    def check_keys(self, data: Mapping[Any, Any], known: Sequence[str], key: str) -> None:
        for name in data:
            if name in known:
                continue
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            listed = ", ".join(known)
            problem = f"unknown key {str(name)!r}{hint}; the keys are: {listed}"
            raise ConfigError(f"{self.where}: {key}: {problem}" if key else f"{self.where}: {problem}")

    def name(self, data: Mapping[str, Any]) -> str:
        value = data.get("name")
        if value is None:
            raise self.fail("name", "missing: every agent needs a name, which is its tool name when served")
        if not isinstance(value, str) or not _NAME.fullmatch(value):
            raise self.expected("name", "an identifier of letters, digits, _ and -", value)
        return value

    def description(self, data: Mapping[str, Any]) -> str:
        value = data.get("description")
        if value is None:
            raise self.fail("description", "missing: a served agent is an MCP tool, and tools need one")
        return self.text(value, "description") or ""

    def text(self, value: Any, key: str) -> str | None:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.expected(key, "a non-empty string", value)
        return value

    def choice(self, value: Any, key: str, choices: Sequence[str]) -> Any:
        if value not in choices:
            raise self.expected(key, " or ".join(choices), value)
        return value

    def sampling_limits(self, value: Any) -> dict[str, int]:
        if value is None:
            return {}
        limits = self.mapping(value, "sampling_limits", "a mapping of limits")
        self.check_keys(limits, SAMPLING_LIMIT_KEYS, "sampling_limits")
        chosen: dict[str, int] = {}
        for key, limit in limits.items():
            if limit is None or (number := self.positive_int(limit, f"sampling_limits.{key}")) is None:
                raise self.expected(f"sampling_limits.{key}", "a positive integer", limit)
            chosen[key] = number
        return chosen

    def budget(self, value: Any) -> Budget | None:
        if value is None:
            return None
        section = self.mapping(value, "budget", "a mapping of " + ", ".join(BUDGET_KEYS))
        self.check_keys(section, BUDGET_KEYS, "budget")
        kinds = get_type_hints(Budget)
        limits: dict[str, Any] = {}
        for key, given in section.items():
            if given is None:  # null: no limit, as the key's absence
                continue
            where = f"budget.{key}"
            counted = int in get_args(kinds[key])  # tool calls and tokens; the rest are seconds
            limits[key] = self.positive_int(given, where) if counted else self.positive_number(given, where)
        return Budget(**limits)

    def tracing(self, value: Any) -> Tracing | None:
        if value is None:
            return None
        section = self.mapping(value, "tracing", "a mapping of run_log, content, otlp_endpoint")
        self.check_keys(section, TRACING_KEYS, "tracing")
        return Tracing(
            run_log=None
            if section.get("run_log") is None
            else self.flag(section["run_log"], "tracing.run_log"),
            content=None
            if section.get("content") is None
            else self.flag(section["content"], "tracing.content"),
            otlp_endpoint=self.text(section.get("otlp_endpoint"), "tracing.otlp_endpoint"),
        )

    def log_level(self, value: Any) -> LogLevel | None:
        return None if value is None else self.choice(value, "log_level", LOG_LEVELS)

    def flag(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.expected(key, "true or false", value)
        return value

    def positive_int(self, value: Any, key: str) -> int | None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise self.expected(key, "a positive integer", value)
        return value

    def tool_prompt_limit(self, value: Any) -> int | Literal["default"] | None:
        if value is False:
            return None  # no limit: every tool in full
        if value == "default":
            return "default"
        limit = self.positive_int(value, "tool_prompt_limit")
        if limit is None:
            raise self.expected("tool_prompt_limit", "a positive integer, or false for no limit", value)
        return limit

    def positive_number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise self.expected(key, "a positive number", value)
        return float(value)

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.expected(key, "a list of strings", value)
        return tuple(value)

    def mapping(self, value: Any, key: str, expected: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping) or not all(isinstance(name, str) for name in value):
            raise self.expected(key, expected, value)
        return value

    def file(self, value: Any, key: str) -> Path:
        """A path, relative ones taken from the spec's folder."""
        if not isinstance(value, str) or not value:
            raise self.expected(key, "a file path", value)
        return _absolute(self.path.parent / Path(value).expanduser())

    def model(self, value: Any) -> tuple[str | None, dict[str, Any]]:
        if value is None:
            return None, {}
        if isinstance(value, str):
            return self.model_string(value, "model"), {}
        expected = "a model string, {id: MODEL, ...options} or {script: PATH}"
        options = dict(self.mapping(value, "model", expected))
        if "script" in options:
            if len(options) > 1:
                raise self.fail("model", "a {script: PATH} model takes no other key")
            return f"scripted:{self.file(options['script'], 'model.script')}", {}
        if "id" not in options:
            raise self.expected("model", expected, value)
        return self.model_string(options.pop("id"), "model.id"), options

    def model_string(self, value: Any, key: str) -> str:
        if isinstance(value, str):
            value = expand_variables(value, origin=self.where, path=key, environ=self.environ)
        if not isinstance(value, str) or not value.strip():
            raise self.expected(
                key, "a model string such as openai/gpt-5-mini, local or scripted:PATH", value
            )
        for prefix in _PATH_MODELS:
            if value.startswith(prefix) and value != prefix:
                return f"{prefix}{self.file(value.removeprefix(prefix), key)}"
        return value

    def output_schema(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        import jsonschema

        schema = dict(self.mapping(value, "output_schema", "a JSON Schema mapping"))
        validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        try:
            validator.check_schema(schema)
        except jsonschema.SchemaError as error:
            key = ".".join(["output_schema", *(str(part) for part in error.absolute_path)])
            raise self.fail(key, f"not a valid JSON Schema: {error.message}") from error
        return schema

    def agent_type(self, value: Any) -> str:
        choices = agent_type_names()
        if value not in choices:
            raise self.expected("type", " or ".join(choices), value)
        return str(value)

    def executor(self, value: Any) -> ExecutorOptions | None:
        if value is None:
            return None
        section = self.mapping(value, "executor", "a mapping of " + ", ".join(EXECUTOR_KEYS))
        self.check_keys(section, EXECUTOR_KEYS, "executor")
        defaults = ExecutorOptions()
        options: dict[str, Any] = {}
        for key, given in section.items():
            where, default = f"executor.{key}", getattr(defaults, key)
            if key == "mode":
                options[key] = self.choice(given, where, get_args(ExecutorMode))
            elif isinstance(default, tuple):
                options[key] = self.strings(given, where)
            elif isinstance(default, float):
                options[key] = self.positive_number(given, where)
            else:
                options[key] = self.positive_int(given, where)
        return ExecutorOptions(**options)

    def servers(self, value: Any) -> dict[str, ConfiguredServer]:
        """The `mcpServers` entries; a stdio server runs in the spec's folder unless its `cwd` says
        otherwise, so that relative paths mean the same from wherever the spec is run."""
        if value is None:
            return {}
        entries = load_server_config(
            {"mcpServers": value}, environ=self.environ, origin=self.where, strict=True
        )
        folder = self.path.parent
        return {
            name: replace(
                server,
                command=str(folder / server.command) if "/" in server.command else server.command,
                cwd=server.cwd or str(folder),
            )
            if isinstance(server, StdioServer)
            else server
            for name, server in entries.items()
        }

    def managed_agents(self, value: Any) -> tuple[ConfiguredServer, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.expected("agents", "a list of agent spec paths or entries", value)
        servers = tuple(self.managed_agent(entry, f"agents[{index}]") for index, entry in enumerate(value))
        names = Counter(server.display_name for server in servers)
        if duplicates := sorted(name for name, count in names.items() if count > 1):
            raise self.fail("agents", f"several managed agents are named {', '.join(duplicates)}")
        return servers

    def managed_agent(self, entry: Any, key: str) -> ConfiguredServer:
        expected = "a spec path, {spec: PATH, env: {...}} or {url: URL, headers: {...}, type: http|sse}"
        if isinstance(entry, str):
            entry = {"spec": entry}
        if not isinstance(entry, Mapping) or ("spec" in entry) == ("url" in entry):
            raise self.expected(key, expected, entry)
        if "url" in entry:
            self.check_keys(entry, _URL_AGENT_KEYS, key)
            name = entry.get("name")
            if name is not None and not isinstance(name, str):
                raise self.expected(f"{key}.name", "a string", name)
            # A served agent relays its tool servers' sampling requests: let it ask.
            remote = {"sampling": True, **{k: v for k, v in entry.items() if k != "name"}}
            return load_server_entry(name, remote, origin=self.where, path=key, environ=self.environ)
        self.check_keys(entry, _SPEC_AGENT_KEYS, key)
        child = self.file(entry["spec"], f"{key}.spec")
        chain = (*self.chain, self.path.resolve())
        if child.resolve() in chain:
            lineage = (*chain, child.resolve())
            cycle = " -> ".join(str(path) for path in lineage[lineage.index(child.resolve()) :])
            raise self.fail(key, f"a cycle of agent specs, which would start agents without end: {cycle}")
        # Only the entry's `env` is expanded here: `load_server_entry` gives it the config files' syntax.
        given = load_server_entry(
            None,
            {"command": sys.executable, "env": entry.get("env")},
            origin=self.where,
            path=key,
            environ=self.environ,
        )
        assert isinstance(given, StdioServer), "an entry with a command is a stdio server"
        env = {**self.model_environment(), **(given.env or {})}
        try:
            spec = _read(str(child), child, _child_environment(env), chain)
        except ConfigError as error:
            raise self.fail(key, str(error)) from error
        command = ["-m", "mcpagents", "serve", str(child)]
        return StdioServer(sys.executable, command, env, name=spec.name, sampling=True)

    def model_environment(self) -> dict[str, str]:
        """What a managed agent inherits: the model providers' keys, the MCPAGENTS_* settings and
        OpenTelemetry's OTEL_* (so that its spans go where its manager's go)."""
        names = {key for key, _ in DEFAULT_MODELS} | {MODEL_VARIABLE}
        return {
            name: value
            for name, value in self.environ.items()
            if name in names or name.startswith(("MCPAGENTS_", "OTEL_"))
        }


def _child_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The environment a stdio server gets, in which its spec's `${VAR}`s are expanded when served."""
    from mcp.client.stdio import get_default_environment

    return get_default_environment() | dict(env)


def _absolute(path: str | os.PathLike[str]) -> Path:
    """An absolute path, `..` removed but symlinks kept: relative paths in a spec reached through a
    symlink are taken from the symlink's folder, as the host config reader takes them."""
    return Path(os.path.abspath(Path(path).expanduser()))


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 100 else f"{shown[:99]}…"
