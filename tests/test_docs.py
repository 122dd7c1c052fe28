"""Every code block of README.md and docs/*.md runs, so that the documentation cannot rot.

Each fenced block is one test, named `FILE:LINE` (the line of its opening fence). It runs in a fresh
folder holding the files that `file=` blocks above it on the same page wrote, with HOME in a scratch
folder (so `mcpagents install` edits scratch configs), `.venv/bin` and `tests/peers/node_modules/.bin`
first on PATH, and no provider keys. MCPAGENTS_MODEL, the model an agent gets with `model=None`, is
docs/scripts/no-model.yaml: a script without responses, so a block that calls a model without
saying which (a `model=` directive) fails instead of calling one.

By the fence's language:

* python   written to a file and run with this Python: it must exit with 0.
* sh       run with bash as one script, `set -euo pipefail`: every command must succeed. Commands
           read an empty stdin: `mcpagents serve` over stdio sees its client leave, and exits.
* console  each `$ COMMAND` runs with bash; the lines after it, up to the next `$`, are its expected
           stdout: a line `...` stands for any number of lines, and a line ending in `...` for any
           line that starts with the text before it. The block's folder prints as /home/me/project
           and HOME as /home/me.
* yaml     an agent spec, loaded with `mcpagents.load_spec` (which checks it all and starts nothing).
* json     a host's MCP config (jsonc too), read with `mcpagents.load_server_config`.
* ini      with `systemd-unit`: its ExecStart must be an `mcpagents` command the CLI accepts, and
           TimeoutStopSec longer than its `--grace` (tests/test_serve_workers.py runs it).
* caddyfile  accepted by `caddy adapt` (tests/test_serve_workers.py serves through it).
* text     only with a directive that says what it is (`errors-in=`, `diagram`).

Any other block fails, with its file and line: a block the test cannot handle is a bug in the docs.

Directives go in an HTML comment (invisible on GitHub) on the line right before the fence:

    <!-- docs-test: file=helper.yaml model=scripted:docs/scripts/helper.yaml -->

* `file=NAME`            also write the block to NAME, for the blocks below it on the same page.
* `model=scripted:PATH`  MCPAGENTS_MODEL for the block: a scripted model (PATH from the repository root).
* `replace=TEXT`         the block names a provider model (to show how): TEXT is replaced by the
                         `model=` script before the block runs (repeatable); `replace=TEXT=scripted:PATH`
                         replaces it by that script instead, for blocks with several agents.
* `env=NAME=VALUE`       an environment variable the block expects the reader to have set, such as
                         a token it refers to (repeatable).
* `cwd=PATH`             run in PATH of the repository instead: `tests/peers`, where npx finds the
                         pinned npm servers without network.
* `background`           (sh, python) the block serves agents over HTTP and runs until stopped: it
                         is started, its `serving NAME at URL` lines awaited, each agent called once
                         over MCP (with its `--token` or $MCPAGENTS_TOKEN), then stopped with SIGTERM,
                         as a service manager stops it: it must end without a traceback (uvicorn
                         ends the process by re-raising the signal after its graceful shutdown).
* `free-port=N`          port N in the block becomes 0 (any free port: the URL is read from its output).
* `dry-run`              (sh) `make` runs as `make -n` in the repository: the targets exist and resolve,
                         without running the whole suite from inside one of its tests; and `mcpagents
                         ui`, which serves a page until stopped, is only parsed: the CLI must accept it.
* `script`               (yaml) a scripted model's file, read with `ScriptedModel.from_file`.
* `output`               (json) an example of output: parsed only.
* `errors-in=DIR`        (text) each line is an error message: the spec file it starts with, copied
                         from DIR of the repository, must fail to load with exactly that message.
                         The folder it is loaded from prints as /home/me/project.
* `systemd-unit`         (ini) the block is a systemd service unit.
* `diagram`              (text) a picture: its CamelCase names must be exports of `mcpagents`.
"""

from __future__ import annotations

