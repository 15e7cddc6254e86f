"""A local stand-in for Dataverse, Figshare, GitHub releases and plain HTTP, on 127.0.0.1.

It speaks the endpoints the fetchers use, serves byte ranges, and can be told to drop a connection
midway, to corrupt a payload or to require a Dataverse API key; it logs every request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ServerState:
    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # path -> payload
    api: dict[str, Any] = field(default_factory=dict)  # path (with query) -> JSON answer
    api_key: str | None = None  # required on /dataverse/ paths when set
    drop_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before dropping
    drops_left: dict[str, int] = field(default_factory=dict)  # path -> how many more times to drop
    corrupt: set[str] = field(default_factory=set)
    log: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    not_modified: int = 0  # 304 answers to conditional requests (If-None-Match matching the ETag)


class Handler(BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _refuse(self, code: int, message: str) -> None:
        body = json.dumps({"status": "ERROR", "message": message}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        state = self.state
        state.log.append((self.path, self.headers.get("Range")))
        if state.api_key is not None and self.path.startswith("/dataverse/"):
            given = self.headers.get("X-Dataverse-key")
            if given is None:
                return self._refuse(401, "API key required")
            if given != state.api_key:
                return self._refuse(401, "Bad API key")
        if self.path in state.api:
            body = json.dumps(state.api[self.path]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        if self.path not in state.files:
            return self._refuse(404, "not found")
        return self._send_file(self.path)

    def _send_file(self, path: str) -> None:
        import hashlib

        state = self.state
        payload = state.files[path]
        if path in state.corrupt:
            payload = bytes(byte ^ 0xFF for byte in payload[:16]) + payload[16:]
        etag = f'"{hashlib.md5(payload).hexdigest()}"'
        if self.headers.get("If-None-Match") == etag:
            state.not_modified += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        start = 0
        requested = self.headers.get("Range")
        if requested and requested.startswith("bytes="):
            start = int(requested[len("bytes=") :].split("-")[0])
            if start >= len(payload):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(payload)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
        else:
            self.send_response(200)
        body = payload[start:]
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if state.drops_left.get(path, 0) > 0:
            state.drops_left[path] -= 1
            self.wfile.write(body[: state.drop_after[path]])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


@contextmanager
def serve() -> Iterator[ServerState]:
    state = ServerState()
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
