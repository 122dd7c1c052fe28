"""`mcpagents serve SPEC...`: agents as MCP servers, over stdio or HTTP."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mcpagents.cli.argument_types import positive_int
from mcpagents.cli.exit_codes import EXIT_OK
from mcpagents.http_server.limits import add_limit_options, limits_from
from mcpagents.logs import LOG_LEVELS
from mcpagents.serving.settings import CLIENT_SECRET_VARIABLE, DEFAULTS, ServerSettings

if TYPE_CHECKING:
    from mcpagents.agents.base import MultiStepAgent

EXAMPLE = """examples:
  mcpagents serve helper.yaml                              # stdio, for Claude Desktop / IDEs
  mcpagents serve helper.yaml --transport http --port 8765 --token s3cret
  mcpagents serve a.yaml b.yaml --transport http           # /a/mcp and /b/mcp
  mcpagents serve helper.yaml --transport http --host 0.0.0.0 --token s3cret --workers 4
  mcpagents serve helper.yaml --transport http --oauth-issuer https://auth.example.com \
      --resource-url https://agents.example.com/mcp --required-scope agents:call
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve agents (spec files) as MCP servers",
        description="Serve each agent as one MCP tool named after it: {task, context?, conversation_id?}.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("specs", nargs="+", metavar="SPEC", help="agent spec files (YAML)")
    serve.add_argument("--transport", choices=["stdio", "http", "sse"], default="stdio")
    serve.add_argument(
        "--host", default=DEFAULTS.host, help=f"HTTP: the address to listen on (default {DEFAULTS.host})"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULTS.port,
        help=f"HTTP: the port (default {DEFAULTS.port}; 0: any free port)",
    )
    serve.add_argument(
        "--token", help="HTTP: require `Authorization: Bearer TOKEN` (or set $MCPAGENTS_TOKEN)"
    )
    serve.add_argument(
        "--oauth-issuer",
        metavar="URL",
        help="HTTP: instead of --token, accept the access tokens of this OAuth authorization server"
        " (its issuer URL, exactly); each caller's conversations and tasks are then their own",
    )
    serve.add_argument(
        "--resource-url",
        metavar="URL",
        help="HTTP, with --oauth-issuer: the URL tokens must name as their audience, one resource for"
        " the whole server (behind a proxy: its public URL; default: each endpoint's own URL,"
        " http://HOST:PORT/mcp)",
    )
    serve.add_argument(
        "--required-scope",
        action="append",
        default=[],
        metavar="SCOPE",
        help="HTTP, with --oauth-issuer: a scope every access token must grant (repeatable)",
    )
    serve.add_argument(
        "--oauth-introspection",
        action="store_true",
        help="HTTP, with --oauth-issuer: check every access token (opaque or JWT) by asking the"
        " authorization server (RFC 7662), so that revoked tokens are refused at once; one request to it"
        " per MCP request",
    )
    serve.add_argument(
        "--oauth-client-id",
        metavar="ID",
        help="HTTP, with --oauth-introspection: this server's client at the authorization server"
        f" (its secret: set ${CLIENT_SECRET_VARIABLE})",
    )
    serve.add_argument(
        "--allow-no-token", action="store_true", help="HTTP: allow a non-loopback --host without a token"
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST[:PORT|:*]",
        help="HTTP: a Host header to accept besides loopback names (repeatable)",
    )
    serve.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="HTTP: a browser Origin to accept besides loopback ones, e.g. https://app.example (repeatable)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULTS.max_body_bytes,
        help=f"HTTP: the largest request body (default {DEFAULTS.max_body_bytes})",
    )
    add_limit_options(serve)
    serve.add_argument("--model", help="use this model instead of the specs' (e.g. local, openai/gpt-5-mini)")
    serve.add_argument("--run-timeout", type=float, help="stop a run after this many seconds")
    serve.add_argument(
        "--max-depth",
        type=int,
        default=DEFAULTS.max_depth,
        help=f"refuse calls down chains of more agents (default {DEFAULTS.max_depth})",
    )
    serve.add_argument(
        "--conversation-expiry",
        type=float,
        default=DEFAULTS.idle_expiry,
        help=f"drop a conversation idle this many seconds (default {DEFAULTS.idle_expiry:g})",
    )
    serve.add_argument(
        "--max-conversations",
        type=int,
        default=DEFAULTS.max_conversations,
        help=f"conversations kept at once (default {DEFAULTS.max_conversations})",
    )
    serve.add_argument(
        "--conversation-store",
        metavar="FILE",
        help="keep conversations in this SQLite file, which the workers share (default: in memory)",
    )
    serve.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="HTTP: worker processes behind the port, each with its own agents and conversations (default 1)",
    )
    serve.add_argument(
        "--stateful",
        action="store_true",
        help="HTTP, one worker: keep a session per 2025-era client, whose cancel notifications then reach"
        " their runs (stateless, a run is cancelled when its client drops the request)",
    )
    serve.add_argument(
        "--sampling",
        choices=("caller", "model"),
        default=DEFAULTS.sampling,
        help="who answers the tool servers' sampling requests: the caller (relayed to it) or the agent's"
        f" own model (default {DEFAULTS.sampling})",
    )
    serve.add_argument(
        "--step-log-level",
        choices=(*LOG_LEVELS, "off"),
        default=DEFAULTS.step_log_level,
        help="send each step to the caller as a log message at this level"
        f" (default {DEFAULTS.step_log_level})",
    )
    shown = serve.add_mutually_exclusive_group()
    shown.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="on stderr, also show the model's raw output (by default each step is shown there)",
    )
    shown.add_argument("-q", "--quiet", action="store_true", help="show nothing of the steps on stderr")
    serve.add_argument(
        "--answer-wait",
        type=float,
        default=DEFAULTS.answer_wait,
        help="seconds a run waits for its caller to answer a question before going on without"
        f" (default {DEFAULTS.answer_wait:g})",
    )
    serve.add_argument(
        "--task-after",
        type=float,
        default=DEFAULTS.task_after,
        help="seconds a 2026-07-28 call waits for its run before it becomes a task, when its caller"
        f" accepts tasks (0: at once; default {DEFAULTS.task_after:g})",
    )
    serve.add_argument(
        "--grace",
        type=float,
        default=DEFAULTS.grace,
        help=f"on shutdown, seconds runs in flight get to finish (default {DEFAULTS.grace:g})",
    )
    serve.set_defaults(run=_serve)


