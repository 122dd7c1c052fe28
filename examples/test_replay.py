"""The pattern for testing an agent deterministically: replay a recorded run (no model, no network).

Run: `.venv/bin/pytest examples/test_replay.py`

examples/recordings/calculator.jsonl is a run of the embedded model, recorded by
`examples/record_and_replay.py --recording examples/recordings/calculator.jsonl`. Record your own
agent's runs the same way (or with `RecordingModel(model, path)` in your code) and replay them with
the model string `scripted:PATH`. Only the model is replayed: the calculator server runs and answers.
"""

import sys
from pathlib import Path

from mcpagents import ActionStep, StdioServer, ToolCallingAgent, ToolCollection

RECORDING = Path(__file__).parent / "recordings" / "calculator.jsonl"


def test_the_agent_answers_as_recorded() -> None:
    calculator = StdioServer(sys.executable, ["-m", "mcpagents.servers.calculator"], name="calculator")
    with ToolCallingAgent(ToolCollection.from_mcp(calculator), f"scripted:{RECORDING}", max_steps=4) as agent:
        result = agent.run("What is 12 plus 30?", return_full_result=True)
    assert result.state == "success"
    assert result.output == "42"
    calls = [call for step in result.steps if isinstance(step, ActionStep) for call in step.tool_calls]
    assert [(call.name, call.arguments, call.result) for call in calls] == [
        ("add", {"a": 12, "b": 30}, 42),  # the calculator's real answer to the recorded call
        ("final_answer", {"answer": "42"}, None),
    ]
