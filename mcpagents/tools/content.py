"""What a tool call returns, as Python values: structured data, text, or small typed content objects."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import mcp_types

from mcpagents.tools.image import Image
from mcpagents.tools.media import Audio as Audio  # defined beside the other media code, exported here


@dataclass(frozen=True)
class Resource:
    """The contents of a resource: `text` for text resources, `blob` for binary ones."""

    uri: str
    mime_type: str | None = None
    text: str | None = None
    blob: bytes | None = None


@dataclass(frozen=True)
class ResourceLink:
    """A pointer to a resource the client may read (`ToolCollection.read_resource(link.uri)`)."""

    uri: str
    name: str
    description: str | None = None
    mime_type: str | None = None


Content = str | Image | Audio | Resource | ResourceLink


def tool_output(result: mcp_types.CallToolResult, output_schema: dict[str, Any] | None) -> Any:
    """The value of a successful call.

    Structured content wins (the `{"result": x}` wrapping servers use for non-object outputs is
    removed); otherwise text blocks are joined into one string, and other content comes back as
    typed objects (one object, or a list when there are several blocks).
    """
    if result.structured_content is not None:
        return _unwrap(result.structured_content, output_schema)
    items = [convert_content(block) for block in result.content]
    if not items:
        return None
    if all(isinstance(item, str) for item in items):
        return "\n".join(str(item) for item in items)
    return items[0] if len(items) == 1 else items


def error_message(result: mcp_types.CallToolResult, tool: str) -> str:
    """The error text of an `isError` result, without the Python SDK's "Error executing tool X: " prefix."""
    texts = [block.text for block in result.content if isinstance(block, mcp_types.TextContent)]
    text = "\n".join(texts) or "the tool reported an error without a message"
    return text.removeprefix(f"Error executing tool {tool}: ")


def convert_content(block: mcp_types.ContentBlock) -> Content:
    match block:
        case mcp_types.TextContent():
            return block.text
        case mcp_types.ImageContent():
            return Image(base64.b64decode(block.data), block.mime_type)
        case mcp_types.AudioContent():
            return Audio(base64.b64decode(block.data), block.mime_type)
        case mcp_types.EmbeddedResource():
            return resource_contents(block.resource)
        case mcp_types.ResourceLink():
            return ResourceLink(str(block.uri), block.name, block.description, block.mime_type)
    raise TypeError(f"unknown MCP content block {type(block).__name__}")


def resource_contents(contents: mcp_types.TextResourceContents | mcp_types.BlobResourceContents) -> Resource:
    if isinstance(contents, mcp_types.TextResourceContents):
        return Resource(str(contents.uri), contents.mime_type, text=contents.text)
    return Resource(str(contents.uri), contents.mime_type, blob=base64.b64decode(contents.blob))


def _unwrap(structured: dict[str, Any], output_schema: dict[str, Any] | None) -> Any:
    if set(structured) != {"result"}:
        return structured
    declared = set((output_schema or {}).get("properties") or {"result": None})
    return structured["result"] if declared == {"result"} else structured
