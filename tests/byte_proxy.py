"""A byte-counting TCP proxy on 127.0.0.1, put in front of the moto server by the remote tests and
benchmarks: what the hub downloads is what passes through it, headers included, as on a real network.

Requests are counted by parsing the client's side of each connection as HTTP/1.1 (request line, headers,
a Content-Length or chunked body), so a download cannot be mistaken for a request. Bounded: at most
`max_connections` connections at once, sockets with timeouts, and a lifetime after which it closes
everything and stops by itself, whatever the test does. A `delay` holds each request that long on its
way, as a distant store's round trip would (moto on loopback answers in about a millisecond).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BUFFER = 256 * 1024


@dataclass
class Request:
    method: str
    path: str
    range: str | None


@dataclass
class Counts:
    downloaded: int = 0  # bytes from the server to the client
    uploaded: int = 0  # bytes from the client to the server
    requests: list[Request] = field(default_factory=list)

    def of(self, method: str) -> list[Request]:
        return [request for request in self.requests if request.method == method]

    def as_dict(self) -> dict[str, Any]:
        return {
            "downloaded": self.downloaded,
            "uploaded": self.uploaded,
            "requests": len(self.requests),
            "gets": len(self.of("GET")),
        }


class _RequestParser:
    """Counts HTTP/1.1 requests in the bytes a client sends, whatever their bodies."""

    def __init__(self, on_request: Callable[[Request], None]) -> None:
        self._buffer = bytearray()
        self._body_left = 0
        self._chunked = False
        self._on_request = on_request

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while True:
            if self._body_left:
                taken = min(self._body_left, len(self._buffer))
                del self._buffer[:taken]
                self._body_left -= taken
                if self._body_left:
                    return
            if self._chunked:
                if not self._skip_chunk():
                    return
                continue
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
            del self._buffer[: end + 4]
            method, path = [*head[0].split(" "), "", ""][:2]
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in head[1:])
            }
            self._on_request(Request(method, path, headers.get("range")))
            self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
            self._body_left = 0 if self._chunked else int(headers.get("content-length", 0) or 0)

    def _skip_chunk(self) -> bool:
        """Drop one chunk of a chunked body; False when more bytes are needed."""
        line_end = self._buffer.find(b"\r\n")
        if line_end < 0:
            return False
        size = int(bytes(self._buffer[:line_end]).split(b";")[0] or b"0", 16)
        if size == 0:  # the last chunk, then trailers up to an empty line
            trailer_end = self._buffer.find(b"\r\n\r\n", line_end)
            if trailer_end < 0:
                return False
            del self._buffer[: trailer_end + 4]
            self._chunked = False
            return True
        if len(self._buffer) < line_end + 2 + size + 2:
            return False
        del self._buffer[: line_end + 2 + size + 2]
        return True


class ByteProxy:
    """Forward 127.0.0.1:<port> to 127.0.0.1:<upstream_port>, counting bytes and requests."""

    def __init__(
        self, upstream_port: int, *, lifetime: float = 900.0, max_connections: int = 64, delay: float = 0.0
    ) -> None:
        self.upstream_port = upstream_port
        self.delay = delay  # seconds each request is held on its way: a distant store's round trip
        self.counts = Counts()
        self._lock = threading.Lock()
        self._deadline = time.monotonic() + lifetime
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stopped = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="byte-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ByteProxy:
        self._thread.start()
        return self

    def reset(self) -> Counts:
        """Start counting afresh; returns what was counted until now."""
        with self._lock:
            counted, self.counts = self.counts, Counts()
        return counted

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        with self._lock:
            for each in list(self._sockets):
                with contextlib.suppress(OSError):
                    each.close()
        self._listener.close()

    def __enter__(self) -> ByteProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, request: Request) -> None:
        with self._lock:
            self.counts.requests.append(request)

    def _accept(self) -> None:
        while not self._stopped.is_set() and time.monotonic() < self._deadline:
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            if not self._slots.acquire(timeout=5):
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()
        self._stopped.set()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        except OSError:
            client.close()
            self._slots.release()
            return
        with self._lock:
            self._sockets.update((client, upstream))
        parser = _RequestParser(self._record)
        upward = threading.Thread(target=self._pump, args=(client, upstream, parser), daemon=True)
        upward.start()
        self._pump(upstream, client, None)
        upward.join(timeout=30)
        with self._lock:
            self._sockets.difference_update((client, upstream))
        for each in (client, upstream):
            with contextlib.suppress(OSError):
                each.close()
        self._slots.release()

    def _pump(self, source: socket.socket, target: socket.socket, parser: _RequestParser | None) -> None:
        source.settimeout(1.0)
        try:
            while not self._stopped.is_set() and time.monotonic() < self._deadline:
                try:
                    data = source.recv(BUFFER)
                except TimeoutError:
                    continue
                if not data:
                    break
                with self._lock:
                    if parser is None:
                        self.counts.downloaded += len(data)
                    else:
                        self.counts.uploaded += len(data)
                if parser is not None:
                    before = len(self.counts.requests)
                    parser.feed(data)
                    if self.delay and len(self.counts.requests) > before:
                        time.sleep(self.delay)
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)