import configparser
import json
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

import pytest

import mcpagents
from mcpagents import ConfigError, HttpServer, ScriptedModel, ToolCollection, load_server_config, load_spec
from mcpagents.cli import parser
from tests.conftest import caddy

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NO_MODEL = f"scripted:{ROOT / 'docs' / 'scripts' / 'no-model.yaml'}"
PATH = [Path(sys.executable).parent, ROOT / "tests" / "peers" / "node_modules" / ".bin"]
SHOWN = {"folder": "/home/me/project", "home": "/home/me"}  # how these print in documented output
TASK = "What is 3 times 12?"  # what a `background` block's agents are asked
TIMEOUT = 180

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+)(?P<lang>[\w-]*)\s*$")
DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:(?P<words>.*?)-->\s*$")
FLAGS = {"background", "dry-run", "script", "output", "diagram", "systemd-unit"}
OPTIONS = {"file", "model", "replace", "env", "cwd", "free-port", "errors-in"}
SERVING = re.compile(r"serving (?P<name>\S+) at (?P<url>http\S+)")
DRY_MAKE = 'make() { command make -n -C "$ROOT" "$@"; }'
DRY_UI = (
    'mcpagents() { if [ "${1:-}" = ui ]; then "$PYTHON" -c "import sys; from mcpagents.cli import parser;'
    ' parser().parse_args(sys.argv[1:])" "$@"; else command mcpagents "$@"; fi; }'
)
"""How `dry-run` blocks run `make` and `mcpagents ui` (`$ROOT`, `$PYTHON`: the repository, this Python)."""


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    code: str
    flags: set[str] = field(default_factory=set)
    options: dict[str, list[str]] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def option(self, name: str) -> str | None:
        values = self.options.get(name)
        return values[-1] if values else None


def read_blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    number = 0
    while number < len(lines):
        opening = FENCE.match(lines[number])
        if opening is None:
            number += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        end = number + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        code = "\n".join(line.removeprefix(indent) for line in lines[number + 1 : end]) + "\n"
        block = Block(page, number + 1, opening["lang"], code)
        directive = DIRECTIVE.match(lines[number - 1]) if number else None
        for word in shlex.split(directive["words"]) if directive else []:
            name, equals, value = word.partition("=")
            if equals and name in OPTIONS:
                block.options.setdefault(name, []).append(value)
            elif not equals and name in FLAGS:
                block.flags.add(name)
            else:
                raise ValueError(f"{block.where}: unknown docs-test directive {word!r}")
        blocks.append(block)
        number = end + 1
    return blocks


