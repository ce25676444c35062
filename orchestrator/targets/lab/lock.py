"""A one-drill-at-a-time lock on a file, released by the kernel if the process dies."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.errors import LockHeldError


@asynccontextmanager
async def file_lock(path: Path, *, holder: str, wait: float = 0.0) -> AsyncIterator[None]:
    """Hold an exclusive flock on ``path`` (waiting up to ``wait`` s); else LockHeldError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        await _take(fd, path, wait)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"holder": holder, "pid": os.getpid(), "since": since}).encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


async def _take(fd: int, path: Path, wait: float) -> None:
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if asyncio.get_running_loop().time() >= deadline:
                raise LockHeldError(
                    f"another drill is running on this target: {_holder(path)}"
                ) from None
            await asyncio.sleep(0.2)
        else:
            return


def _holder(path: Path) -> str:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return "holder unknown"
    return f"{data.get('holder')} (pid {data.get('pid')}, since {data.get('since')})"
