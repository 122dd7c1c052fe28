"""The hub page (`mcpagents ui`): chat with agents and watch their runs stream, browse past runs as
timelines, and try the MCP servers of the host configs and specs by hand. A local web app: Starlette
and uvicorn, as served agents use, and a page of plain HTML, JS and CSS shipped in `static/`."""
