#!/usr/bin/env bash
# Serve the helper agent (examples/agents/helper.yaml) over streamable HTTP behind a bearer token,
# and call it with the MCP Inspector's command line: what any MCP client does over HTTP.
#
# Run: bash examples/serve_over_http.sh ["TASK"]      (with .venv/bin on PATH, or an activated venv)
#
# The Inspector is found where npm finds it: in the node_modules of the current folder (or a
# parent), e.g. tests/peers, where `make test` installs it, or installed with
# `npm install -g @modelcontextprotocol/inspector`. Without it (nothing is downloaded), the agent is
# called with `mcpagents call --url ... --header ...` instead. PORT (default 8765) and TOKEN
# (default: a random one) can be set. The agent uses the default model: MCPAGENTS_MODEL, else the
# first provider key's model, else the offline `local` model.
set -euo pipefail

helper="$(dirname "$0")/agents/helper.yaml"
task="${1:-We use 3 sacks of flour a week. How many sacks do we need for 12 weeks?}"
port="${PORT:-8765}"
token="${TOKEN:-$(openssl rand -hex 16)}"

mcpagents serve "$helper" --transport http --port "$port" --token "$token" &
server=$!
# On exit, stop it: on SIGTERM it lets the runs in flight finish, then exits.
trap 'kill "$server" 2>/dev/null; wait "$server" || true' EXIT

# /health answers without the token once the server is up.
until curl --silent --fail --max-time 2 "http://127.0.0.1:$port/health" >/dev/null; do
  kill -0 "$server" 2>/dev/null || { echo "mcpagents serve did not start" >&2; exit 1; }
  sleep 0.2
done

inspector=@modelcontextprotocol/inspector
if npm ls --depth=0 "$inspector" >/dev/null 2>&1 || npm ls --global --depth=0 "$inspector" >/dev/null 2>&1; then
  npx --no-install "$inspector" --cli "http://127.0.0.1:$port/mcp" --transport http \
    --header "Authorization: Bearer $token" \
    --method tools/call --tool-name helper --tool-arg "task=$task"
else
  echo "(the MCP Inspector is not installed here: calling the agent with mcpagents call)" >&2
  mcpagents call helper "task=$task" --url "http://127.0.0.1:$port/mcp" --header "Authorization: Bearer $token"
fi
