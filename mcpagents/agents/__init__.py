"""Agents: the multi-step loop, CodeAgent and ToolCallingAgent."""
