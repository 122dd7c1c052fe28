"""A third-party client on the 1.x MCP SDK (`ClientSession` with callbacks of its own), for the top of a
chain: it starts a server over stdio, calls one tool, answers what is asked meanwhile and prints, as
JSON, what it was asked, the log messages it got and the tool's result.

Run with the python of the pinned 1.x venv that `make test` builds (tests/peers/mcp1-venv):
`mcp1_client.py TOOL ARGUMENTS_JSON --form FORM_JSON --sample TEXT -- COMMAND [ARG...]`. Elicitations
are accepted with FORM_JSON (declined without `--form`); sampling requests are answered with TEXT
(refused without `--sample`). The server gets this process's environment.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.shared.context import RequestContext


async def main(options: argparse.Namespace) -> dict[str, Any]:
    seen: dict[str, list[Any]] = {"elicitations": [], "samplings": [], "logs": []}

    async def elicit(
        context: RequestContext[ClientSession, Any], params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        schema = params.requestedSchema if isinstance(params, types.ElicitRequestFormParams) else None
        seen["elicitations"].append({"message": params.message, "schema": schema})
        if options.form is None:
            return types.ElicitResult(action="decline")
        return types.ElicitResult(action="accept", content=json.loads(options.form))

    async def sample(
        context: RequestContext[ClientSession, Any], params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.ErrorData:
        texts = [m.content.text for m in params.messages if isinstance(m.content, types.TextContent)]
        seen["samplings"].append({"messages": texts, "system_prompt": params.systemPrompt})
        if options.sample is None:
            return types.ErrorData(code=types.INVALID_REQUEST, message="this client does not sample")
        content = types.TextContent(type="text", text=options.sample)
        return types.CreateMessageResult(role="assistant", content=content, model="mcp1-client")

    async def log(params: types.LoggingMessageNotificationParams) -> None:
        seen["logs"].append({"level": params.level, "logger": params.logger, "data": params.data})

    command, *arguments = options.command
    server = StdioServerParameters(command=command, args=arguments, env=dict(os.environ))
    async with (
        stdio_client(server) as (read, write),
        ClientSession(
            read, write, elicitation_callback=elicit, sampling_callback=sample, logging_callback=log
        ) as session,
    ):
        initialized = await session.initialize()
        await session.set_logging_level("info")  # how a 2025-era client asks for log messages
        result = await session.call_tool(options.tool, json.loads(options.arguments))
    texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    outcome = {"is_error": result.isError, "text": texts, "structured": result.structuredContent}
    return {"protocol_version": initialized.protocolVersion, **seen, "result": outcome}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("tool")
    parser.add_argument("arguments", help="the tool's arguments, a JSON object")
    parser.add_argument("--form", help="accept elicitations with this JSON object")
    parser.add_argument("--sample", help="answer sampling requests with this text")
    parser.add_argument("command", nargs="+", help="the server's command line (after --)")
    print(json.dumps(anyio.run(main, parser.parse_args())))
