"""Signing in to remote MCP servers that sit behind OAuth 2.1: the options a server entry takes
(`options`), the user's kept sign-ins (`token_store`, `keyring_store`), the sign-in itself with a
person at a browser (`flow`, what `mcpagents login` runs), the token on each request (`bearer`),
and the caller a served agent acts for down a chain (`on_behalf`)."""
