"""What every HTTP server of mcpagents is built from — served agents and the bundled tool servers
alike: a listening socket, connection limits, bearer-token auth and the Host/Origin guard."""
