"""An OTLP/HTTP trace collector for tests and benchmarks: it takes `POST /v1/traces` (protobuf, as
OpenTelemetry's exporters send it), decodes each span with OpenTelemetry's own protobuf classes, and
appends it as a JSON line to OUT_FILE. It prints its URL on stdout once it listens.

    python otlp_collector.py OUT_FILE
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return (
        getattr(value, kind)
        if kind in ("string_value", "bool_value", "int_value", "double_value")
        else str(value)
    )


def main(out_file: Path) -> None:
    async def traces(request: Request) -> Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.body())
        with out_file.open("a") as out:
            for resource_spans in export.resource_spans:
                service = {a.key: _value(a.value) for a in resource_spans.resource.attributes}.get(
                    "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        record = {
                            "service": service,
                            "scope": scope_spans.scope.name,
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_id": span.parent_span_id.hex() or None,
                            "kind": span.kind,
                            "status": span.status.code,
                            "attributes": {a.key: _value(a.value) for a in span.attributes},
                        }
                        out.write(json.dumps(record) + "\n")
        body = ExportTraceServiceResponse().SerializeToString()
        return Response(body, media_type="application/x-protobuf")

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)  # connections wait in the backlog until uvicorn serves: the URL is good now
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])]), log_level="warning")
    )
    print(f"http://127.0.0.1:{port}", flush=True)
    server.run(sockets=[listener])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
