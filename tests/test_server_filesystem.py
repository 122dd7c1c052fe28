"""The bundled filesystem server, over stdio through a ToolCollection: every tool works inside its roots,
and every way out of them (`..`, absolute paths, symlinks, swapped directories), every write of a
read-only server and every oversize read or write is refused with nothing changed on disk."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError as ServerToolError
from mcp_types import CallToolResult, TextContent

from mcpagents import StdioServer, ToolCollection, ToolError
from mcpagents.servers.filesystem import Filesystem, build_server

from .conftest import inspector

MODULE = "mcpagents.servers.filesystem"
LIMIT = 1_000
"""The read and write limit of the shared server, in bytes."""
READERS = ["file_info", "list_directory", "list_roots", "read_file", "search_files"]
WRITERS = ["create_directory", "edit_file", "move_file", "write_file"]


@dataclass(frozen=True)
class Tree:
    """Two roots and a directory outside them, all under `base`."""

    base: Path
    root: Path
    second: Path
    outside: Path


def make_tree(base: Path) -> Tree:
    tree = Tree(base, base / "root", base / "second", base / "outside")
    for directory in (tree.root / "docs" / "deep", tree.second, tree.outside):
        directory.mkdir(parents=True)
    (tree.root / "notes.txt").write_text("first line\nsecond line\n")
    (tree.root / "docs" / "guide.md").write_text("# Guide\nUse the tools.\n")
    (tree.root / "docs" / "deep" / "todo.txt").write_text("- write the guide\n")
    (tree.root / "unicode.txt").write_text("héllo wörld")
    (tree.root / "big.txt").write_text("x" * (LIMIT + 500))
    (tree.root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tree.root / "inside-link").symlink_to("notes.txt")
    (tree.root / "secret-link").symlink_to(tree.outside / "secret.txt")
    (tree.root / "outside-dir").symlink_to(tree.outside)
    (tree.root / "dangling").symlink_to(tree.outside / "planted.txt")
    (tree.second / "other.txt").write_text("in the second root\n")
    (tree.outside / "secret.txt").write_text("top secret guide\n")
    return tree


def snapshot(base: Path) -> dict[str, str]:
    """Every entry under `base` (symlinks not followed): a symlink's target, a file's mode and content."""
    state = {}
    for directory, directories, files in os.walk(base):
        for name in directories + files:
            path = Path(directory, name)
            key = str(path.relative_to(base))
            if path.is_symlink():
                state[key] = f"-> {os.readlink(path)}"
            elif path.is_dir():
                state[key] = "directory"
            elif not path.is_file():  # a FIFO or a socket: reading one would block
                state[key] = stat.filemode(path.lstat().st_mode)
            else:
                state[key] = f"{stat.filemode(path.stat().st_mode)} {path.read_bytes()!r}"
    return state


def server(tree: Tree, *flags: str) -> StdioServer:
    return StdioServer(sys.executable, ["-m", MODULE, str(tree.root), str(tree.second), *flags], name="files")


@pytest.fixture(scope="module")
def shared_tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    return make_tree(tmp_path_factory.mktemp("shared"))


@pytest.fixture(scope="module")
def shared(shared_tree: Tree) -> Iterator[ToolCollection]:
    """A server over the shared tree with small limits; tests using it must leave the tree as it is."""
    limits = ["--max-read-bytes", str(LIMIT), "--max-write-bytes", str(LIMIT)]
    with ToolCollection.from_mcp(server(shared_tree, *limits)) as tools:
        yield tools


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return make_tree(tmp_path / "tree")


@pytest.fixture
def tools(tree: Tree) -> Iterator[ToolCollection]:
    with ToolCollection.from_mcp(server(tree)) as collection:
        yield collection


# --- the tools ------------------------------------------------------------------------------------


def test_the_tools_are_typed_and_annotated_truthfully(shared: ToolCollection) -> None:
    assert sorted(tool.name for tool in shared) == sorted(READERS + WRITERS)
    assert all(tool.output_schema is not None for tool in shared)
    assert all(tool.annotations and tool.annotations.open_world_hint is False for tool in shared)
    assert sorted(tool.name for tool in shared if tool.read_only) == READERS
    hints = {
        tool.name: (tool.annotations.destructive_hint, tool.idempotent)
        for tool in shared
        if tool.annotations and not tool.read_only
    }
    assert hints == {
        "write_file": (True, True),
        "edit_file": (True, False),
        "create_directory": (False, True),
        "move_file": (True, False),
    }


def test_read_file_resolves_paths_inside_the_roots(shared: ToolCollection, shared_tree: Tree) -> None:
    notes = str(shared_tree.root / "notes.txt")
    whole = {
        "path": notes,
        "content": "first line\nsecond line\n",
        "size": 23,
        "offset": 0,
        "next_offset": 23,
    }
    assert shared["read_file"](path="notes.txt") == whole
    assert shared["read_file"](path="docs/../notes.txt") == whole
    assert shared["read_file"](path=notes) == whole
    assert shared["read_file"](path="inside-link") == whole
    other = shared["read_file"](path=str(shared_tree.second / "other.txt"))
    assert other["content"] == "in the second root\n"


def test_read_file_reads_parts_on_character_boundaries(shared: ToolCollection, shared_tree: Tree) -> None:
    # "héllo wörld": é is bytes 1-2 and ö bytes 8-9, so bytes 2 to 8 start and end inside a character.
    assert shared["read_file"](path="unicode.txt", offset=2, length=7) == {
        "path": str(shared_tree.root / "unicode.txt"),
        "content": "llo w",
        "size": 13,
        "offset": 3,
        "next_offset": 8,
    }
    part = shared["read_file"](path="big.txt", offset=LIMIT, length=LIMIT)
    assert (part["content"], part["next_offset"], part["size"]) == ("x" * 500, LIMIT + 500, LIMIT + 500)


def test_list_directory_gives_types_and_sizes(shared: ToolCollection, shared_tree: Tree) -> None:
    listing = shared["list_directory"](path="docs")
    assert listing == {
        "path": str(shared_tree.root / "docs"),
        "entries": [
            {"name": "deep", "type": "directory", "size": None},
            {"name": "guide.md", "type": "file", "size": 23},
        ],
        "total": 2,
    }
    entries = {entry["name"]: entry["type"] for entry in shared["list_directory"]()["entries"]}
    assert entries["outside-dir"] == entries["secret-link"] == entries["dangling"] == "symlink"
    assert entries["notes.txt"] == "file"


def test_search_files_by_name_path_and_content(shared: ToolCollection, shared_tree: Tree) -> None:
    root = shared_tree.root

    def found(**arguments: Any) -> list[str]:
        result = shared["search_files"](**arguments)
        assert not result["truncated"]
        return [match["path"] for match in result["matches"]]

    assert found(pattern="*.md") == [str(root / "docs" / "guide.md")]
    assert found(pattern="docs/*.txt") == [str(root / "docs" / "deep" / "todo.txt")]
    assert found(pattern="*", contains="guide") == [str(root / "docs" / "deep" / "todo.txt")]
    assert found(pattern="*.txt", path="docs") == [str(root / "docs" / "deep" / "todo.txt")]
    capped = shared["search_files"](pattern="*", max_results=2)
    assert len(capped["matches"]) == 2
    assert capped["truncated"]
    # big.txt is over the read limit: it is counted, not searched.
    assert shared["search_files"](pattern="big.txt", contains="x") == {
        "matches": [],
        "truncated": False,
        "skipped": 1,
    }


def test_search_never_follows_symlinks_out(shared: ToolCollection, shared_tree: Tree) -> None:
    everything = shared["search_files"](pattern="*", max_results=1_000)
    paths = [match["path"] for match in everything["matches"]]
    assert not everything["truncated"]
    assert str(shared_tree.root / "outside-dir") in paths
    assert not [path for path in paths if "outside-dir/" in path or path.startswith(str(shared_tree.outside))]
    # The outside secret contains "secret"; only names inside the root may match.
    assert shared["search_files"](contains="secret")["matches"] == []


def test_file_info_and_list_roots(shared: ToolCollection, shared_tree: Tree) -> None:
    info = shared["file_info"](path="notes.txt")
    assert {key: info[key] for key in ("path", "type", "size", "permissions")} == {
        "path": str(shared_tree.root / "notes.txt"),
        "type": "file",
        "size": 23,
        "permissions": stat.filemode((shared_tree.root / "notes.txt").stat().st_mode),
    }
    assert info["modified"].endswith("+00:00")
    assert shared["file_info"](path="docs")["type"] == "directory"
    assert shared["list_roots"]() == {
        "roots": [str(shared_tree.root), str(shared_tree.second)],
        "read_only": False,
        "max_read_bytes": LIMIT,
        "max_write_bytes": LIMIT,
    }


def test_write_file_creates_and_replaces_atomically(tools: ToolCollection, tree: Tree) -> None:
    assert tools["write_file"](path="docs/new.txt", content="fresh\n") == {
        "path": str(tree.root / "docs" / "new.txt"),
        "size": 6,
        "created": True,
    }
    (tree.root / "notes.txt").chmod(0o640)
    replaced = tools["write_file"](path="inside-link", content="replaced ✓\n")
    assert replaced == {"path": str(tree.root / "notes.txt"), "size": 13, "created": False}
    assert (tree.root / "docs" / "new.txt").read_text() == "fresh\n"
    assert (tree.root / "notes.txt").read_text() == "replaced ✓\n"
    assert stat.S_IMODE((tree.root / "notes.txt").stat().st_mode) == 0o640
    assert (tree.root / "inside-link").is_symlink()
    assert sorted(path.name for path in (tree.root / "docs").iterdir()) == ["deep", "guide.md", "new.txt"]


def test_edit_file_replaces_exact_text(tools: ToolCollection, tree: Tree) -> None:
    edited = tools["edit_file"](path="notes.txt", old_text="second line", new_text="2nd line")
    assert edited == {"path": str(tree.root / "notes.txt"), "replacements": 1, "size": 20}
    assert tools["edit_file"](path="notes.txt", old_text="line", new_text="row", expected_occurrences=2) == {
        "path": str(tree.root / "notes.txt"),
        "replacements": 2,
        "size": 18,
    }
    assert (tree.root / "notes.txt").read_text() == "first row\n2nd row\n"


def test_create_directory_and_move_file(tools: ToolCollection, tree: Tree) -> None:
    made = tools["create_directory"](path="archive/2026/11")
    assert made == {"path": str(tree.root / "archive" / "2026" / "11"), "created": True}
    assert tools["create_directory"](path="archive/2026")["created"] is False
    moved = tools["move_file"](source="notes.txt", destination="archive/2026/11/notes.txt")
    assert moved == {"source": str(tree.root / "notes.txt"), "destination": made["path"] + "/notes.txt"}
    assert not (tree.root / "notes.txt").exists()
    assert (tree.root / "archive" / "2026" / "11" / "notes.txt").read_text() == "first line\nsecond line\n"
    tools["move_file"](source="docs", destination=str(tree.second / "docs"))
    assert (tree.second / "docs" / "deep" / "todo.txt").is_file()


# --- refusals: each leaves every file as it was ---------------------------------------------------


def format_path(value: object, tree: Tree) -> object:
    return value.format(outside=tree.outside) if isinstance(value, str) else value


def assert_refused(
    tools: ToolCollection, tree: Tree, tool: str, arguments: dict[str, Any], *fragments: str
) -> str:
    before = snapshot(tree.base)
    with pytest.raises(ToolError) as refused:
        tools[tool](**{key: format_path(value, tree) for key, value in arguments.items()})
    message = str(refused.value)
    assert all(fragment.format(root=tree.root) in message for fragment in fragments), message
    assert snapshot(tree.base) == before
    return message


ESCAPES = [
    pytest.param("read_file", {"path": "../outside/secret.txt"}, id="traversal"),
    pytest.param("read_file", {"path": "docs/deep/../../../outside/secret.txt"}, id="deep-traversal"),
    pytest.param("read_file", {"path": "{outside}/secret.txt"}, id="absolute-outside"),
    pytest.param("read_file", {"path": "/etc/passwd"}, id="absolute-system"),
    pytest.param("read_file", {"path": "secret-link"}, id="symlinked-file"),
    pytest.param("read_file", {"path": "outside-dir/secret.txt"}, id="symlinked-directory"),
    pytest.param("file_info", {"path": "secret-link"}, id="info-symlinked-file"),
    pytest.param("list_directory", {"path": "outside-dir"}, id="list-symlinked-directory"),
    pytest.param("list_directory", {"path": ".."}, id="list-parent"),
    pytest.param("search_files", {"path": "outside-dir", "pattern": "*"}, id="search-symlinked-directory"),
    pytest.param("write_file", {"path": "../outside/planted.txt", "content": "x"}, id="write-traversal"),
    pytest.param("write_file", {"path": "{outside}/planted.txt", "content": "x"}, id="write-absolute"),
    pytest.param("write_file", {"path": "dangling", "content": "x"}, id="write-dangling-symlink"),
    pytest.param("write_file", {"path": "outside-dir/planted.txt", "content": "x"}, id="write-symlinked-dir"),
    pytest.param("write_file", {"path": "secret-link", "content": "x"}, id="overwrite-symlinked-file"),
    pytest.param(
        "edit_file", {"path": "secret-link", "old_text": "top", "new_text": "no"}, id="edit-symlink"
    ),
    pytest.param("create_directory", {"path": "outside-dir/planted"}, id="mkdir-symlinked-dir"),
    pytest.param("create_directory", {"path": "dangling/planted"}, id="mkdir-dangling-symlink"),
    pytest.param("move_file", {"source": "notes.txt", "destination": "../outside/notes.txt"}, id="move-out"),
    pytest.param(
        "move_file", {"source": "outside-dir/secret.txt", "destination": "stolen.txt"}, id="move-in"
    ),
    pytest.param("move_file", {"source": "secret-link", "destination": "stolen.txt"}, id="move-symlink"),
]


@pytest.mark.parametrize(("tool", "arguments"), ESCAPES)
def test_every_way_out_of_the_roots_is_refused(
    shared: ToolCollection, shared_tree: Tree, tool: str, arguments: dict[str, Any]
) -> None:
    message = assert_refused(shared, shared_tree, tool, arguments, "access denied", "{root}")
    assert "resolves outside the allowed roots" in message
    assert any(repr(format_path(value, shared_tree)) in message for value in arguments.values())
    assert not (shared_tree.outside / "planted.txt").exists()


@pytest.mark.parametrize(
    ("tool", "arguments", "problem"),
    [
        pytest.param("read_file", {"path": "big.txt"}, "exceeds the read limit of 1000 bytes", id="read"),
        pytest.param("read_file", {"path": "big.txt", "length": LIMIT + 1}, "read limit", id="read-length"),
        pytest.param(
            "write_file",
            {"path": "huge.txt", "content": "y" * (LIMIT + 1)},
            "exceeds the write limit",
            id="write",
        ),
        pytest.param(
            "edit_file",
            {"path": "notes.txt", "old_text": "first", "new_text": "z" * LIMIT},
            "exceeds the write limit",
            id="edit-grows",
        ),
        pytest.param("read_file", {"path": "image.png"}, "is not UTF-8 text", id="binary"),
        pytest.param("read_file", {"path": "docs"}, "is not a regular file but a directory", id="directory"),
        pytest.param("read_file", {"path": "missing.txt"}, "'missing.txt' does not exist", id="missing"),
        pytest.param(
            "write_file", {"path": "nowhere/new.txt", "content": "x"}, "'nowhere' does not exist", id="no-dir"
        ),
        pytest.param("write_file", {"path": "docs", "content": "x"}, "is not a regular file", id="write-dir"),
        pytest.param("write_file", {"path": ".", "content": "x"}, "is a root directory", id="write-root"),
        pytest.param(
            "edit_file",
            {"path": "notes.txt", "old_text": "third", "new_text": "x"},
            "was not found",
            id="absent",
        ),
        pytest.param(
            "edit_file",
            {"path": "notes.txt", "old_text": "line", "new_text": "row"},
            "occurs 2 times in 'notes.txt', not 1",
            id="ambiguous",
        ),
        pytest.param("create_directory", {"path": "notes.txt"}, "Not a directory", id="mkdir-over-file"),
        pytest.param(
            "move_file",
            {"source": "notes.txt", "destination": "docs/guide.md"},
            "already exists",
            id="overwrite",
        ),
        pytest.param(
            "move_file", {"source": "docs", "destination": "docs/deep/docs"}, "into itself", id="cycle"
        ),
    ],
)
def test_oversize_binary_and_mistaken_calls_are_refused(
    shared: ToolCollection, shared_tree: Tree, tool: str, arguments: dict[str, Any], problem: str
) -> None:
    assert_refused(shared, shared_tree, tool, arguments, problem)


def test_a_read_only_server_offers_no_writing_tool_and_refuses_one_called_by_name(tree: Tree) -> None:
    with ToolCollection.from_mcp(server(tree, "--read-only")) as tools:
        assert sorted(tool.name for tool in tools) == READERS
        assert tools["list_roots"]()["read_only"] is True
        message = assert_refused(tools, tree, "write_file", {"path": "new.txt", "content": "x"})
        assert "no tool named 'write_file'" in message

    async def call_anyway() -> CallToolResult:
        async with Client(build_server(Filesystem([str(tree.root)], read_only=True))) as client:
            return await client.call_tool("write_file", {"path": "new.txt", "content": "x"})

    before = snapshot(tree.base)
    result = anyio.run(call_anyway)
    assert result.is_error
    assert isinstance(result.content[0], TextContent)
    assert "Unknown tool: write_file" in result.content[0].text
    assert snapshot(tree.base) == before


# --- names that are not UTF-8, lone surrogates, special files, deep trees, long names ----------------


def create_undecodable(path: bytes, content: bytes) -> None:
    """A file whose name is not UTF-8 (made through a bytes path, as any program can)."""
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(descriptor, content)
    os.close(descriptor)


def test_names_that_are_not_utf8_are_shown_escaped_and_marked(tools: ToolCollection, tree: Tree) -> None:
    docs = os.fsencode(tree.root / "docs")
    create_undecodable(docs + b"/caf\xe9.txt", b"menu\n")
    os.mkdir(docs + b"/r\xe9sum\xe9s")
    create_undecodable(docs + b"/r\xe9sum\xe9s/cv.txt", b"menu again\n")
    os.symlink(b"caf\xe9.txt", docs + b"/link")
    shown = f"{tree.root}/docs/caf\\xe9.txt"
    listing = tools["list_directory"](path="docs")
    assert listing["entries"] == [
        {"name": "caf\\xe9.txt", "type": "file", "size": 5, "escaped": True},
        {"name": "deep", "type": "directory", "size": None},
        {"name": "guide.md", "type": "file", "size": 23},
        {"name": "link", "type": "symlink", "size": None},
        {"name": "r\\xe9sum\\xe9s", "type": "directory", "size": None, "escaped": True},
    ]
    found = tools["search_files"](path="docs", contains="menu")
    assert found["matches"] == [
        {"path": shown, "type": "file", "size": 5, "escaped": True},
        {"path": f"{tree.root}/docs/r\\xe9sum\\xe9s/cv.txt", "type": "file", "size": 11, "escaped": True},
    ]
    assert tools["search_files"](pattern="caf*.txt")["matches"][0]["path"] == shown
    assert tools["read_file"](path="docs/link") == {
        "path": shown,
        "content": "menu\n",
        "size": 5,
        "offset": 0,
        "next_offset": 5,
    }
    assert tools["file_info"](path="docs/link")["path"] == shown
    assert tools["edit_file"](path="docs/link", old_text="menu", new_text="carte")["path"] == shown
    assert (tree.root / "docs" / "link").read_bytes() == b"carte\n"


def test_a_root_whose_name_is_not_utf8_is_shown_escaped(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path) + b"/r\xe9"
    os.mkdir(root)
    shown = f"{tmp_path}/r\\xe9"
    server = StdioServer(sys.executable, ["-m", MODULE, os.fsdecode(root)], name="files")
    with ToolCollection.from_mcp(server) as tools:
        assert tools["list_roots"]()["roots"] == [shown]
        assert tools["write_file"](path="notes.txt", content="x")["path"] == f"{shown}/notes.txt"
        assert tools["list_directory"]() == {
            "path": shown,
            "entries": [{"name": "notes.txt", "type": "file", "size": 1}],
            "total": 1,
        }
        with pytest.raises(ToolError, match="resolves outside the allowed roots") as refused:
            tools["read_file"](path="/etc/passwd")
        assert f"({shown})" in str(refused.value)


@pytest.mark.parametrize(
    ("tool", "arguments", "problem"),
    [
        (
            "read_file",
            {"path": "\ud800.txt"},
            "'\\ud800.txt' cannot be a path: '\\ud800' at 0 is a lone surrogate",
        ),
        ("list_directory", {"path": "docs/\udfff"}, "cannot be a path: '\\udfff' at 5 is a lone surrogate"),
        (
            "write_file",
            {"path": "new.txt", "content": "a\ud800"},
            "content is not valid text: '\\ud800' at 1",
        ),
        (
            "edit_file",
            {"path": "notes.txt", "old_text": "first", "new_text": "\udc00"},
            "new_text is not valid",
        ),
        ("search_files", {"contains": "\ud800"}, "contains is not valid text"),
    ],
)
def test_lone_surrogates_are_refused_clearly(
    tree: Tree, tool: str, arguments: dict[str, Any], problem: str
) -> None:
    """No JSON parser lets a lone surrogate through to a server; an in-process client can send one."""
    before = snapshot(tree.base)

    async def call() -> tuple[CallToolResult, CallToolResult]:
        async with Client(build_server(Filesystem([str(tree.root)]))) as client:
            return await client.call_tool(tool, arguments), await client.call_tool("list_roots", {})

    refused, answered = anyio.run(call)
    assert refused.is_error and isinstance(refused.content[0], TextContent)
    assert problem in refused.content[0].text
    assert not answered.is_error
    assert snapshot(tree.base) == before


def test_a_name_that_is_not_utf8_given_in_process_names_that_file(tree: Tree) -> None:
    create_undecodable(os.fsencode(tree.root) + b"/\xff.txt", b"bytes\n")
    read = Filesystem([str(tree.root)]).read_file(os.fsdecode(b"\xff.txt"))
    assert (read["path"], read["content"]) == (f"{tree.root}/\\xff.txt", "bytes\n")


def test_special_files_are_refused_without_blocking(tools: ToolCollection, tree: Tree) -> None:
    os.mkfifo(tree.root / "pipe")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(tree.root / "socket"))
        before = snapshot(tree.base)
        refusals = {
            ("read_file", "pipe"): "'pipe' is not a regular file but a FIFO (named pipe)",
            ("read_file", "socket"): "'socket' is not a regular file but a socket",
            ("edit_file", "pipe"): "'pipe' is not a regular file but a FIFO (named pipe)",
            (
                "write_file",
                "pipe",
            ): "'pipe' is not a regular file but a FIFO (named pipe); nothing was written",
            ("write_file", "socket"): "'socket' is not a regular file but a socket; nothing was written",
        }
        for (tool, path), problem in refusals.items():
            arguments = {"path": path, "content": "x", "old_text": "a", "new_text": "b"}
            with pytest.raises(ToolError) as refused:
                tools[tool](**{name: arguments[name] for name in tools[tool].input_schema["required"]})
            assert problem in str(refused.value)
        assert tools["search_files"](contains="first")["matches"] == [
            {"path": str(tree.root / "notes.txt"), "type": "file", "size": 23}
        ]
        assert tools["file_info"](path="pipe")["permissions"].startswith("p")
        assert snapshot(tree.base) == before


def remove_chain(top: Path) -> None:
    """Removes a chain of directories `d/d/d/...` a level at a time (shutil.rmtree recurses)."""
    while (top / "d").exists():
        for entry in (top / "d").iterdir():
            if entry.name != "d":
                entry.unlink()
        if (top / "d" / "d").exists():
            (top / "d" / "d").rename(top / "next")
        (top / "d").rmdir()
        if (top / "next").exists():
            (top / "next").rename(top / "d")


def test_a_tree_1500_levels_deep_is_searched(tools: ToolCollection, tree: Tree) -> None:
    depth = 1_500
    directory = os.open(tree.root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=directory)
            below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=directory)
            os.close(directory)
            directory = below
        needle = os.open("needle.txt", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=directory)
        os.write(needle, b"found it\n")
        os.close(needle)
    finally:
        os.close(directory)
    try:
        bottom = f"{tree.root}{'/d' * depth}/needle.txt"
        assert tools["search_files"](pattern="needle.txt", contains="found", max_results=1_000) == {
            "matches": [{"path": bottom, "type": "file", "size": 9}],
            "truncated": False,
            "skipped": 0,
        }
        assert tools["read_file"](path=bottom)["content"] == "found it\n"
        assert len(tools["search_files"](pattern="d", max_results=1_000)["matches"]) == 1_000
    finally:
        remove_chain(tree.root)


LONG = "n" * 300


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("read_file", {"path": LONG}),
        ("read_file", {"path": "a/" * 2_500 + "b"}),
        ("list_directory", {"path": LONG}),
        ("file_info", {"path": LONG}),
        ("search_files", {"path": LONG}),
        ("write_file", {"path": LONG, "content": "x"}),
        ("create_directory", {"path": LONG}),
        ("move_file", {"source": "notes.txt", "destination": LONG}),
        ("move_file", {"source": LONG, "destination": "elsewhere.txt"}),
    ],
)
def test_names_too_long_are_refused_clearly(
    shared: ToolCollection, shared_tree: Tree, tool: str, arguments: dict[str, Any]
) -> None:
    assert_refused(shared, shared_tree, tool, arguments, "File name too long")


# --- time of check, time of use: a directory swapped for a symlink after the path was checked ------


@pytest.fixture
def swapping(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> Filesystem:
    """A Filesystem whose path check is followed at once by swapping `docs` for a symlink out of the root."""
    (tree.outside / "deep").mkdir()
    (tree.outside / "deep" / "todo.txt").write_text("outside todo\n")
    filesystem = Filesystem([str(tree.root)])
    check = filesystem._resolve

    def check_then_swap(path: str) -> str:
        checked = check(path)
        (tree.root / "docs").rename(tree.root / "docs-moved")
        (tree.root / "docs").symlink_to(tree.outside)
        return checked

    monkeypatch.setattr(filesystem, "_resolve", check_then_swap)
    return filesystem


def test_a_search_stops_where_a_directory_it_is_in_is_moved_away(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/deep is moved out of the root while its file is searched: going back up through `..` would
    lead outside, so the search stops there, marked truncated."""
    filesystem = Filesystem([str(tree.root)])
    read = filesystem._searchable_content

    def read_then_move(name: str, directory: int, size: int) -> bytes | None:
        content = read(name, directory, size)
        if name == "todo.txt":
            (tree.root / "docs" / "deep").rename(tree.outside / "deep")
        return content

    monkeypatch.setattr(filesystem, "_searchable_content", read_then_move)
    result = filesystem.search_files(contains="guide")
    assert result == {
        "matches": [{"path": str(tree.root / "docs" / "deep" / "todo.txt"), "type": "file", "size": 18}],
        "truncated": True,
        "skipped": 0,
    }


