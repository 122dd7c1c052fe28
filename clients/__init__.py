"""Host integrations, installed as `mcpagents.hosts`: the MCP config files of Claude Desktop, VS Code,
Cursor and Claude Code, edited (`config_file`) one entry's text at a time (`jsonc_edit`). Reading them
is `mcpagents.connections.host_config`."""
