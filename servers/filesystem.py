"""The filesystem MCP server: read, write, edit and search text files inside the directories it is given.

Run: `python -m mcpagents.servers.filesystem ROOT [ROOT ...]` (stdio), or with `--http PORT` (see
`launch.py`). Options: `--read-only`, `--max-read-bytes N` and `--max-write-bytes N` (1 MiB each by
default). In a config file: `{"builtin": "filesystem", "args": ["~/notes", "--read-only"]}`.

Paths: a relative path resolves against the first root; an absolute path must lie inside a root. Every
path is resolved with symlinks followed and must still lie inside a root, so `..`, absolute paths
elsewhere and symlinks that lead out (to a file, to a directory, or dangling, for a file to be created)
are refused. The check is repeated on the opened file descriptor, and writes, renames and new
directories go through a descriptor of the checked directory, so a path component swapped for a
symlink between the check and the use does not lead out either. Paths returned are resolved and absolute.
A hard link inside a root to a file elsewhere cannot be told from a file of its own and is read like
one (a write replaces the link, never the file elsewhere): do not give a root holding such links.

Reads return UTF-8 text only (binary files are refused: text is what a model can use) and at most
--max-read-bytes per call; larger files are read in parts with `offset` and `length`. A write replaces
the file atomically (a temporary file in the same directory, then a rename) and keeps its permissions.
With `--read-only` the writing tools (write_file, edit_file, create_directory, move_file) are not
offered at all: clients and models never see a tool they could not use, and a call by name fails as
an unknown tool. There is no delete tool. Search never follows symlinks and stops after `max_results`
matches or 100,000 entries; it walks a tree of any depth with one directory open at a time, and stops,
marked `truncated`, if a directory it is in is moved meanwhile.

Names that are not UTF-8 (any byte string can be a file name) are listed and found with each byte that
is not UTF-8 shown as `\\xNN`, and marked `escaped`: JSON cannot carry the real name, so no tool opens
such a file by that name (a symlink to it does). FIFOs, sockets and devices are described, never read or
written. POSIX only (Linux, macOS).
"""

from __future__ import annotations

import argparse
import codecs
import fcntl
import os
import secrets
import stat
import sys
from collections.abc import Generator, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager, suppress
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import PurePath
from typing import Annotated, Literal, NotRequired

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field
from typing_extensions import TypedDict

from .launch import add_transport_options, run

if os.name != "posix":
    raise ImportError(
        "the filesystem server needs Linux or macOS: its path checks rely on O_NOFOLLOW and dir_fd"
    )

MIB = 1024 * 1024
MAX_LISTED_ENTRIES = 1_000
MAX_SEARCH_RESULTS = 1_000
MAX_SEARCHED_ENTRIES = 100_000

_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # O_NONBLOCK: a FIFO must not hang open()
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# O_PATH (Linux) opens without read permission, so file_info works on unreadable files too.
_METADATA: int = getattr(os, "O_PATH", os.O_RDONLY | os.O_NONBLOCK) | os.O_NOFOLLOW | os.O_CLOEXEC

Kind = Literal["file", "directory", "symlink", "other"]
NonNegative = Annotated[int, Field(ge=0)]


class FileText(TypedDict):
    path: str
    content: str
    size: int
    """The size of the whole file in bytes."""
    offset: int
    """The byte `content` starts at."""
    next_offset: int
    """The byte after `content`: where to continue reading; equal to `size` at the end of the file."""


class Written(TypedDict):
    path: str
    size: int
    created: bool
    """True if the file did not exist before."""


class Edited(TypedDict):
    path: str
    replacements: int
    size: int


class Entry(TypedDict):
    name: str
    """The name; one that is not UTF-8 shows each byte that is not as `\\xNN` (see `escaped`)."""
    type: Kind
    size: int | None
    """Bytes, for files; symlinks are not followed."""
    escaped: NotRequired[bool]
    """Present, and true, when the name is not UTF-8: the name shown is not the file's real name, and
    no tool can open it by that name."""


class Listing(TypedDict):
    path: str
    entries: list[Entry]
    total: int
    """How many entries the directory has; at most 1,000 are listed, sorted by name."""


class Match(TypedDict):
    path: str
    type: Kind
    size: int | None
    escaped: NotRequired[bool]
    """Present, and true, when the path is not UTF-8 (shown with `\\xNN`): no tool can open it by it."""


