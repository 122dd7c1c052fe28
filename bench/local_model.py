"""The embedded model: load time, prompt and generation speed, tool-call accuracy, import cost.

Run: `.venv/bin/python bench/local_model.py`

The baseline is llama-cpp-python called directly on the same prompts in the same run, so the table
shows what LocalModel adds (its few-shot examples, grammar, thread hop) and what it costs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcpagents import LocalModel, ToolDefinition  # noqa: E402
from mcpagents.models.local import default_model_path  # noqa: E402
from tests.tool_call_prompts import PROMPTS, TOOLS, is_correct  # noqa: E402

REPEATS = 3
LONG_PROMPT = " ".join(["The quick brown fox jumps over the lazy dog."] * 40)


def fresh_process_seconds(code: str) -> float:
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        runs.append(time.perf_counter() - started)
    return min(runs)


def best(run: object, llama: object, repeats: int = REPEATS) -> tuple[float, object]:
    """Fastest of `repeats` runs, each from an empty cache (llama.cpp reuses a repeated prompt prefix)."""
    timings, result = [], None
    for _ in range(repeats):
        llama.reset()  # type: ignore[attr-defined]
        started = time.perf_counter()
        result = run()  # type: ignore[operator]
        timings.append(time.perf_counter() - started)
    return min(timings), result


RAW_BASELINE = """
import json, os, sys, time, llama_cpp
from mcpagents.models.local import amx_safe_loading, default_model_path
prompt, story, repeats = json.loads(sys.argv[1])
with amx_safe_loading(llama_cpp):
    path = str(default_model_path())
    llama = llama_cpp.Llama(model_path=path, n_ctx=4096, n_threads=os.cpu_count(), verbose=False)
def best(messages, max_tokens):
    runs = []
    for _ in range(repeats):
        llama.reset()
        started = time.perf_counter()
        result = llama.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0)
        runs.append((time.perf_counter() - started, result["usage"]))
    return min(runs, key=lambda run: run[0])
(prompt_time, prompt_usage), (story_time, story_usage) = best(prompt, 1), best(story, 128)
print(json.dumps({"prompt_rate": prompt_usage["prompt_tokens"] / prompt_time,
                  "generation_rate": story_usage["completion_tokens"] / story_time}))
"""


def raw_baseline(prompt: list[dict[str, str]], story: list[dict[str, str]]) -> dict[str, float]:
    """llama-cpp-python called directly, in its own process (two processes' llama.cpp thread teams
    interfere: llama.cpp's OpenMP threads spin for a moment after each call)."""
    arguments = json.dumps([prompt, story, REPEATS])
    run = subprocess.run(
        [sys.executable, "-c", RAW_BASELINE, arguments], capture_output=True, text=True, check=True
    )
    rates: dict[str, float] = json.loads(run.stdout)
    return rates


def main() -> None:
    model = LocalModel()
    llama = model.load()
    interpreter = fresh_process_seconds("pass")
    load = fresh_process_seconds("from mcpagents import LocalModel; LocalModel().load()") - interpreter
    bare_import = fresh_process_seconds("import mcpagents") - interpreter
    model_import = (
        fresh_process_seconds("from mcpagents import LocalModel, LiteLLMModel, ScriptedModel") - interpreter
    )

    prompt = [{"role": "user", "content": LONG_PROMPT}]
    story = [{"role": "user", "content": "Tell a long story about a fox."}]
    raw = raw_baseline(prompt, story)
    ours_prompt_time, ours_prompt = best(lambda: model.generate(prompt, max_tokens=1), llama)
    ours_gen_time, ours_gen = best(lambda: model.generate(story, max_tokens=128), llama)
    prompt_tokens = ours_prompt.usage.input_tokens  # type: ignore[attr-defined]
    ours_generated = ours_gen.usage.output_tokens  # type: ignore[attr-defined]

    tools = [ToolDefinition(t["name"], t["description"], t["parameters"]) for t in TOOLS]
    correct, well_formed, started = 0, 0, time.perf_counter()
    for text, name, arguments in PROMPTS:
        (call,) = model.generate([{"role": "user", "content": text}], tools=tools).tool_calls
        well_formed += call.raw_arguments is None
        correct += is_correct(call.name, call.arguments, name, arguments)
    per_call = (time.perf_counter() - started) / len(PROMPTS)

    rows = [
        ("model file", default_model_path().name, ""),
        ("load in a fresh process", f"{load:.2f} s", ""),
        (f"prompt processing ({prompt_tokens} tokens)", f"{prompt_tokens / ours_prompt_time:.0f} tok/s",
         f"raw llama-cpp-python {raw['prompt_rate']:.0f} tok/s"),
        ("generation (128 tokens, no grammar)", f"{ours_generated / ours_gen_time:.0f} tok/s",
         f"raw llama-cpp-python {raw['generation_rate']:.0f} tok/s"),
        ("one-step tool calls (10 prompts)", f"{correct}/10 correct, {well_formed}/10 well-formed",
         f"{per_call:.2f} s per call incl. few-shot prompt"),
        ("import mcpagents", f"{bare_import:.3f} s", "issue 2 baseline: 0.006 s"),
        ("from mcpagents import LocalModel, LiteLLMModel, ScriptedModel", f"{model_import:.3f} s",
         "neither litellm nor llama_cpp is imported"),
    ]  # fmt: skip
    width = max(len(row[0]) for row in rows)
    print(f"embedded model, best of {REPEATS} runs\n")
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:>32}  {note}")


if __name__ == "__main__":
    main()
