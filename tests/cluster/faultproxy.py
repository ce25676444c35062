"""A TCP proxy in front of the API server that can reset, stall or refuse connections.

Faults between zonedrill and the API server are played here, at the TCP level, so TLS and the
client's own connection pool see exactly what a flaky network or a dead API server gives them.
Only loopback is used. Every thread stops when the proxy stops.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

CHUNK = 65536


@dataclass
class FaultProxy:
    """Listens on 127.0.0.1 and forwards to ``upstream_port`` unless a fault is on."""

    upstream_port: int
    port: int = 0
    _listener: socket.socket | None = None
    _connections: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stalled_until: float = 0.0
    _refusing_until: float = 0.0
    _stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> FaultProxy:
        """Start accepting; ``port`` is where clients connect."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="faultproxy").start()
        return self

    @property
    def url(self) -> str:
        """The API server URL through the proxy."""
        return f"https://127.0.0.1:{self.port}"

    def reset(self, *, refuse_for: float = 0.0) -> None:
        """Reset every open connection; for ``refuse_for`` seconds reset new ones at once."""
        self._refusing_until = time.monotonic() + refuse_for
        with self._lock:
            doomed = list(self._connections)
        for sock in doomed:
            _abort(sock)

    def stall(self, seconds: float) -> None:
        """Hold every byte in both directions for ``seconds`` (connections stay open)."""
        self._stalled_until = time.monotonic() + seconds

    def stop(self) -> None:
        """Stop accepting and close everything."""
        self._stopped.set()
        if self._listener is not None:
            self._listener.close()
        self.reset()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if time.monotonic() < self._refusing_until:
                _abort(client)
                continue
            self._join(client)

    def _join(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            _abort(client)
            return
        for sock in (client, upstream):
            sock.settimeout(0.2)
            with self._lock:
                self._connections.add(sock)
        for source, target in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while not self._stopped.is_set():
                try:
                    data = source.recv(CHUNK)
                except TimeoutError:
                    continue
                if not data:
                    break
                while time.monotonic() < self._stalled_until and not self._stopped.is_set():
                    time.sleep(0.05)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with self._lock:
                    self._connections.discard(sock)
                _abort(sock)


def _abort(sock: socket.socket) -> None:
    """Close with a TCP reset (linger 0), as a crashed peer or a middlebox would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()
