"""A JSON Schema of agent spec files, for editors: completion and a first check as the file is
written (`# yaml-language-server: $schema=...` at the top of a spec, or the editor's own setting).
`mcpagents schema` prints it. `load_spec` stays the judge: it checks what a schema cannot say
(files that exist, models that can answer, names that do not collide)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from mcpagents.agents.budgets import Budget
from mcpagents.connections.host_config import ENTRY_KEYS
from mcpagents.logs import LOG_LEVELS
from mcpagents.sandbox.interface import ExecutorOptions
from mcpagents.sign_in.options import OAuth

SCHEMA_ID = "https://mcpagents.dev/schemas/agent-spec.json"

_STRING = {"type": "string"}
_POSITIVE = {"type": "integer", "minimum": 1}
_STRINGS = {"type": "array", "items": _STRING}
_STRING_MAP = {"type": "object", "additionalProperties": _STRING}


def spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) an agent spec file matches."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "mcpagents agent spec",
        "type": "object",
        "required": ["name", "description"],
        "additionalProperties": False,
        "properties": {
            "name": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]+$",
                "description": "The agent's (tool's) name.",
            },
            "description": {"type": "string", "description": "What to ask the agent."},
            "type": {"enum": ["code", "tool_calling"], "default": "code"},
            "model": {
                "description": "A model string (openai/gpt-5-mini, local, scripted:PATH), or its options.",
                "anyOf": [
                    _STRING,
                    {"type": "object", "required": ["id"], "properties": {"id": _STRING}},
                    {
                        "type": "object",
                        "required": ["script"],
                        "properties": {"script": _STRING},
                        "additionalProperties": False,
                    },
                ],
            },
            "instructions": _STRING,
            "server_instructions": {"type": "boolean", "default": True},
            "max_steps": _POSITIVE,
            "budget": _options(fields(Budget), "What each run may spend."),
            "tracing": {
                "type": "object",
                "description": "What is recorded of each run (docs/tracing.md).",
                "additionalProperties": False,
                "properties": {
                    "run_log": {"type": "boolean"},
                    "content": {"type": "boolean"},
                    "otlp_endpoint": _STRING,
                },
            },
            "planning_interval": _POSITIVE,
            "tool_prompt_limit": {
                "description": "Tokens the tools may take in the prompt; beyond, an index. false: no limit.",
                "anyOf": [_POSITIVE, {"const": False}],
            },
            "pinned_tools": _STRINGS,
            "result_limit": _POSITIVE,
            "output_schema": {"type": "object", "description": "A JSON Schema the final answer must match."},
            "ask_user": {"type": "boolean"},
            "log_level": {"enum": list(LOG_LEVELS)},
            "sampling_limits": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    key: _POSITIVE for key in ("max_requests", "max_tokens", "max_tokens_per_request")
                },
            },
            "executor": _options(fields(ExecutorOptions), "The code executor's options (code agents)."),
            "mcpServers": {"type": "object", "additionalProperties": {"$ref": "#/$defs/server"}},
            "include": _STRINGS,
            "exclude": _STRINGS,
            "agents": {"type": "array", "items": {"$ref": "#/$defs/agent"}},
        },
        "$defs": {
            "server": {
                "type": "object",
                "additionalProperties": False,
                "properties": {key: _ENTRY_TYPES.get(key, {}) for key in ENTRY_KEYS},
            },
            "agent": {
                "anyOf": [
                    _STRING,
                    {
                        "type": "object",
                        "required": ["spec"],
                        "additionalProperties": False,
                        "properties": {"spec": _STRING, "env": _STRING_MAP},
                    },
                    {
                        "type": "object",
                        "required": ["url"],
                        "additionalProperties": False,
                        "properties": {
                            "url": _STRING,
                            "headers": _STRING_MAP,
                            "type": _STRING,
                            "name": _STRING,
                            "oauth": _ENTRY_TYPES["oauth"],
                        },
                    },
                ]
            },
        },
    }


def _options(options: Any, description: str) -> dict[str, Any]:
    """An object of a dataclass's options (their values are checked by `load_spec`)."""
    return {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "properties": {option.name: {} for option in options},
    }


_ENTRY_TYPES: dict[str, dict[str, Any]] = {
    "command": _STRING,
    "args": _STRINGS,
    "env": _STRING_MAP,
    "envFile": _STRING,
    "cwd": _STRING,
    "url": _STRING,
    "headers": _STRING_MAP,
    "type": _STRING,
    "transport": _STRING,
    "builtin": _STRING,
    "timeout": {"type": "number", "exclusiveMinimum": 0},
    "roots": _STRINGS,
    "sampling": {"type": "boolean"},
    "disabled": {"type": "boolean"},
    "oauth": {
        "anyOf": [
            {"type": "boolean"},
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {option.name: {} for option in fields(OAuth)},
            },
        ]
    },
}
"""The values of a server entry's keys, where a schema can say them (`mode` and the rest: `load_spec`)."""
