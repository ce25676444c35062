"""The change journal: every change is on disk before it is made.

One JSON-lines file per run under ``<state>/journal/<target identity>/<run-id>.jsonl``.
Records: ``begin``, ``change`` (before the change is made, fsynced), ``restored`` (after its
inverse is made) and ``end``. A run without ``end`` is unrestored: ``zonedrill rollback`` and the
next run's preflight find it.

A journal that cannot be written (a full or failing disk) stops the run before its next change
and sends it down the restore path; while restoring, a failed write is remembered, not raised, so
every change is still undone. Readers skip torn or garbage lines and count them, and every append
starts on a fresh line, so one bad line never locks a target out.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.errors import InvalidInputError, JournalError, Problem
from orchestrator.targets.port import (
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
    scope,
)


def state_dir() -> Path:
    """Where zonedrill keeps journals, locks and history (XDG state dir by default)."""
    override = os.environ.get("ZONEDRILL_STATE_DIR")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    found = Path(override) if override else Path(base) / "zonedrill"
    if found.exists() and not found.is_dir():
        where = "$ZONEDRILL_STATE_DIR" if override else "the state directory"
        message = f"{found} is not a folder: point $ZONEDRILL_STATE_DIR at a folder"
        raise InvalidInputError([Problem(where, None, None, "", message)])
    return found


MAX_PID = 2**22
"""Linux never hands out a pid this large; a journal naming one is damaged."""
MAX_RECORD_BYTES = 1024 * 1024
"""A journal line is a few hundred bytes; longer is garbage, read in pieces and skipped."""


def _safe(identity: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", identity)


def change_to_json(change: Change) -> dict[str, Any]:
    """A change as a JSON object."""
    return asdict(change)


DECODERS: dict[str, Callable[[dict[str, Any]], Change]] = {
    "cordon": lambda data: Cordon(node=data["node"]),
    "uncordon": lambda data: Uncordon(node=data["node"]),
    "add-taint": lambda data: AddTaint(node=data["node"], taint=Taint(**data["taint"])),
    "remove-taint": lambda data: RemoveTaint(node=data["node"], taint=Taint(**data["taint"])),
    "delete-pod": lambda data: DeletePod(
        pod=PodRef(**data["pod"]), grace_seconds=data.get("grace_seconds", 0)
    ),
    "evict-pod": lambda data: EvictPod(pod=PodRef(**data["pod"])),
}
"""How each ``op`` a journal may hold is read back: one entry per kind of Change."""


def change_from_json(data: dict[str, Any]) -> Change:
    """Rebuild a change written by ``change_to_json``."""
    decode = DECODERS.get(data["op"])
    if decode is None:
        raise ValueError(f"unknown change {data['op']!r} in journal")
    return decode(data)


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
        self.skipped = 0
        """Torn or garbage lines passed over when the journal was read back."""
        self.unwritten = ""
        """Why restore records could not be written (the changes were still undone)."""

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
        records, skipped = read_records(path)
        run_id = str(records[0].get("runId", path.stem)) if records else path.stem
        journal = cls(path, run_id=run_id)
        journal.skipped = skipped
        for record in records:
            try:
                journal._replay(record)
            except (KeyError, TypeError, ValueError, OverflowError):
                journal.skipped += 1
        return journal

    def _replay(self, record: dict[str, Any]) -> None:
        if record["type"] == "change":
            seq = int(record["seq"])
            self._changes[seq] = change_from_json(record["change"])
            self._seq = max(self._seq, seq)
        elif record["type"] == "restored":
            self._restored.add(int(record["seq"]))

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
            kind, name = scope(change)
            if wanted is None or (kind == "node" and name in wanted):
                entries.append(JournalEntry(seq=seq, change=change, restored=False))
        return entries

    def mark_restored(self, seqs: Iterable[int]) -> None:
        """Note that these changes have been undone.

        Never raises: the restore must go on when the disk is full. The journal on disk then
        still lists the change, and a later rollback undoes it again, which is harmless.
        """
        done = [s for s in seqs if s not in self._restored]
        self._restored.update(done)
        if done:
            try:
                self._write([{"type": "restored", "seq": s} for s in done])
            except JournalError as exc:
                self.unwritten = str(exc)

    def close(self, *, restored: bool, note: str = "") -> None:
        """Write the end record: the run is over and, if ``restored``, nothing is left changed."""
        self._write([{"type": "end", "restored": restored, "note": note, "at": _now()}])

    def changes(self) -> list[Change]:
        """Every change recorded, in order."""
        return [self._changes[s] for s in sorted(self._changes)]

    def _write(self, records: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
        try:
            with self.path.open("ab+") as handle:
                if handle.tell() > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":
                        data = b"\n" + data  # after a torn line, start a fresh one
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise JournalError(
                f"cannot write the journal {self.path}: {exc.strerror or exc}"
            ) from exc


@dataclass(frozen=True)
class OpenRun:
    """A journal whose run never wrote its end record."""

    path: Path
    run_id: str
    drill: str
    target: str
    identity: str
    pid: int
    skipped: int = 0
    """Torn or garbage lines passed over in its journal."""

    @property
    def alive(self) -> bool:
        """True while the process that wrote the journal may still be running it."""
        return zonedrill_alive(self.pid)


def zonedrill_alive(pid: int) -> bool:
    """True while ``pid`` may be a running zonedrill (not this process).

    A pid can be reused, so a live pid only counts when that process is a zonedrill; where that
    cannot be read, a live pid counts (refusing a rollback is the safe mistake).
    """
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"zonedrill" in command or b"orchestrator" in command


def open_runs(root: Path, *, identity: str | None = None) -> list[OpenRun]:
    """Journals without an end record, for one target identity or for all."""
    base = root / "journal"
    folders = [base / _safe(identity)] if identity else sorted(base.glob("*"))
    found = []
    for folder in folders:
        for path in sorted(folder.glob("*.jsonl")):
            if path.is_symlink() or not path.is_file():
                continue  # zonedrill writes only regular files here; a FIFO would block
            records, skipped = read_records(path)
            head = records[0] if records else {}
            if head.get("type") == "begin" and records[-1].get("type") != "end":
                found.append(_open_run(path, head, skipped))
    return found


def _open_run(path: Path, head: dict[str, Any], skipped: int) -> OpenRun:
    def text(key: str) -> str:
        return str(head.get(key, "?"))

    pid = head.get("pid")
    return OpenRun(
        path,
        text("runId") if "runId" in head else path.stem,
        text("drill"),
        text("target"),
        text("identity"),
        pid if isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < MAX_PID else 0,
        skipped,
    )


def known_run(root: Path, run_id: str) -> bool:
    """True when any journal (open or ended) under ``root`` belongs to ``run_id``."""
    name = f"{run_id}.jsonl"
    return any(path.name == name for path in (root / "journal").glob("*/*.jsonl"))


def read_records(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The journal's records, and how many torn or garbage lines were passed over."""
    records, skipped = [], 0
    with path.open("rb") as handle:
        for line in iter(lambda: handle.readline(MAX_RECORD_BYTES), b""):
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):  # a torn line (a crash mid-write), or garbage
                skipped += bool(line.strip())
                continue
            if isinstance(record, dict) and isinstance(record.get("type"), str):
                records.append(record)
            else:
                skipped += 1
    return records, skipped


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
