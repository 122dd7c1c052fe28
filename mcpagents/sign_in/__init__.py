"""Signing in to remote MCP servers that sit behind OAuth 2.1: the options a server entry takes
(`options`), the user's kept sign-ins (`token_store`), the sign-in itself with a person at a
browser (`flow`, what `mcpagents login` runs), and the token on each request (`bearer`)."""
