"""The change journal: every change is on disk before it is made.

One JSON-lines file per run under ``<state>/journal/<target identity>/<run-id>.jsonl``.
Records: ``begin``, ``change`` (before the change is made, fsynced), ``restored`` (after its
inverse is made) and ``end``. A run without ``end`` is unrestored: ``zonedrill rollback`` and the
next run's preflight find it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.port import (
    AddTaint,
    Change,
    Cordon,
    DeletePod,
    EvictPod,
    PodRef,
    RemoveTaint,
    Taint,
    Uncordon,
    inverse,
)


def state_dir() -> Path:
    """Where zonedrill keeps journals, locks and history (XDG state dir by default)."""
    override = os.environ.get("ZONEDRILL_STATE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "zonedrill"


def _safe(identity: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", identity)


def change_to_json(change: Change) -> dict[str, Any]:
    """A change as a JSON object."""
    return asdict(change)


def change_from_json(data: dict[str, Any]) -> Change:
    """Rebuild a change written by ``change_to_json``."""
    op = data["op"]
    if op in ("cordon", "uncordon"):
        return (Cordon if op == "cordon" else Uncordon)(node=data["node"])
    if op in ("add-taint", "remove-taint"):
        taint = Taint(**data["taint"])
        return (AddTaint if op == "add-taint" else RemoveTaint)(node=data["node"], taint=taint)
    pod = PodRef(**data["pod"])
    if op == "delete-pod":
        return DeletePod(pod=pod, grace_seconds=data.get("grace_seconds", 0))
    if op == "evict-pod":
        return EvictPod(pod=pod)
    raise ValueError(f"unknown change {op!r} in journal")


@dataclass(frozen=True)
class JournalEntry:
    """One change as the journal knows it."""

    seq: int
    change: Change
    restored: bool


class Journal:
    """The journal of one run, open for appending."""

    def __init__(self, path: Path, *, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self._seq = 0
        self._restored: set[int] = set()
        self._changes: dict[int, Change] = {}

    @classmethod
    def create(cls, *, root: Path, identity: str, run_id: str, drill: str, target: str) -> Journal:
        """Start the journal of a new run."""
        folder = root / "journal" / _safe(identity)
        folder.mkdir(parents=True, exist_ok=True)
        journal = cls(folder / f"{run_id}.jsonl", run_id=run_id)
        journal._write(
            [
                {
                    "type": "begin",
                    "runId": run_id,
                    "drill": drill,
                    "target": target,
                    "identity": identity,
                    "pid": os.getpid(),
                    "at": _now(),
                }
            ]
        )
        return journal

    @classmethod
    def reopen(cls, path: Path) -> Journal:
        """Open an existing journal (for rollback), replaying what it holds."""
        records = list(_read(path))
        run_id = records[0]["runId"] if records else path.stem
        journal = cls(path, run_id=run_id)
        for record in records:
            if record["type"] == "change":
                journal._changes[record["seq"]] = change_from_json(record["change"])
                journal._seq = max(journal._seq, record["seq"])
            elif record["type"] == "restored":
                journal._restored.add(record["seq"])
        return journal

    def record(self, changes: Iterable[Change]) -> None:
        """Write ``changes`` durably; call before making them."""
        lines = []
        for change in changes:
            self._seq += 1
            self._changes[self._seq] = change
            lines.append({"type": "change", "seq": self._seq, "change": change_to_json(change)})
        if lines:
            self._write(lines)

    def pending_restores(self, *, nodes: Iterable[str] | None = None) -> list[JournalEntry]:
        """Undoable changes not yet undone, newest first, optionally limited to ``nodes``."""
        wanted = set(nodes) if nodes is not None else None
        entries = []
        for seq in sorted(self._changes, reverse=True):
            change = self._changes[seq]
            if seq in self._restored or inverse(change) is None:
                continue
            node = getattr(change, "node", None)
            if wanted is None or node in wanted:
                entries.append(JournalEntry(seq=seq, change=change, restored=False))
        return entries

    def mark_restored(self, seqs: Iterable[int]) -> None:
        """Note that these changes have been undone."""
        done = [s for s in seqs if s not in self._restored]
        self._restored.update(done)
        if done:
            self._write([{"type": "restored", "seq": s} for s in done])

    def close(self, *, restored: bool, note: str = "") -> None:
        """Write the end record: the run is over and, if ``restored``, nothing is left changed."""
        self._write([{"type": "end", "restored": restored, "note": note, "at": _now()}])

    def changes(self) -> list[Change]:
        """Every change recorded, in order."""
        return [self._changes[s] for s in sorted(self._changes)]

    def _write(self, records: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


@dataclass(frozen=True)
class OpenRun:
    """A journal whose run never wrote its end record."""

    path: Path
    run_id: str
    drill: str
    target: str
    identity: str
    pid: int


def open_runs(root: Path, *, identity: str | None = None) -> list[OpenRun]:
    """Journals without an end record, for one target identity or for all."""
    base = root / "journal"
    folders = [base / _safe(identity)] if identity else sorted(base.glob("*"))
    found = []
    for folder in folders:
        for path in sorted(folder.glob("*.jsonl")):
            records = list(_read(path))
            if records and records[0]["type"] == "begin" and records[-1]["type"] != "end":
                head = records[0]
                found.append(
                    OpenRun(
                        path,
                        head["runId"],
                        head["drill"],
                        head["target"],
                        head["identity"],
                        head["pid"],
                    )
                )
    return found


def _read(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            # A crash mid-write can leave a torn last line; everything before it still counts.
            if line.endswith("\n"):
                yield json.loads(line)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
