"""Frames between the host and the worker: a 4-byte big-endian length, then UTF-8 JSON. Never pickle.

Standard library only: the worker imports this before it is confined.
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Callable
from typing import Any

MAX_FRAME_BYTES = 16 * 1024 * 1024
"""A frame larger than this is a protocol violation (the worker is then killed)."""

MAX_CALL_BYTES = 4 * 1024 * 1024
"""The most a tool call frame may carry: its arguments, as JSON."""

HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """A frame that is too large, not JSON, or not an object."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, allow_nan=False).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
    return HEADER.pack(len(body)) + body


def frame_length(header: bytes) -> int:
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {length} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
    return int(length)


def decode(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, nested too deep, a huge number
        raise ProtocolError(f"frame is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError("frame is not a JSON object")
    return message


def read_frame(read_exactly: Callable[[int], bytes]) -> dict[str, Any]:
    """One frame, from a function that returns exactly `n` bytes (or raises EOFError)."""
    return decode(read_exactly(frame_length(read_exactly(HEADER.size))))


def receive_frame(source: socket.socket) -> dict[str, Any]:
    """One frame from a blocking socket (EOFError once it is closed)."""

    def read_exactly(size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = source.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return bytes(data)

    return read_frame(read_exactly)