def test_a_read_through_a_swapped_directory_is_refused(swapping: Filesystem, tree: Tree) -> None:
    with pytest.raises(ServerToolError, match=r"'docs/deep/todo\.txt' resolves outside the allowed roots"):
        swapping.read_file("docs/deep/todo.txt")


def test_a_write_through_a_swapped_directory_is_refused(swapping: Filesystem, tree: Tree) -> None:
    before = snapshot(tree.outside)
    with pytest.raises(ServerToolError, match="'docs/deep' resolves outside the allowed roots"):
        swapping.write_file("docs/deep/planted.txt", "x")
    assert snapshot(tree.outside) == before


# --- the command line and another client ------------------------------------------------------------


def test_a_missing_root_stops_the_server_with_a_clear_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", MODULE, str(tmp_path / "missing")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert f"root '{tmp_path / 'missing'}' is not an existing directory" in done.stderr


def test_the_inspector_reads_through_a_read_only_server(tree: Tree, tmp_path: Path) -> None:
    before = snapshot(tree.base)
    command = [sys.executable, "-m", MODULE, str(tree.root), "--read-only"]
    listed = inspector(*command, "--method", "tools/list", home=tmp_path)
    assert sorted(tool["name"] for tool in listed["tools"]) == READERS
    result = inspector(
        *command,
        "--method",
        "tools/call",
        "--tool-name",
        "read_file",
        "--tool-arg",
        "path=notes.txt",
        home=tmp_path,
    )
    assert result["isError"] is False
    assert result["structuredContent"]["content"] == "first line\nsecond line\n"
    assert snapshot(tree.base) == before