class SearchResult(TypedDict):
    matches: list[Match]
    truncated: bool
    """True if the search stopped before seeing every entry (`max_results` matches, or 100,000 entries)."""
    skipped: int
    """Files not searched for `contains`: larger than the read limit, or unreadable."""


class FileInfo(TypedDict):
    path: str
    type: Kind
    size: int
    modified: str
    """ISO 8601, UTC."""
    permissions: str
    """As `ls -l` shows them, e.g. `-rw-r--r--`."""


class Directory(TypedDict):
    path: str
    created: bool
    """False if the directory already existed."""


class Moved(TypedDict):
    source: str
    destination: str


class Roots(TypedDict):
    roots: list[str]
    read_only: bool
    max_read_bytes: int
    max_write_bytes: int


class Filesystem:
    """The tools, confined to `roots`. Methods raise `ToolError` with a message naming the path."""

    def __init__(
        self,
        roots: Sequence[str],
        *,
        read_only: bool = False,
        max_read_bytes: int = MIB,
        max_write_bytes: int = MIB,
    ) -> None:
        self.roots = list(dict.fromkeys(_resolve_root(root) for root in roots))
        if not self.roots:
            raise ValueError("at least one root directory is needed")
        self.read_only = read_only
        self.max_read_bytes = max_read_bytes
        self.max_write_bytes = max_write_bytes

    def read_file(self, path: str, offset: NonNegative = 0, length: NonNegative | None = None) -> FileText:
        """Read a UTF-8 text file, whole or a part of it. Binary files are refused.

        Args:
            path: The file: relative to the first root, or absolute inside a root.
            offset: The byte to start at.
            length: How many bytes to read (default: to the end). One call reads at most the read
                limit (see list_roots): read larger files in parts, continuing at `next_offset`.
        """
        real = self._resolve(path)
        data, size = self._read(path, real, offset, length)
        content, start, end = _text(path, data, offset, final=offset + len(data) >= size)
        return {"path": _shown(real), "content": content, "size": size, "offset": start, "next_offset": end}

    def write_file(self, path: str, content: str) -> Written:
        """Create a text file, or replace one, with `content` (UTF-8). Its directory must exist.

        Args:
            path: The file: relative to the first root, or absolute inside a root.
            content: The whole new content.
        """
        data = _utf8("content", content)
        self._check_write_size(path, len(data))
        real = self._resolve(path)
        created = self._replace(path, real, data)
        return {"path": _shown(real), "size": len(data), "created": created}

    def edit_file(
        self,
        path: str,
        old_text: str,
        new_text: str,
        expected_occurrences: Annotated[int, Field(ge=1)] = 1,
    ) -> Edited:
        """Replace exact text in a text file. Nothing changes unless `old_text` occurs exactly
        `expected_occurrences` times; include surrounding lines to make it unique.

        Args:
            path: The file: relative to the first root, or absolute inside a root.
            old_text: The text to replace, character for character (whitespace and line breaks too).
            new_text: The replacement.
            expected_occurrences: How many times `old_text` occurs; every occurrence is replaced.
        """
        if not old_text:
            raise ToolError("old_text is empty: give the exact text to replace")
        _utf8("old_text", old_text)
        _utf8("new_text", new_text)
        real = self._resolve(path)
        data, _ = self._read(path, real, 0, None)
        original, _, _ = _text(path, data, 0, final=True)
        found = original.count(old_text)
        if found == 0:
            raise ToolError(f"old_text was not found in {path!r}; nothing changed")
        if found != expected_occurrences:
            raise ToolError(
                f"old_text occurs {found} times in {path!r}, not {expected_occurrences}; nothing changed."
                " Include more surrounding text to pick one, or pass expected_occurrences to replace all"
            )
        updated = original.replace(old_text, new_text).encode()
        self._check_write_size(path, len(updated))
        self._replace(path, real, updated)
        return {"path": _shown(real), "replacements": found, "size": len(updated)}

    def list_directory(self, path: str = ".") -> Listing:
        """List a directory: each entry's name, type (file, directory, symlink, other) and size.

        Args:
            path: The directory: relative to the first root, or absolute inside a root.
        """
        real = self._resolve(path)
        with self._opened(path, real, _DIRECTORY) as directory, _reported(path):
            names = sorted(os.listdir(directory))
            entries: list[Entry] = [
                _entry(name, info)
                for name in names[:MAX_LISTED_ENTRIES]
                if (info := _lstat(name, directory)) is not None  # else removed since the listing
            ]
        return {"path": _shown(real), "entries": entries, "total": len(names)}

    def search_files(
        self,
        pattern: str = "*",
        path: str = ".",
        contains: str | None = None,
        max_results: Annotated[int, Field(ge=1, le=MAX_SEARCH_RESULTS)] = 100,
    ) -> SearchResult:
        """Find files and directories under a directory by name, and optionally by content.
        Symlinks are listed but never followed.

        Args:
            pattern: A glob (`*`, `?`, `[abc]`; case-sensitive) matched against each name, e.g.
                `*.py`; if it contains `/`, against the path relative to `path` (`*` also matches `/`).
            path: The directory to search: relative to the first root, or absolute inside a root.
            contains: Only files whose content contains this exact text.
            max_results: Stop after this many matches.
        """
        real = self._resolve(path)
        needle = _utf8("contains", contains) if contains else None
        matches: list[Match] = []
        skipped = 0
        with self._opened(path, real, _DIRECTORY) as top, _reported(path), closing(_walk(top)) as entries:
            for seen, (relative, name, directory) in enumerate(entries, 1):
                if relative is None:  # the tree was moved while it was searched: the rest is unknown
                    return {"matches": matches, "truncated": True, "skipped": skipped}
                if len(matches) == max_results or seen > MAX_SEARCHED_ENTRIES:
                    return {"matches": matches, "truncated": True, "skipped": skipped}
                if not fnmatchcase(relative if "/" in pattern else name, pattern):
                    continue
                info = _lstat(name, directory)
                if info is None:  # removed while the search ran
                    continue
                if needle is not None:
                    if not stat.S_ISREG(info.st_mode):
                        continue
                    content = self._searchable_content(name, directory, info.st_size)
                    if content is None:
                        skipped += 1
                    if content is None or needle not in content:
                        continue
                matches.append(_match(os.path.join(real, relative), info))
        return {"matches": matches, "truncated": False, "skipped": skipped}

    def file_info(self, path: str) -> FileInfo:
        """Describe a file or directory: type, size, modification time and permissions.

        Args:
            path: The file or directory: relative to the first root, or absolute inside a root.
        """
        real = self._resolve(path)
        with self._opened(path, real, _METADATA) as descriptor, _reported(path):
            info = os.fstat(descriptor)
        return {
            "path": _shown(real),
            "type": _kind(info.st_mode),
            "size": info.st_size,
            "modified": datetime.fromtimestamp(info.st_mtime, UTC).isoformat(timespec="seconds"),
            "permissions": stat.filemode(info.st_mode),
        }

    def create_directory(self, path: str) -> Directory:
        """Create a directory and any missing parents; an existing directory is left as it is.

        Args:
            path: The directory: relative to the first root, or absolute inside a root.
        """
        real = self._resolve(path)
        existing = real
        missing: list[str] = []  # the components to create, outermost first
        while not os.path.lexists(existing):
            existing, name = os.path.split(existing)
            missing.insert(0, name)
        with ExitStack() as stack:
            directory = stack.enter_context(self._opened(path, existing, _DIRECTORY))
            stack.enter_context(_reported(path))
            for name in missing:
                os.mkdir(name, dir_fd=directory)
                directory = os.open(name, _DIRECTORY, dir_fd=directory)
                stack.callback(os.close, directory)
        return {"path": _shown(real), "created": bool(missing)}

    def move_file(self, source: str, destination: str) -> Moved:
        """Move or rename a file or directory; a symlink is followed (what moves is what it points to).
        Refuses to overwrite: the destination must not exist.

        Args:
            source: What to move: relative to the first root, or absolute inside a root.
            destination: Its new path, including the name; its directory must exist.
        """
        real_source, real_destination = self._resolve(source), self._resolve(destination)
        if PurePath(real_destination).is_relative_to(real_source):
            raise ToolError(f"cannot move {source!r} into itself ({destination!r})")
        with (
            self._parent(source, real_source) as (source_directory, source_name),
            self._parent(destination, real_destination) as (destination_directory, destination_name),
        ):
            with _reported(destination):
                existing = _lstat(destination_name, destination_directory)
            if existing is not None:
                raise ToolError(f"{destination!r} already exists; move_file does not overwrite")
            with _reported(source):
                os.rename(
                    source_name,
                    destination_name,
                    src_dir_fd=source_directory,
                    dst_dir_fd=destination_directory,
                )
        return {"source": _shown(real_source), "destination": _shown(real_destination)}

    def list_roots(self) -> Roots:
        """The directories this server may use (relative paths resolve against the first), whether it
        is read-only, and its size limits in bytes."""
        return {
            "roots": [_shown(root) for root in self.roots],
            "read_only": self.read_only,
            "max_read_bytes": self.max_read_bytes,
            "max_write_bytes": self.max_write_bytes,
        }

    def _resolve(self, path: str) -> str:
        """`path` as an absolute path with symlinks followed; refused unless it lies inside a root."""
        if "\0" in path:
            raise ToolError(f"{path!r} contains a NUL character")
        try:
            os.fsencode(path)
        except UnicodeEncodeError as error:
            raise ToolError(
                f"{path!r} cannot be a path: {error.object[error.start]!r} at {error.start} is a lone"
                " surrogate, not a character"
            ) from None
        real = os.path.realpath(os.path.join(self.roots[0], path))
        self._check_inside(path, real)
        return real

    def _check_inside(self, path: str, real: str) -> None:
        if not any(PurePath(real).is_relative_to(root) for root in self.roots):
            raise ToolError(
                f"access denied: {path!r} resolves outside the allowed roots"
                f" ({', '.join(_shown(root) for root in self.roots)})"
            )

    @contextmanager
    def _opened(self, path: str, real: str, flags: int) -> Iterator[int]:
        """`real` opened, if the descriptor is still inside a root: a component swapped for a symlink
        after `_resolve` checked the path would show here."""
        with _reported(path):
            descriptor = os.open(real, flags)
        try:
            with _reported(path):
                opened = _descriptor_path(descriptor)
            self._check_inside(path, opened)
            yield descriptor
        finally:
            os.close(descriptor)

    @contextmanager
    def _parent(self, path: str, real: str) -> Iterator[tuple[int, str]]:
        """The checked directory holding `real`, opened, and `real`'s name in it."""
        if real in self.roots:
            raise ToolError(f"{path!r} is a root directory; it cannot be replaced or moved")
        directory, name = os.path.split(real)
        with self._opened(os.path.dirname(path) or ".", directory, _DIRECTORY) as descriptor:
            yield descriptor, name

    def _read(self, path: str, real: str, offset: int, length: int | None) -> tuple[bytes, int]:
        """Up to `length` bytes (default: the rest) of the regular file `real` from `offset`; its size."""
        with _reported(path):
            info = os.lstat(real)
        if not stat.S_ISREG(info.st_mode):  # a socket cannot even be opened; a FIFO could block
            raise _not_a_file(path, info.st_mode)
        with self._opened(path, real, _READ) as descriptor, _reported(path):
            size = _regular_file_size(path, descriptor)
            wanted = max(size - offset, 0) if length is None else length
            if wanted > self.max_read_bytes:
                raise ToolError(
                    f"reading {wanted} bytes of {path!r} ({size} bytes in all) exceeds the read limit of"
                    f" {self.max_read_bytes} bytes (read_file reads large files in parts: offset and length)"
                )
            return _read_at(descriptor, offset, wanted), size

    def _check_write_size(self, path: str, size: int) -> None:
        if size > self.max_write_bytes:
            raise ToolError(
                f"writing {size} bytes to {path!r} exceeds the write limit of {self.max_write_bytes} bytes;"
                " nothing was written"
            )

    def _replace(self, path: str, real: str, data: bytes) -> bool:
        """Write `data` to a temporary file beside `real`, then rename it over `real`; True if it is new."""
        with self._parent(path, real) as (directory, name), _reported(path):
            existing = _lstat(name, directory)
            if existing is not None and not stat.S_ISREG(existing.st_mode):
                raise ToolError(f"{_not_a_file(path, existing.st_mode)}; nothing was written")
            if existing is not None and not os.access(name, os.W_OK, dir_fd=directory):
                raise ToolError(
                    f"{path!r} is not writable ({stat.filemode(existing.st_mode)}); nothing was written"
                )
            temporary = f".{name}.{secrets.token_hex(4)}.tmp"
            descriptor = os.open(temporary, _NEW_FILE, 0o666, dir_fd=directory)
            try:
                with open(descriptor, "wb") as file:
                    file.write(data)
                    if existing is not None:
                        os.fchmod(descriptor, stat.S_IMODE(existing.st_mode))
                    file.flush()
                    os.fsync(descriptor)
                os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
            except BaseException:
                with suppress(OSError):
                    os.unlink(temporary, dir_fd=directory)
                raise
        return existing is None

    def _searchable_content(self, name: str, directory: int, size: int) -> bytes | None:
        """The content of the file `name` in `directory`, or None if it is too large or unreadable."""
        if size > self.max_read_bytes:
            return None
        try:
            descriptor = os.open(name, _READ, dir_fd=directory)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # replaced since it was listed
                return None
            return _read_at(descriptor, 0, self.max_read_bytes)
        except OSError:
            return None
        finally:
            os.close(descriptor)


