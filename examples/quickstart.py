"""An agent answers a question by calling a real MCP tool server: the bundled calculator.

Run: `make demo`, or `.venv/bin/python examples/quickstart.py "What is 17 times 23?"`

With no API key in the environment this runs the embedded offline model, SmolLM2-135M: a tiny
demo model that gets one-step arithmetic right and not much more. Set ANTHROPIC_API_KEY,
OPENAI_API_KEY, GEMINI_API_KEY or MISTRAL_API_KEY (or MCPAGENTS_MODEL="provider/model") and the
same script uses a real model.
"""

import sys

from mcpagents import StdioServer, ToolCallingAgent, ToolCollection, resolve_model

task = " ".join(sys.argv[1:]) or "What is 12 plus 30?"
calculator = StdioServer(sys.executable, ["-m", "mcpagents.servers.calculator"], name="calculator")

with ToolCollection.from_mcp(calculator) as tools:
    agent = ToolCallingAgent(tools, resolve_model(), max_steps=4)
    answer = agent.run(task)

print(f"\n{task} -> {answer}")
