"""A TCP proxy on 127.0.0.1 that misbehaves on purpose, in front of the moto server: refuses, cuts, stalls.

Each accepted connection is handled by the current `mode`:
- "pass": bytes flow both ways untouched;
- "refuse": the connection is closed at once (an endpoint that resets connections);
- "cut": bytes flow until `cut_after` bytes went in either direction, then both sides are closed
  (a connection cut mid-upload or mid-download); with `then="stall"`, nothing more flows and the
  connection stays open (a server that stops answering in the middle of a transfer); with
  `then="gone"`, every later connection is refused too (a server that died);
- "stall": the connection is accepted and nothing is ever answered (a server that hangs).

`cut_connections` limits how many connections are cut (the first ones to reach `cut_after`; later
ones pass), to show a transient fault that retries get over; `seen` counts connections, `cut` cuts.
Everything stops with `close()`: loops are bounded by socket timeouts and a stop event, so a failing
test cannot leave a thread spinning.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

POLL = 0.2  # seconds between checks of the stop event


@dataclass
class FaultyProxy:
    target: tuple[str, int]
    mode: str = "pass"
    cut_after: int = 1 << 20
    then: str = "close"
    cut_connections: int | None = None
    seen: int = 0
    cut: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(POLL)
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        accepting = threading.Thread(target=self._accept, daemon=True)
        accepting.start()
        self._threads.append(accepting)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.seen += 1
                mode = self.mode
            handler = threading.Thread(target=self._handle, args=(client, mode), daemon=True)
            handler.start()
            self._threads.append(handler)

    def _handle(self, client: socket.socket, mode: str) -> None:
        with client:
            if mode == "refuse":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                return  # closed with a reset
            if mode == "stall":
                client.settimeout(POLL)
                while not self._stop.is_set():
                    try:
                        if not client.recv(65536):
                            return
                    except TimeoutError:
                        continue
                    except OSError:
                        return
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                return
            with upstream:
                budget = {"left": self.cut_after if mode == "cut" else None, "cut": False}
                pumps = [
                    threading.Thread(target=self._pump, args=(client, upstream, budget), daemon=True),
                    threading.Thread(target=self._pump, args=(upstream, client, budget), daemon=True),
                ]
                for pump in pumps:
                    pump.start()
                for pump in pumps:
                    pump.join()

    def _pump(self, source: socket.socket, sink: socket.socket, budget: dict) -> None:
        """Copy bytes until either side closes, the stop event, or the cut budget is spent."""
        source.settimeout(POLL)
        while not self._stop.is_set():
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            cutting = False
            with self._lock:
                if budget["cut"]:
                    break
                left = budget["left"]
                if left is not None and left - len(data) <= 0:
                    if self._may_cut():
                        cutting = budget["cut"] = True
                        self.cut += 1
                        data = data[: max(0, left)]
                    else:
                        budget["left"] = None  # cuts used up: this connection passes from now on
                elif left is not None:
                    budget["left"] = left - len(data)
            try:
                if data:
                    sink.sendall(data)
            except OSError:
                break
            if cutting:
                if self.then == "gone":
                    self.mode = "refuse"
                if self.then == "stall":
                    self._stop.wait()  # hold the connection open, silent, until the proxy closes
                break
        for side in (source, sink):  # one direction ending ends the connection, as a cut line does
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)

    def _may_cut(self) -> bool:
        return self.cut_connections is None or self.cut < self.cut_connections

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        for thread in self._threads:
            thread.join(timeout=2)
