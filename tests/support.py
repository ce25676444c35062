"""Constants and helpers shared by the tests."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

REPO = Path(__file__).resolve().parent.parent
ZONEDRILL = [sys.executable, "-m", "orchestrator"]
"""The zonedrill command of the interpreter running the tests (PATH may hold another one)."""


def cli_env(state: Path) -> dict[str, str]:
    """The environment for a zonedrill subprocess using ``state``."""
    return {**os.environ, "ZONEDRILL_STATE_DIR": str(state), "COLUMNS": "200"}


def zonedrill(state: Path, *args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
    """Run ``zonedrill ARGS`` with ``state`` as its state directory; never raises on its exit."""
    return subprocess.run(
        [*ZONEDRILL, *args],
        capture_output=True,
        text=True,
        env=cli_env(state),
        timeout=timeout,
        check=False,
    )


def succeeded(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """``done``, once it is known to have exited 0 (else the test fails with its stderr)."""
    assert done.returncode == 0, done.stderr
    return done


STARTED: list[subprocess.Popen[str]] = []
"""Every child ``start_until`` started, for ``_reap``."""


@atexit.register
def _reap() -> None:
    """Kill children an interrupted test left running (Ctrl-C while one was stopped, say)."""
    for child in STARTED:
        if child.poll() is None:
            child.kill()
            child.wait()


def start_until(
    command: list[str], *, env: dict[str, str], marker: str, timeout: float = 120.0
) -> subprocess.Popen[str]:
    """Start ``command`` and return once a line of its output contains ``marker``.

    The output is read in a thread, so a silent child cannot outlast ``timeout``. A child that
    exits or stays silent without printing the marker is killed and fails the test, with what it
    printed. The rest of the output stays readable with ``communicate()``.
    """
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    STARTED.append(process)
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:
        # Byte by byte from the descriptor: a buffered reader would read ahead past the marker,
        # and communicate(timeout=...) reads the descriptor, not that buffer.
        assert process.stdout is not None
        line = bytearray()
        while byte := os.read(process.stdout.fileno(), 1):
            line += byte
            if byte == b"\n":
                seen.append(line.decode(errors="replace"))
                line.clear()
                if marker in seen[-1]:
                    found.set()
                    return
        seen.append(line.decode(errors="replace"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if found.is_set():
        return process
    why = "stayed silent" if reader.is_alive() else "closed its output"
    process.kill()
    process.wait()
    reader.join(5)
    pytest.fail(f"{marker!r} never appeared within {timeout:g}s ({why}); output:\n{''.join(seen)}")


EXAMPLE_OUTCOMES: dict[str, tuple[int, str, frozenset[tuple[str, str]]]] = {
    "pangyo-battery-fire": (
        1,
        "failed",
        frozenset({("talk-api", "rto"), ("talk-api", "availability")}),
    ),
    "pangyo-battery-fire-multizone": (0, "passed", frozenset()),
    "pangyo-drain-pdb": (0, "passed", frozenset()),
    "pangyo-guardrail-abort": (3, "aborted", frozenset({("talk-api", "rto")})),
}
"""Each example drill's exit code, outcome and failed (probe, metric) checks, on lab and kube."""


def outcome_of(code: int, result: dict[str, object]) -> tuple[int, str, frozenset[tuple[str, str]]]:
    """The (exit code, outcome, failed checks) of a finished run, to compare with the table."""
    checks = result.get("checks") or []
    assert isinstance(checks, list)
    failed = frozenset((c["probe"], c["metric"]) for c in checks if not c["passed"])
    return code, str(result.get("outcome")), failed


def key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    """A fresh Ed25519 key pair as PEM files (PKCS#8 and SubjectPublicKeyInfo)."""
    key = Ed25519PrivateKey.generate()
    private, public = folder / f"{name}.key", folder / f"{name}.pub"
    private.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public.write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public
