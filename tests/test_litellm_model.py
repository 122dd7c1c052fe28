"""LiteLLMModel against real HTTP servers on 127.0.0.1: a scriptable OpenAI-compatible stub for
retries and failures, and llama.cpp's own OpenAI-compatible server with the embedded model."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import jsonschema
import pytest

from mcpagents import ChatMessage, Image, JsonSchemaFormat, LiteLLMModel, ModelError, ToolDefinition
from mcpagents.models.local import default_model_path
from mcpagents.models.messages import TextDelta
from tests.conftest import TESTS
from tests.servers.openai_stub import Reply, openai_stub

HELLO = [{"role": "user", "content": "Say hello."}]


def stub_model(url: str, **options: object) -> LiteLLMModel:
    return LiteLLMModel("openai/stub", api_base=url, api_key="not-needed", retry_delay=0.01, **options)  # type: ignore[arg-type]


def test_rate_limits_are_retried_until_the_answer_comes() -> None:
    with openai_stub(Reply(429, headers={"retry-after": "0"}), Reply(429), Reply(text="hello there")) as stub:
        response = stub_model(stub.url).generate(HELLO)
    assert len(stub.requests) == 3
    assert response.text == "hello there"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 7)


def test_retries_end_with_an_error_naming_model_provider_and_status() -> None:
    with openai_stub(Reply(503, error="overloaded")) as stub, pytest.raises(ModelError) as caught:
        stub_model(stub.url, max_retries=2).generate(HELLO)
    assert len(stub.requests) == 3, "one try and two retries"
    message = str(caught.value)
    assert message.startswith(f"model 'openai/stub' (openai at {stub.url}) answered HTTP 503")
    assert "overloaded" in message and message.endswith("after 3 attempts")


def test_client_errors_are_not_retried() -> None:
    with openai_stub(Reply(400, error="bad request")) as stub, pytest.raises(ModelError, match="HTTP 400"):
        stub_model(stub.url).generate(HELLO)
    assert len(stub.requests) == 1


def test_a_slow_provider_times_out_with_a_clear_error() -> None:
    with openai_stub(Reply(delay=5)) as stub, pytest.raises(ModelError) as caught:
        stub_model(stub.url, timeout=0.5, max_retries=0).generate(HELLO)
    assert "did not answer within 0.5 s" in str(caught.value)


def test_an_unreachable_endpoint_is_named() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    with pytest.raises(ModelError, match=r"is unreachable.*after 2 attempts"):
        stub_model(url, max_retries=1).generate(HELLO)


def test_a_missing_key_names_the_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ModelError) as caught:
        LiteLLMModel("anthropic/claude-sonnet-4-5").generate(HELLO)
    assert str(caught.value) == (
        "model 'anthropic/claude-sonnet-4-5' needs ANTHROPIC_API_KEY:"
        " set it in the environment (or pass api_key=...)"
    )


def test_native_tool_calls_are_parsed() -> None:
    call = {"name": "get_weather", "arguments": {"city": "Paris"}}
    weather = ToolDefinition(
        "get_weather", "Weather.", {"type": "object", "properties": {"city": {"type": "string"}}}
    )
    with openai_stub(Reply(text="", tool_calls=[call])) as stub:
        response = stub_model(stub.url, native_tools=True).generate(HELLO, tools=[weather])
    assert stub.requests[0]["tools"][0]["function"]["name"] == "get_weather"
    (parsed,) = response.tool_calls
    assert (parsed.name, parsed.arguments, parsed.raw_arguments) == ("get_weather", {"city": "Paris"}, None)


def test_tools_without_native_support_become_a_constrained_json_answer() -> None:
    answer = json.dumps({"name": "get_weather", "arguments": {"city": "Oslo"}})
    weather = ToolDefinition(
        "get_weather", "Weather.", {"type": "object", "properties": {"city": {"type": "string"}}}
    )
    with openai_stub(Reply(text=answer)) as stub:
        response = stub_model(stub.url, native_tools=False).generate(HELLO, tools=[weather])
    request = stub.requests[0]
    assert "tools" not in request
    assert request["response_format"]["json_schema"]["schema"]["properties"]["name"] == {
        "const": "get_weather"
    }
    assert "You can call these tools:" in request["messages"][0]["content"]
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("get_weather", {"city": "Oslo"})]


def test_streaming_yields_deltas_then_the_whole_response() -> None:
    with openai_stub(Reply(text="one two three")) as stub:
        events = list(stub_model(stub.url).stream(HELLO))
    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    assert deltas == ["one ", "two ", "three "]
    assert events[-1].text == "one two three "  # type: ignore[union-attr]
    assert events[-1].usage.output_tokens == 7  # type: ignore[union-attr]


def test_an_endpoint_refusing_json_schema_gets_json_object_instead() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    with openai_stub(
        Reply(400, error="response_format type json_schema unsupported"), Reply(text='{"n": 1}')
    ) as stub:
        model = stub_model(stub.url)
        response = model.generate(HELLO, response_format=JsonSchemaFormat(schema))
    assert [r["response_format"]["type"] for r in stub.requests] == ["json_schema", "json_object"]
    assert stub.requests[1]["response_format"]["schema"] == schema
    assert (json.loads(response.text), model.json_schema_style) == ({"n": 1}, "json_object")


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server with the embedded model, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        str(TESTS / "servers" / "llama_server.py"),
        "--model",
        str(default_model_path()),
    ]
    command += ["--model_alias", "smol", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"]
    command += ["--verbose", "False", "--seed", "0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "Uvicorn running on" in line:
            break
    else:
        pytest.fail("llama.cpp server did not start:\n" + "".join(seen))
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.kill()
        process.wait()


def test_llama_cpp_server_plain_chat(llama_server: str) -> None:
    model = LiteLLMModel("openai/smol", api_base=llama_server, api_key="none")
    response = model.generate([{"role": "user", "content": "What is the capital of France?"}], max_tokens=20)
    assert response.text.strip()
    assert response.usage.input_tokens > 5 and 0 < response.usage.output_tokens <= 20


def test_llama_cpp_server_streaming(llama_server: str) -> None:
    model = LiteLLMModel("openai/smol", api_base=llama_server, api_key="none")
    events = list(model.stream([{"role": "user", "content": "Count to five."}], max_tokens=24, temperature=0))
    deltas = "".join(event.text for event in events if isinstance(event, TextDelta))
    assert len([event for event in events if isinstance(event, TextDelta)]) > 3
    assert deltas == events[-1].text  # type: ignore[union-attr]


def test_llama_cpp_server_json_schema_output(llama_server: str) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    model = LiteLLMModel("openai/smol", api_base=llama_server, api_key="none")
    response = model.generate(
        [{"role": "user", "content": "Describe a person named Ann who is 30, as JSON."}],
        response_format=JsonSchemaFormat(schema, name="person"),
        max_tokens=60,
    )
    jsonschema.validate(json.loads(response.text), schema)


def test_cost_comes_from_litellms_price_list() -> None:
    with openai_stub(Reply(text="hi")) as stub:
        priced = LiteLLMModel("openai/gpt-4o-mini", api_base=stub.url, api_key="none").generate(HELLO)
        unpriced = stub_model(stub.url).generate(HELLO)
    assert priced.cost is not None and 0 < priced.cost < 0.001, "11 input and 7 output tokens of gpt-4o-mini"
    assert unpriced.cost is None


def test_images_go_out_as_data_urls() -> None:
    image = Image(b"\x89PNG fake", "image/png")
    message = ChatMessage("user", ["What is in this picture?", image])
    with openai_stub(Reply(text="a cat")) as stub:
        stub_model(stub.url).generate([message])
    (sent,) = stub.requests[0]["messages"]
    assert sent["content"][0] == {"type": "text", "text": "What is in this picture?"}
    assert sent["content"][1]["image_url"]["url"] == "data:image/png;base64,iVBORyBmYWtl"
