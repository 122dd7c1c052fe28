"""`ask_user`: a tool that lets the agent's model ask the person it works for (smolagents'
`UserInputTool`), over MCP elicitation like any server's question.

Whoever answers the run's elicitations answers it: the terminal under `mcpagents run`, the caller
of a served agent, or nobody in a batch run (the model is told the question was not answered).
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Resolve
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, Field

from mcpagents.tools.local import tool


class Answer(BaseModel):
    answer: str = Field(description="Your answer")


def _question(question: str) -> Elicit[Answer]:
    return Elicit(question, Answer)


@tool(annotations={"readOnlyHint": True, "openWorldHint": True, "title": "Ask the user"})
async def ask_user(question: str, reply: Annotated[ElicitationResult[Answer], Resolve(_question)]) -> str:
    """Ask the user a question and wait for the answer. Use it when the task is ambiguous or needs
    something only the user knows; ask one clear question at a time.

    Args:
        question: The question, in full sentences.

    Returns:
        The user's answer, or a note that they did not answer.
    """
    if isinstance(reply, AcceptedElicitation):
        return reply.data.answer
    return f"The user did not answer ({reply.action}). Go on without it, or stop if it is essential."