def _resolve_root(root: str) -> str:
    real = os.path.realpath(os.path.expanduser(root))
    if not os.path.isdir(real):
        raise ValueError(f"root {root!r} is not an existing directory")
    return real


def _walk(top: int) -> Generator[tuple[str | None, str, int], None, None]:
    """Every entry under the directory `top`, directory by directory in name order, never through a
    symlink: (its path relative to `top`, its name, a descriptor of its directory).

    A loop, not a recursion, with one directory open at a time, so that a tree thousands of levels
    deep needs neither: it goes down by name (O_NOFOLLOW) and back up through `..`, checking that it
    arrives where it came from. If not (a directory was moved meanwhile), it yields `None` as the
    path and stops."""
    current = os.open(".", _DIRECTORY, dir_fd=top)
    try:
        above: list[tuple[int, int]] = []  # the identity of each directory above `current`
        names: list[str] = []  # the path from `top` to `current`
        pending = [(yield from _entries(current, names))]  # for each level, the directories left to enter
        while pending:
            if not pending[-1]:
                pending.pop()
                if pending:
                    parent = _up(current, above.pop())
                    os.close(current)
                    current = parent
                    names.pop()
                continue
            name = pending[-1].pop()
            try:
                below = os.open(name, _DIRECTORY, dir_fd=current)
            except OSError:  # removed, replaced by a symlink or unreadable since it was listed
                continue
            above.append(_identity(current))
            os.close(current)
            current, names = below, [*names, name]
            pending.append((yield from _entries(current, names)))
    except _Moved:
        yield None, "", current
    finally:
        os.close(current)


