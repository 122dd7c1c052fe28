"""Agent types of other packages, as a third party would write them: from mcpagents' public API only."""
