"""Ten one-step tool-calling prompts over six tools: the embedded model's tool-call benchmark and test."""

from __future__ import annotations

from typing import Any

TOOLS: list[dict[str, Any]] = [
    {
        "name": "add",
        "description": "Add two numbers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
    {
        "name": "multiply",
        "description": "Multiply two numbers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
    {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
    {
        "name": "convert_temperature",
        "description": "Convert a temperature between Celsius and Fahrenheit.",
        "parameters": {
            "type": "object",
            "properties": {"value": {"type": "number"}, "to_unit": {"enum": ["celsius", "fahrenheit"]}},
            "required": ["value", "to_unit"],
        },
    },
    {
        "name": "search_web",
        "description": "Search the web for a query.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
    {
        "name": "send_email",
        "description": "Send an email.",
        "parameters": {
            "type": "object",
            "properties": {
                "to": {"type": "string"},
                "subject": {"type": "string"},
                "body": {"type": "string"},
            },
            "required": ["to", "subject", "body"],
        },
    },
]

PROMPTS: list[tuple[str, str, dict[str, Any]]] = [
    ("What is 12 plus 30?", "add", {"a": 12, "b": 30}),
    ("Multiply 7 by 6.", "multiply", {"a": 7, "b": 6}),
    ("What's the weather in Paris?", "get_weather", {"city": "Paris"}),
    ("Convert 100 degrees to fahrenheit.", "convert_temperature", {"value": 100, "to_unit": "fahrenheit"}),
    ("Search the web for MCP servers.", "search_web", {"query": "MCP servers"}),
    (
        "Email bob@example.com with subject Hi and body Hello Bob.",
        "send_email",
        {"to": "bob@example.com", "subject": "Hi", "body": "Hello Bob."},
    ),
    ("Add 2.5 and 4.", "add", {"a": 2.5, "b": 4}),
    ("How is the weather in Tokyo today?", "get_weather", {"city": "Tokyo"}),
    ("What is 9 times 9?", "multiply", {"a": 9, "b": 9}),
    ("Find information about llamas on the web.", "search_web", {"query": "llamas"}),
]


def is_correct(name: str, arguments: dict[str, Any], expected_name: str, expected: dict[str, Any]) -> bool:
    """Right tool, and every expected argument present with the expected value (text compared loosely)."""
    if name != expected_name:
        return False
    for key, value in expected.items():
        got = arguments.get(key)
        if isinstance(value, str):
            if not isinstance(got, str) or value.lower().rstrip(".") not in got.lower():
                return False
        elif got != value:
            return False
    return True