def _entries(directory: int, names: list[str]) -> Generator[tuple[str | None, str, int], None, list[str]]:
    """Yields each entry of `directory` (at `names` below the top) in name order; returns the names of
    its subdirectories, last first."""
    with os.scandir(directory) as listing:
        entries = sorted((entry.name, entry.is_dir(follow_symlinks=False)) for entry in listing)
    for name, _ in entries:
        yield "/".join([*names, name]), name, directory
    return [name for name, is_directory in reversed(entries) if is_directory]


class _Moved(Exception):
    """A directory of the walk was moved while it was walked."""


def _up(directory: int, expected: tuple[int, int]) -> int:
    """The parent of `directory`, opened, if it is the directory `expected`."""
    parent = os.open("..", _DIRECTORY, dir_fd=directory)
    if _identity(parent) != expected:
        os.close(parent)
        raise _Moved
    return parent


def _identity(directory: int) -> tuple[int, int]:
    info = os.fstat(directory)
    return info.st_dev, info.st_ino


def _descriptor_path(descriptor: int) -> str:
    """Where an open file or directory really is, whatever path opened it."""
    if sys.platform == "darwin":
        return os.fsdecode(fcntl.fcntl(descriptor, fcntl.F_GETPATH, bytes(1024)).rstrip(b"\0"))
    return os.readlink(f"/proc/self/fd/{descriptor}")


