#!/usr/bin/env bash
# Install the helper agent (examples/agents/helper.yaml) into Claude Desktop's MCP config: Claude then
# starts it with `python -m mcpagents serve helper.yaml` over stdio and can call the tool `helper`.
#
# Run: bash examples/install_into_claude_desktop.sh [--dry-run] [--config-path FILE]
#   --dry-run           show the change and write nothing
#   --config-path FILE  edit FILE instead of Claude Desktop's own config (to try it on a copy)
# Then restart Claude Desktop. Undo: mcpagents uninstall claude-desktop helper
#
# Claude Desktop gives its servers a minimal environment, so MCPAGENTS_MODEL and the provider keys
# set in this shell are copied into the entry's `env` (in plain text); with none of them the agent
# runs the offline `local` model. Run it with .venv/bin on PATH: the entry starts the Python of the
# `mcpagents` that wrote it.
set -euo pipefail

settings=()
for name in MCPAGENTS_MODEL ANTHROPIC_API_KEY OPENAI_API_KEY GEMINI_API_KEY MISTRAL_API_KEY; do
  if [[ -n "${!name:-}" ]]; then settings+=(--env "$name"); fi
done

mcpagents install claude-desktop "$(dirname "$0")/agents/helper.yaml" "${settings[@]}" "$@"