BLOCKS = [block for page in PAGES for block in read_blocks(page)]


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_block(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, home = tmp_path / "work", tmp_path / "home"
    folder.mkdir()
    home.mkdir()
    for earlier in BLOCKS:  # the files the blocks above this one on its page wrote
        if earlier.page == block.page and earlier.line < block.line and earlier.option("file"):
            write(folder / str(earlier.option("file")), earlier.code)
    env = environment(block, home)
    code = block.code
    for setting in block.options.get("replace", []):
        text, _, model = setting.partition("=")
        assert text in code, f"{block.where}: replace={text}, which the block does not hold"
        assert model or block.option("model"), f"{block.where}: replace={text} needs a model= directive"
        code = code.replace(text, scripted(block, model) if model else env["MCPAGENTS_MODEL"])
    if port := block.option("free-port"):
        code = code.replace(port, "0")
    cwd = ROOT / chosen if (chosen := block.option("cwd")) else folder

    if block.lang == "python":
        command = [sys.executable, str(write(folder / "snippet.py", code))]
        if "background" in block.flags:
            serve_and_call(block, command, cwd, env, token=env.get("MCPAGENTS_TOKEN"))
        else:
            run(block, command, cwd, env)
    elif block.lang == "sh":
        if "background" in block.flags:
            *before, last = [line for line in code.splitlines() if line.strip() and not line.startswith("#")]
            script = "\n".join(["set -euo pipefail", *before, f"exec {last}"])
            serve_and_call(block, ["bash", "-c", script], cwd, env, token=token_of(last, env))
        else:
            dry = f"{DRY_MAKE}\n{DRY_UI}\n" if "dry-run" in block.flags else ""
            dry = dry.replace("$ROOT", str(ROOT)).replace("$PYTHON", sys.executable)
            run(block, ["bash", "-c", f"set -euo pipefail\n{dry}{code}"], cwd, env)
    elif block.lang == "console":
        check_console(block, code, cwd, env, {str(folder): SHOWN["folder"], str(home): SHOWN["home"]})
    else:  # checked in this process: a file in the block's folder, read with the block's environment
        monkeypatch.chdir(folder)
        for name in set(os.environ) - set(env):
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        check_file(block, code, folder)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def environment(block: Block, home: Path) -> dict[str, str]:
    """This process's environment without provider keys and mcpagents settings, and the block's."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.endswith("_API_KEY") and not name.startswith("MCPAGENTS_")
    }
    env["PATH"] = os.pathsep.join([*map(str, PATH), env["PATH"]])
    env |= {"HOME": str(home), "COLUMNS": "100", "npm_config_update_notifier": "false"}
    env["MCPAGENTS_MODEL"] = scripted(block, block.option("model") or NO_MODEL)
    for setting in block.options.get("env", []):
        name, _, value = setting.partition("=")
        env[name] = value
    return env


def scripted(block: Block, model: str) -> str:
    """A `scripted:PATH` model string with PATH taken from the repository root."""
    assert model.startswith("scripted:"), f"{block.where}: expected a model scripted:PATH, not {model}"
    return f"scripted:{ROOT / model.removeprefix('scripted:')}"


def run(block: Block, command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT
    )
    if done.returncode != 0:
        pytest.fail(
            f"{block.where} exited with {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return done.stdout


def check_console(block: Block, code: str, cwd: Path, env: dict[str, str], shown: dict[str, str]) -> None:
    """Run each `$ COMMAND` and compare its stdout, the paths in `shown` replaced by their text."""
    sessions: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            sessions.append((line[2:], []))
        elif sessions and sessions[-1][0].endswith("\\"):  # a command continued on the next line
            sessions[-1] = (f"{sessions[-1][0][:-1]}{line}", [])
        else:
            assert sessions, f"{block.where}: a console block starts with a `$ COMMAND` line"
            sessions[-1][1].append(line.rstrip())
    for command, expected in sessions:
        output = run(block, ["bash", "-c", f"set -euo pipefail\n{command}"], cwd, env)
        for path, text in shown.items():
            output = output.replace(path, text)
        actual = [line.rstrip() for line in output.splitlines()]
        while expected and not expected[-1]:
            expected.pop()
        assert matches(expected, actual), f"{block.where}: $ {command}\n" + "\n".join(actual)


def matches(expected: list[str], actual: list[str]) -> bool:
    """`actual` line by line: a line `...` in `expected` matches any number of lines, and a line
    ending in `...` any line that starts with the text before it."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[skip:]) for skip in range(len(actual) + 1))
    if not actual:
        return False
    first = expected[0]
    same = actual[0].startswith(first[:-3]) if first.endswith("...") else actual[0] == first
    return same and matches(expected[1:], actual[1:])


def check_file(block: Block, code: str, folder: Path) -> None:
    default = {"yaml": "spec.yaml", "json": "config.json", "jsonc": "config.json"}.get(block.lang)
    path = write(folder / (block.option("file") or default or "block.txt"), code)
    if block.lang == "yaml" and "script" in block.flags:
        ScriptedModel.from_file(path)
    elif block.lang == "yaml":
        load_spec(path.name)
    elif block.lang in ("json", "jsonc") and "output" in block.flags:
        json.loads(code)
    elif block.lang in ("json", "jsonc"):
        load_server_config(path)
    elif block.lang == "ini" and "systemd-unit" in block.flags:
        check_systemd_unit(block, code)
    elif block.lang == "caddyfile":
        adapted = subprocess.run(
            [caddy(), "adapt", "--adapter", "caddyfile", "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert adapted.returncode == 0, f"{block.where}: caddy refuses it:\n{adapted.stderr}"
    elif block.lang == "text" and block.option("errors-in"):
        specs = ROOT / str(block.option("errors-in"))
        os.chdir(shutil.copytree(specs, folder / specs.name))  # apart from the files of blocks above
        for message in filter(None, code.splitlines()):
            with pytest.raises(ConfigError) as error:
                load_spec(re.match(r"\S+?\.ya?ml", message)[0])  # type: ignore[index]
            assert str(error.value).replace(os.getcwd(), SHOWN["folder"]) == message, block.where
    elif block.lang == "text" and "diagram" in block.flags:
        names = set(re.findall(r"\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+\b", code))
        assert names <= set(mcpagents.__all__), (
            f"{block.where}: not in mcpagents: {names - set(mcpagents.__all__)}"
        )
    else:
        pytest.fail(f"{block.where}: a ```{block.lang} block this test cannot run (see its docstring)")


def check_systemd_unit(block: Block, code: str) -> None:
    service = systemd_unit(code)["Service"]
    command = shlex.split(service["ExecStart"])
    assert Path(command[0]).name == "mcpagents", f"{block.where}: ExecStart is not mcpagents"
    options = parser().parse_args(command[1:])  # exits (fails) on an option the CLI does not have
    assert int(service["TimeoutStopSec"]) > options.grace, f"{block.where}: SIGKILL before the grace ends"


def systemd_unit(code: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys are case-sensitive
    unit.read_string(code)
    return unit


def token_of(command: str, env: dict[str, str]) -> str | None:
    """The bearer token of a serving command: its `--token` (variables expanded), or $MCPAGENTS_TOKEN."""
    words = shlex.split(command)
    if "--token" in words:
        return Template(words[words.index("--token") + 1]).substitute(env)
    return env.get("MCPAGENTS_TOKEN")


def serve_and_call(
    block: Block, command: list[str], cwd: Path, env: dict[str, str], token: str | None
) -> None:
    """Start a block that serves agents over HTTP, call each agent once over MCP, stop it with SIGTERM."""
    server = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines = stderr_lines(server)
    seen: list[str] = []
    try:
        served: dict[str, str] = {}
        for line in lines:
            seen.append(line)
            if match := SERVING.search(line):
                served[match["name"]] = match["url"]
                if len(served) == len(health(match["url"])):  # every agent's line is out
                    break
        else:
            pytest.fail(f"{block.where} did not start serving:\n{''.join(seen)[-3000:]}")
        headers = {"Authorization": f"Bearer {token}"} if token else None
        servers = [HttpServer(url, headers=headers, name=name) for name, url in served.items()]
        with ToolCollection.from_mcp(servers, fail_fast=True) as tools:
            for name in served:
                result = tools[name](task=TASK)
                assert result["state"] == "success", f"{block.where}: {name}: {result}"
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        output = "".join([*seen, *lines])
        assert code in (0, -signal.SIGTERM), f"{block.where} ended with {code} after SIGTERM:\n{output}"
        assert "Traceback" not in output, f"{block.where}:\n{output}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def stderr_lines(process: subprocess.Popen[str]) -> Iterator[str]:
    """The process's stderr lines as they come (a reader thread keeps its pipe from filling up)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()

    def take() -> Iterator[str]:
        while (line := lines.get(timeout=TIMEOUT)) is not None:
            yield line

    return take()


def health(url: str) -> dict[str, object]:
    """The agents a server at `url` (an agent's endpoint) serves, from its `/health`."""
    import httpx2

    address = urlsplit(url)._replace(path="/health").geturl()
    agents: dict[str, object] = httpx2.get(address, timeout=30).json()["agents"]
    return agents