def _serve(options: argparse.Namespace) -> int:
    import os
    from functools import partial

    from mcpagents.errors import ConfigError, ModelKeyMissing
    from mcpagents.serving.serve import serve
    from mcpagents.serving.workers import serve_workers
    from mcpagents.spec import load_agents

    settings = ServerSettings(
        host=options.host,
        port=options.port,
        token=options.token,
        oauth_issuer=options.oauth_issuer,
        resource_url=options.resource_url,
        required_scopes=tuple(options.required_scope),
        oauth_introspection=options.oauth_introspection,
        oauth_client_id=options.oauth_client_id,
        # Read only for introspection: a secret left in the environment is no mistake otherwise.
        oauth_client_secret=os.environ.get(CLIENT_SECRET_VARIABLE) if options.oauth_introspection else None,
        allowed_hosts=tuple(options.allowed_host),
        allowed_origins=tuple(options.allowed_origin),
        max_body_bytes=options.max_body_bytes,
        idle_expiry=options.conversation_expiry,
        max_conversations=options.max_conversations,
        max_depth=options.max_depth,
        run_timeout=options.run_timeout,
        conversation_store=options.conversation_store and os.path.abspath(options.conversation_store),
        stateless=not options.stateful,
        http_limits=limits_from(options),
        allow_no_token=options.allow_no_token,
        grace=options.grace,
        sampling=options.sampling,
        step_log_level=None if options.step_log_level == "off" else options.step_log_level,
        answer_wait=options.answer_wait,
        task_after=options.task_after,
    )
    # Steps go to stderr, which hosts keep as the server's log (`--step-log-level` sends them to the caller).
    verbosity = 0 if options.quiet else 2 if options.verbose else 1
    build_agents = partial(load_agents, options.specs, model=options.model, verbosity_level=verbosity)
    if options.workers > 1 and options.transport != "http":
        raise ConfigError(f"--workers serves streamable HTTP: use --transport http, not {options.transport}")
    try:
        agents = build_agents()  # the specs' and models' errors before any server or worker starts
    except ModelKeyMissing as error:
        specs = " ".join(options.specs)
        raise ConfigError(
            f"{error}; a host starts a served agent with the env of its config entry:"
            f" mcpagents install HOST {specs} --env {error.variable}"
        ) from error
    _suggest_per_conversation(agents)
    if options.workers > 1:
        serve_workers(build_agents, workers=options.workers, settings=settings)
    else:
        if options.transport == "stdio" and sys.stdin.isatty():
            names = ", ".join(str(agent.name) for agent in agents)
            print(
                f"mcpagents: serving {names} over stdio: waiting for an MCP client to speak on stdin"
                " (a host starts this command itself: see `mcpagents install`; Ctrl-C stops)",
                file=sys.stderr,
            )
        serve(agents, transport=options.transport, settings=settings)
    return EXIT_OK


def _suggest_per_conversation(agents: Sequence[MultiStepAgent]) -> None:
    """A served script shared by every call replays from wherever the last call left it: the second
    caller (or two at once) gets the wrong responses. `per_conversation` replays it per conversation."""
    from mcpagents.models.scripted import ScriptedModel

    for agent in agents:
        model = agent.model
        # -1: per conversation, or a function; 0: nothing to replay, whoever calls
        if isinstance(model, ScriptedModel) and model.remaining > 0:
            print(
                f"mcpagents: {agent.name}: its scripted model replays one list of responses for every call;"
                f" served, each call should replay from the start: add `per_conversation: true` to"
                f" {model.model_id.removeprefix('scripted:')} (its list then goes under `responses:`)",
                file=sys.stderr,
            )
