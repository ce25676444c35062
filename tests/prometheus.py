"""A real Prometheus server (Debian's ``prometheus`` package) and Pushgateway for the tests.

Both listen on loopback ports of their own, keep their data in the test's folder and are
stopped on every path out of the ``with`` block; ``tests/run`` installs the packages. Prometheus
scrapes only the loopback targets given, at a short interval, so that a drill of seconds shows
in its queries.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROMETHEUS = "/usr/bin/prometheus"
PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"
PROMTOOL = "/usr/bin/promtool"
SCRAPE_INTERVAL = "250ms"
READY_WITHIN = 30.0


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def need(program: str) -> None:
    """Fail (not skip) when a server the suite needs is missing: tests/run installs it."""
    if shutil.which(program) is None:
        pytest.fail(f"{program} is missing: run tests/run, which installs Debian's packages")


@dataclass(frozen=True)
class Server:
    """One running server: its base URL and process."""

    url: str
    process: subprocess.Popen[bytes]

    def query(self, expr: str) -> Any:
        """An instant query's ``data``, through Prometheus's HTTP API."""
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(address, timeout=5) as answer:  # noqa: S310 - loopback
            return json.loads(answer.read())["data"]

    def answer(self, expr: str, within: float = 15.0) -> list[Any]:
        """The first non-empty answer to ``expr``: what scrapes (every 250ms) bring."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found: list[Any] = self.query(expr)["result"]
            if found:
                return found
            time.sleep(0.25)
        raise AssertionError(f"{expr}: no answer within {within}s")

    def stop(self) -> None:
        """Stop it (TERM, then KILL) and reap it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{url} not ready within {READY_WITHIN}s: {log.read_text()[-2000:]}")


@contextmanager
def _server(argv: list[str], port: int, ready_path: str, log: Path) -> Iterator[Server]:
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        _ready(server.url + ready_path, process, log)
        yield server
    finally:
        server.stop()


@contextmanager
def prometheus(
    folder: Path, *, scrape: tuple[str, ...] = (), self_scrape: bool = False
) -> Iterator[Server]:
    """Prometheus on a free loopback port, scraping ``scrape`` (host:port, /metrics).

    ``self_scrape``: its own metrics too, every second, for queries that need data of its own.
    """
    need(PROMETHEUS)
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    scrape = (*scrape, f"127.0.0.1:{port}") if self_scrape else scrape
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "scrape_configs": [
            # honor_labels: a Pushgateway's groups keep their own job and instance labels.
            {
                "job_name": f"target-{i}",
                "honor_labels": True,
                "static_configs": [{"targets": [where]}],
            }
            for i, where in enumerate(scrape)
        ],
    }
    (folder / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    argv = [
        PROMETHEUS,
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with _server(argv, port, "/-/ready", folder / "prometheus.log") as server:
        yield server


@contextmanager
def pushgateway(folder: Path) -> Iterator[Server]:
    """Debian's Pushgateway on a free loopback port, keeping nothing on disk."""
    need(PUSHGATEWAY)
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # Debian's build persists to /var/lib/prometheus by default: a second start would serve
    # the first one's groups. An empty file name keeps them in memory only.
    argv = [
        PUSHGATEWAY,
        f"--web.listen-address=127.0.0.1:{port}",
        "--persistence.file=",
        "--log.level=warn",
    ]
    with _server(argv, port, "/-/ready", folder / "pushgateway.log") as server:
        yield server
