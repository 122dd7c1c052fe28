"""A third-party legacy peer: a FastMCP server on the 1.x MCP SDK that asks its client while it works.

Run with the python of the pinned 1.x venv that `make test` builds (tests/peers/mcp1-venv), over stdio:
`tests/peers/mcp1-venv/bin/python tests/servers/fastmcp1_interactive.py`. It uses the 1.x API as
third-party servers do: `ctx.session.create_message(...)`, `ctx.elicit(...)` with a pydantic model,
`ctx.session.list_roots()`, `ctx.log(...)` and `ctx.report_progress(...)`. Each tool returns, as JSON,
what the client answered, so that a test can check the answer reached the server; `sample` and `book`
also say it in a log message (for a client at the top of a chain, which sees no tool result from here).
"""

from __future__ import annotations

import json

from mcp.server.fastmcp import Context, FastMCP
from mcp.types import SamplingMessage, TextContent
from pydantic import BaseModel, Field

server = FastMCP("fastmcp1")


class Booking(BaseModel):
    name: str = Field(description="Who the table is for")
    guests: int = Field(ge=1, le=12, description="How many people")
    vegetarian: bool = Field(default=False, description="A vegetarian menu?")


@server.tool()
async def sample(prompt: str, ctx: Context) -> str:
    """Ask the client's model to complete `prompt`; return what it answered."""
    # A refusal raises `McpError`, which FastMCP returns as the tool's error, in the client's words.
    result = await ctx.session.create_message(
        [SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
        max_tokens=64,
        system_prompt="Answer in one line.",
        related_request_id=ctx.request_id,
    )
    text = result.content.text if isinstance(result.content, TextContent) else None
    answer = json.dumps({"role": result.role, "text": text, "model": result.model})
    await ctx.info(f"sample got {answer}", logger_name="fastmcp1.sample")
    return answer


@server.tool()
async def book(question: str, ctx: Context) -> str:
    """Ask the user for a booking (a form made from a pydantic model); return the answer."""
    answer = await ctx.elicit(message=question, schema=Booking)
    data = answer.data.model_dump() if answer.action == "accept" else None
    got = json.dumps({"action": answer.action, "data": data})
    await ctx.info(f"book got {got}", logger_name="fastmcp1.book")
    return got


@server.tool()
async def book_raw(question: str, ctx: Context) -> str:
    """The same question through the session, to see the whole answer (its `_meta` too)."""
    schema = Booking.model_json_schema()
    answer = await ctx.session.elicit_form(question, schema, related_request_id=ctx.request_id)
    return answer.model_dump_json(by_alias=True, exclude_none=True)


@server.tool()
async def roots(ctx: Context) -> str:
    """List the client's roots."""
    listed = await ctx.session.list_roots()
    return json.dumps([{"uri": str(root.uri), "name": root.name} for root in listed.roots])


@server.tool()
async def chatter(ctx: Context) -> str:
    """Send one log message at each level FastMCP's `ctx.log` offers, the least severe first."""
    levels = ("debug", "info", "warning", "error")
    for level in levels:
        await ctx.log(level, f"a {level} message from fastmcp1", logger_name="fastmcp1.chatter")
    return f"sent {len(levels)} log messages"


@server.tool()
async def count(steps: int, ctx: Context) -> str:
    """Report progress `steps` times, then answer."""
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, message=f"step {step} of {steps}")
    return f"counted to {steps}"


if __name__ == "__main__":
    server.run()