@contextmanager
def _reported(path: str) -> Iterator[None]:
    """OS errors as tool errors naming `path` (any other exception reaches the client without its message)."""
    try:
        yield
    except FileNotFoundError:
        raise ToolError(f"{path!r} does not exist") from None
    except OSError as error:
        raise ToolError(f"{path!r}: {error.strerror or error}") from None


def _regular_file_size(path: str, descriptor: int) -> int:
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        raise _not_a_file(path, info.st_mode)
    return info.st_size


def _not_a_file(path: str, mode: int) -> ToolError:
    kinds = {
        stat.S_IFDIR: "a directory",
        stat.S_IFIFO: "a FIFO (named pipe)",
        stat.S_IFSOCK: "a socket",
        stat.S_IFCHR: "a character device",
        stat.S_IFBLK: "a block device",
        stat.S_IFLNK: "a symlink",
    }
    return ToolError(f"{path!r} is not a regular file but {kinds.get(stat.S_IFMT(mode), 'a special file')}")


def _read_at(descriptor: int, offset: int, length: int) -> bytes:
    chunks = []
    while length > 0 and (chunk := os.pread(descriptor, length, offset)):
        chunks.append(chunk)
        offset += len(chunk)
        length -= len(chunk)
    return b"".join(chunks)


def _text(path: str, data: bytes, offset: int, *, final: bool) -> tuple[str, int, int]:
    """`data`, read at `offset`, as text; and the byte range decoded. A range cut inside a character
    starts after it and ends before it (unless `final`: the end of the file must be whole)."""
    start = 0
    if offset > 0:
        while start < min(3, len(data)) and data[start] & 0xC0 == 0x80:  # UTF-8 continuation bytes
            start += 1
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(data[start:], final=final)
    except UnicodeDecodeError:
        raise _not_text(path) from None
    if "\0" in text:
        raise _not_text(path)
    undecoded = len(decoder.getstate()[0])
    return text, offset + start, offset + len(data) - undecoded


