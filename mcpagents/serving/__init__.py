"""Agents as MCP servers."""
