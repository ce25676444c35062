"""Where a run writes, checked before anything is touched, and how it writes durably.

A drill that cannot write its result or its journal must not start: finding out after the chaos
phase loses the evidence, and finding out mid-chaos leaves changes nobody journaled. So preflight
proves each folder takes a write and has room for what the run will put there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from orchestrator.errors import InvalidInputError, Problem

RUN_FILES = ("result.json", "samples.jsonl")
SAMPLE_BYTES = 200
"""A generous size of one line of samples.jsonl (most are about 150 bytes)."""
STATE_ROOM = 1024 * 1024
"""What the state folder must have free: journals are a few kilobytes a run."""


def check_out_dir(folder: Path, *, samples: int) -> None:
    """Create ``folder``, refuse one holding a run, and prove it takes ``samples`` samples."""
    held = [name for name in RUN_FILES if (folder / name).exists()]
    if held:
        raise _refuse(
            folder,
            "--out",
            f"already holds a run ({', '.join(held)}): give a new folder, or move that run away",
        )
    _check_writable(folder, "--out", room=samples * SAMPLE_BYTES * 2)


def check_state_dir(folder: Path) -> None:
    """Prove the state folder (journals, locks, history) takes a write and has room."""
    _check_writable(folder, "state directory ($ZONEDRILL_STATE_DIR)", room=STATE_ROOM)


def _check_writable(folder: Path, what: str, *, room: int) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_durably(folder / ".zonedrill-write-check", b"ok\n")
        (folder / ".zonedrill-write-check").unlink()
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise _refuse(folder, what, f"cannot write there: {exc.strerror or exc}") from exc
    if free < room:
        raise _refuse(
            folder, what, f"only {free} bytes free, and this run needs about {room}: free space"
        )


def _refuse(folder: Path, what: str, message: str) -> InvalidInputError:
    return InvalidInputError([Problem(str(folder), None, None, what, message)])


def write_durably(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that a crash or a full disk leaves the old file or the new."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path
