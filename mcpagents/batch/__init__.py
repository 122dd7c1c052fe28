"""Batch runs: many tasks through one agent, concurrently, in this process or on Ray workers.

```python
from mcpagents.batch import run_batch

summary = run_batch("agent.yaml", "tasks.jsonl", "results.jsonl", concurrency=16)
print("\\n".join(summary.lines()))
```
Each task runs in its own conversation of one agent whose MCP connections are opened once; each
finished task appends one JSON line to the results (see `arun_batch`). The command line:
`mcpagents batch SPEC TASKS.jsonl --out RESULTS.jsonl`.
"""

from __future__ import annotations

from mcpagents.batch.engine import (
    AgentFactory as AgentFactory,
    BatchProgress as BatchProgress,
    Engine as Engine,
    arun_batch as arun_batch,
    run_batch as run_batch,
)
from mcpagents.batch.grading import (
    Grade as Grade,
    Grader as Grader,
    normalized_matches as normalized_matches,
)
from mcpagents.batch.results import (
    BatchSummary as BatchSummary,
    Record as Record,
)
from mcpagents.batch.tasks import (
    BatchTask as BatchTask,
    answer_matches as answer_matches,
    read_tasks as read_tasks,
)

__all__ = [
    "AgentFactory",
    "BatchProgress",
    "BatchSummary",
    "BatchTask",
    "Engine",
    "Grade",
    "Grader",
    "Record",
    "answer_matches",
    "arun_batch",
    "normalized_matches",
    "read_tasks",
    "run_batch",
]