def _not_text(path: str) -> ToolError:
    return ToolError(f"{path!r} is not UTF-8 text (binary?); only text files can be read or edited")


def _lstat(name: str, directory: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _shown(text: str) -> str:
    """`text` (a name or path from the file system) as valid Unicode: each byte that is not UTF-8 (which
    Python holds as a lone surrogate) as `\\xNN`."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _entry(name: str, info: os.stat_result) -> Entry:
    entry: Entry = {"name": _shown(name), "type": _kind(info.st_mode), "size": _size(info)}
    if entry["name"] != name:
        entry["escaped"] = True
    return entry


def _match(path: str, info: os.stat_result) -> Match:
    match: Match = {"path": _shown(path), "type": _kind(info.st_mode), "size": _size(info)}
    if match["path"] != path:
        match["escaped"] = True
    return match


def _utf8(argument: str, text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError as error:
        raise ToolError(
            f"{argument} is not valid text: {error.object[error.start]!r} at {error.start} is a lone"
            " surrogate, not a character"
        ) from None


def _kind(mode: int) -> Kind:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    return "symlink" if stat.S_ISLNK(mode) else "other"


def _size(info: os.stat_result) -> int | None:
    return info.st_size if stat.S_ISREG(info.st_mode) else None


READS = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
OVERWRITES = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
CHANGES = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
)
ADDS = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def build_server(filesystem: Filesystem) -> MCPServer:
    """An MCP server offering `filesystem`'s tools: the reading ones only if it is read-only."""
    roots = ", ".join(_shown(root) for root in filesystem.roots)
    mode = "read-only" if filesystem.read_only else "read-write"
    server = MCPServer(
        "filesystem",
        instructions=f"Text files under {roots} ({mode}); relative paths start at the first.",
    )
    for reader in (
        filesystem.read_file,
        filesystem.list_directory,
        filesystem.search_files,
        filesystem.file_info,
        filesystem.list_roots,
    ):
        server.add_tool(reader, annotations=READS)
    if not filesystem.read_only:
        server.add_tool(filesystem.write_file, annotations=OVERWRITES)
        server.add_tool(filesystem.edit_file, annotations=CHANGES)
        server.add_tool(filesystem.create_directory, annotations=ADDS)
        server.add_tool(filesystem.move_file, annotations=CHANGES)  # the source's path goes away
    return server


def _byte_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of bytes, not {text!r}")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "roots",
        nargs="+",
        metavar="ROOT",
        help="a directory the tools may use; relative paths start at the first",
    )
    parser.add_argument("--read-only", action="store_true", help="offer only the tools that read")
    parser.add_argument(
        "--max-read-bytes",
        type=_byte_count,
        default=MIB,
        metavar="N",
        help="most bytes one read returns (1 MiB)",
    )
    parser.add_argument(
        "--max-write-bytes",
        type=_byte_count,
        default=MIB,
        metavar="N",
        help="most bytes one write stores (1 MiB)",
    )
    add_transport_options(parser)
    options = parser.parse_args()
    try:
        filesystem = Filesystem(
            options.roots,
            read_only=options.read_only,
            max_read_bytes=options.max_read_bytes,
            max_write_bytes=options.max_write_bytes,
        )
    except ValueError as error:
        parser.error(str(error))
    run(build_server(filesystem), options)


if __name__ == "__main__":
    main()
