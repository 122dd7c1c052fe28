"""The stdio server the interaction benchmark calls: `ask` asks its client one question (answered
as a 2025 push or a 2026-07-28 input round, whichever the client speaks); `add` asks nothing."""

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Resolve
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel

server = MCPServer("bench-ask")


class Answer(BaseModel):
    answer: str


def _question() -> Elicit[Answer]:
    return Elicit("Which colour?", Answer)


@server.tool()
def ask(reply: Annotated[ElicitationResult[Answer], Resolve(_question)]) -> str:
    """Ask the client which colour."""
    return reply.data.answer if isinstance(reply, AcceptedElicitation) else reply.action


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


if __name__ == "__main__":
    server.run()
