"""The JSON Schema of spec files (`mcpagents schema`): it knows every key `load_spec` knows, and
editors using it accept the example specs and flag a typo'd key or a wrong value."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from mcpagents.connections.host_config import ENTRY_KEYS
from mcpagents.spec import KEYS
from mcpagents.spec_schema import spec_schema
from tests.conftest import MCPAGENTS

EXAMPLES = Path(__file__).parents[1] / "examples" / "agents"


def test_the_schema_has_every_key_load_spec_knows_and_no_other() -> None:
    schema = spec_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == set(KEYS)
    assert set(schema["$defs"]["server"]["properties"]) == set(ENTRY_KEYS)


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda path: path.name)
def test_the_example_specs_match_it(example: Path) -> None:
    jsonschema.validate(yaml.safe_load(example.read_text()), spec_schema())


@pytest.mark.parametrize(
    ("change", "flagged"),
    [
        ({"instruction": "Be brief."}, "Additional properties are not allowed ('instruction'"),
        ({"max_steps": "3"}, "'3' is not of type 'integer'"),
        ({"type": "coding"}, "'coding' is not one of ['code', 'tool_calling']"),
        ({"mcpServers": {"calc": {"command": "calc", "timout": 5}}}, "('timout' was unexpected)"),
        ({"budget": {"max_tool_call": 3}}, "('max_tool_call' was unexpected)"),
    ],
)
def test_an_editor_flags_a_typo_or_a_wrong_value(change: dict[str, object], flagged: str) -> None:
    spec = {"name": "helper", "description": "Helps.", **change}
    with pytest.raises(
        jsonschema.ValidationError,
        match=re.escape(flagged),
    ):
        jsonschema.validate(spec, spec_schema())


def test_mcpagents_schema_prints_it() -> None:
    printed = subprocess.run([MCPAGENTS, "schema"], capture_output=True, text=True, check=True)
    assert json.loads(printed.stdout) == spec_schema()
