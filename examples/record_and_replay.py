"""Record an agent's run, then replay it: the same answer again, with no model and no network.

Run: `.venv/bin/python examples/record_and_replay.py [--model MODEL] [--recording run.jsonl] ["TASK"]`

`RecordingModel(model, path)` wraps any model and writes each request and response to a JSONL file.
`ScriptedModel.from_file(path)` (or the model string `"scripted:run.jsonl"`) answers with the recorded
responses, one per call, so a replay makes the same tool calls and reaches the same answer: record a
run once with a real model, then test the agent against the recording (examples/test_replay.py is such
a test; examples/recordings/calculator.jsonl is a run of the embedded model it replays).

The default model is MCPAGENTS_MODEL, else the first provider key's model, else the embedded
offline model; `--model` picks another.
"""

import argparse
import sys
from pathlib import Path

from mcpagents import (
    RecordingModel,
    ScriptedModel,
    StdioServer,
    ToolCallingAgent,
    ToolCollection,
    resolve_model,
)

parser = argparse.ArgumentParser(description="Record an agent's run, then replay it.")
parser.add_argument("task", nargs="?", default="What is 12 plus 30?")
parser.add_argument("--model", help="a model string, e.g. openai/gpt-5-mini, local, scripted:FILE")
parser.add_argument("--recording", type=Path, default=Path("run.jsonl"), help="the file to record to")
options = parser.parse_args()

calculator = StdioServer(sys.executable, ["-m", "mcpagents.servers.calculator"], name="calculator")
options.recording.unlink(missing_ok=True)  # a RecordingModel appends: start the recording afresh

with ToolCollection.from_mcp(calculator) as tools:
    recorder = RecordingModel(resolve_model(options.model), options.recording)
    recorded = ToolCallingAgent(tools, recorder, max_steps=4, verbosity_level=0).run(options.task)
    replayer = ScriptedModel.from_file(options.recording)
    replayed = ToolCallingAgent(tools, replayer, max_steps=4, verbosity_level=0).run(options.task)

print(f"recorded: {options.task} -> {recorded}  (in {options.recording})")
print(f"replayed: {options.task} -> {replayed}  ({replayer.calls} recorded responses, no model called)")
