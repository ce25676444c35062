"""Loopback HTTP servers for benchmarks, in a child process pinned away from the client's core."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

SLOW_SECONDS = 0.5


def _serve(port: int, core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(SLOW_SECONDS)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/slow", slow)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, backlog=4096)


def free_port() -> int:
    """A loopback port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(core: int | None = 1) -> Iterator[str]:
    """Start the servers in a child process; yield the base URL."""
    port = free_port()
    code = f"from bench.loopback import _serve; _serve({port}, {core!r})"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(timeout=10)


def pin_to_core(core: int = 0) -> None:
    """Run this process on one core, so CPU figures are per core."""
    os.sched_setaffinity(0, {core})
