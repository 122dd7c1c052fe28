"""ScriptedModel, recordings and model strings: deterministic runs with no network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcpagents import (
    AgentMemory,
    ChatMessage,
    ConfigError,
    Image,
    LiteLLMModel,
    LocalModel,
    ModelError,
    RecordingModel,
    ScriptedModel,
    ToolCallingAgent,
    ToolDefinition,
    resolve_model,
)
from mcpagents.agents.memory import TaskStep
from mcpagents.models.messages import TextDelta, ToolCallDelta
from mcpagents.models.resolve import default_model_id

ASK = [{"role": "user", "content": "What is 2 + 2?"}]


def test_responses_are_replayed_in_order() -> None:
    model = ScriptedModel(
        ["```python\nfinal_answer(4)\n```", {"tool_calls": [{"name": "add", "arguments": {"a": 2}}]}]
    )
    first = model.generate(ASK)
    second = model.generate(ASK)
    assert first.text == "```python\nfinal_answer(4)\n```" and not first.tool_calls
    assert [(c.name, c.arguments) for c in second.tool_calls] == [("add", {"a": 2})]
    assert second.tool_calls[0].id == "call_0"
    assert model.remaining == 0


def test_running_out_of_responses_is_a_clear_error() -> None:
    model = ScriptedModel(["only one"])
    model.generate(ASK)
    with pytest.raises(ModelError) as caught:
        model.generate([*ASK, {"role": "user", "content": "and then?"}])
    assert str(caught.value) == (
        "ScriptedModel 'scripted' has no response left: its script has 1 and call 2 asked for another"
        " (last user/tool message: 'and then?')"
    )


def test_a_function_decides_each_response() -> None:
    def answer(messages: list[ChatMessage], tools: list[ToolDefinition] | None) -> str:
        return f"{len(messages)} messages, tools: {[t.name for t in tools or []]}"

    tool = ToolDefinition("add", "Add.", {"type": "object"})
    assert ScriptedModel(answer).generate(ASK, tools=[tool]).text == "1 messages, tools: ['add']"


def test_token_usage_is_counted_deterministically() -> None:
    response = ScriptedModel(["x" * 40]).generate([{"role": "user", "content": "y" * 80}])
    assert (response.usage.input_tokens, response.usage.output_tokens) == (21, 11)
    assert (response.usage + response.usage).total_tokens == 64


def test_streaming_a_script_yields_deltas() -> None:
    model = ScriptedModel(["hello", {"content": "", "tool_calls": [{"name": "t", "arguments": {"k": 1}}]}])
    assert [type(e).__name__ for e in model.stream(ASK)] == ["TextDelta", "ModelResponse"]
    events = list(model.stream(ASK))
    assert events[0] == ToolCallDelta(0, "call_0", "t", '{"k": 1}')
    assert not isinstance(events[0], TextDelta)


def test_scripts_load_from_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"responses": ["one", {"content": "two"}]}))
    (tmp_path / "b.yaml").write_text("- one\n- tool_calls:\n    - name: add\n      arguments: {a: 1}\n")
    assert [ScriptedModel.from_file(tmp_path / "a.json").generate(ASK).text for _ in range(1)] == ["one"]
    model = ScriptedModel.from_file(tmp_path / "b.yaml")
    model.generate(ASK)
    assert model.generate(ASK).tool_calls[0].arguments == {"a": 1}


def test_bad_scripts_name_the_file_and_the_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('["one", {"tool_calls": [{"arguments": {}}]}]')
    with pytest.raises(ConfigError, match=r"broken.json: responses\[1\].tool_calls: expected a list of"):
        ScriptedModel.from_file(broken)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"bad.json:1:2: not valid JSON"):
        ScriptedModel.from_file(tmp_path / "bad.json")


def test_a_recorded_run_replays_identically(tmp_path: Path) -> None:
    recording = tmp_path / "run.jsonl"
    live = RecordingModel(
        ScriptedModel(["first", {"tool_calls": [{"name": "add", "arguments": {"a": 1}}]}]), recording
    )
    tool = ToolDefinition("add", "Add.", {"type": "object", "properties": {"a": {"type": "integer"}}})
    originals = [live.generate(ASK), live.generate(ASK, tools=[tool], temperature=0.0)]
    entries = [json.loads(line) for line in recording.read_text().splitlines()]
    assert entries[1]["request"]["tools"][0]["name"] == "add"
    assert entries[1]["request"]["temperature"] == 0.0
    replay = resolve_model(f"scripted:{recording}")
    assert [replay.generate(ASK) for _ in originals] == originals


def test_model_strings_resolve(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('["hi"]')
    assert isinstance(resolve_model("local"), LocalModel)
    assert resolve_model(f"local:{tmp_path / 'other.gguf'}").model_path == tmp_path / "other.gguf"  # type: ignore[attr-defined]
    assert resolve_model(f"scripted:{tmp_path / 's.json'}").generate(ASK).text == "hi"
    model = resolve_model("ollama/llama3", api_base="http://127.0.0.1:11434")
    assert isinstance(model, LiteLLMModel)
    assert (model.model_id, model.api_base) == ("ollama/llama3", "http://127.0.0.1:11434")
    given = ScriptedModel([])
    assert resolve_model(given) is given


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "local"),
        ({"OPENAI_API_KEY": "k"}, "openai/gpt-5-mini"),
        ({"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"}, "anthropic/claude-sonnet-4-5"),
        ({"GEMINI_API_KEY": "k"}, "gemini/gemini-2.5-flash"),
        ({"MCPAGENTS_MODEL": "ollama/qwen3", "OPENAI_API_KEY": "k"}, "ollama/qwen3"),
    ],
)
def test_the_default_model_follows_the_keys_present(environ: dict[str, str], expected: str) -> None:
    assert default_model_id(environ) == expected


def test_importing_models_loads_neither_litellm_nor_llama_cpp() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, mcpagents; mcpagents.resolve_model; mcpagents.LiteLLMModel; mcpagents.LocalModel;"
        " print(sorted({'litellm', 'llama_cpp'} & set(sys.modules)))"
    )
    assert (
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "[]"
    )


def test_the_images_of_a_run_reach_the_model_its_recording_and_the_memory(tmp_path: Path) -> None:
    seen: list[ChatMessage] = []

    def answer(messages: list[ChatMessage], tools: list[ToolDefinition] | None) -> dict[str, Any]:
        seen.extend(messages)
        return {"tool_calls": [{"name": "final_answer", "arguments": {"answer": "a cat"}}]}

    picture = Image(b"\x89PNG cat", "image/png")
    recorder = RecordingModel(ScriptedModel(answer), tmp_path / "run.jsonl")
    agent = ToolCallingAgent([], recorder, verbosity_level=0)
    assert agent.run("What is this?", images=[picture]) == "a cat"
    (task,) = [message for message in seen if message.role == "user"]
    assert isinstance(task.content, list) and task.content[-1] == picture
    (entry,) = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    (sent,) = [m for m in entry["request"]["messages"] if m["role"] == "user"]
    assert sent["content"][-1] == {"image": "iVBORyBjYXQ=", "mime_type": "image/png", "url": None}
    restored = AgentMemory.from_json(agent.memory.to_json())
    assert [step.images for step in restored.steps if isinstance(step, TaskStep)] == [[picture]]
