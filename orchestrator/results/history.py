"""Run history: every finished run in an embedded SQLite database.

The database lives in the state directory (``history.sqlite``) unless ``--history PATH`` says
otherwise. Two drills finishing at once both get recorded: the database runs in WAL mode, each
write is one ``BEGIN IMMEDIATE`` transaction, and a writer waits up to ``BUSY_SECONDS`` for the
other instead of failing. Reads open the database read-only and write nothing, so in WAL mode
they never wait for a writer. The whole result document is kept, so the gate can judge a run even
after its folder was cleaned up.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from orchestrator.errors import HistoryBusyError, InvalidInputError, Problem, ZonedrillError
from orchestrator.results.document import ClusterDoc, ResultDoc
from orchestrator.results.gameday_result import GameDayResult, parse_gameday
from orchestrator.results.place import ANYWHERE, IDENTITY, TARGET, UID, Place, selected
from orchestrator.results.report.document import parse_result

BUSY_SECONDS = 30.0
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    drill TEXT NOT NULL,
    target TEXT NOT NULL,
    trigger TEXT NOT NULL,
    outcome TEXT NOT NULL,
    score REAL,
    worst_rto REAL,
    unrecovered INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    result_path TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_drill ON runs (drill, ended_at);
CREATE TABLE IF NOT EXISTS gamedays (
    game_day_id TEXT PRIMARY KEY,
    gameday TEXT NOT NULL,
    outcome TEXT NOT NULL,
    mean_score REAL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    result_path TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gamedays_by_name ON gamedays (gameday, ended_at);
CREATE TABLE IF NOT EXISTS starts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    identity TEXT NOT NULL,
    trigger TEXT NOT NULL,
    started_at TEXT NOT NULL,
    pid INTEGER NOT NULL,
    ended TEXT
);
CREATE INDEX IF NOT EXISTS starts_by_name ON starts (kind, name, started_at);
"""
RECORDED = "recorded"
"""``starts.ended`` once the run's or game day's own record is in: its verdict stands."""


def default_path(state: Path) -> Path:
    """``history.sqlite`` in the state directory."""
    return state / "history.sqlite"


@dataclass(frozen=True)
class Start:
    """A run or a game day recorded as started, before its first change."""

    id: str
    kind: Literal["run", "gameday"]
    name: str
    target: str
    identity: str
    """The cluster's identity (``kube/<URL>``) when known at the start; "" for a game day."""
    trigger: str
    started_at: datetime
    pid: int
    ended: str | None = None
    """None while no verdict is recorded; RECORDED once it is; else why it never got one."""

    def missing(self) -> str:
        """Why this start leaves its drill or game day without a verdict ("" when it has one)."""
        if self.ended == RECORDED:
            return ""
        when = f"{self.started_at:%Y-%m-%d %H:%M:%S} UTC"
        if self.ended is None:
            return (
                f"started at {when} and has no verdict: still running, or killed (then "
                "zonedrill rollback --all restores it and records it as error)"
            )
        return f"started at {when}, ended error: {self.ended}"


def _aware(text: str) -> datetime | None:
    """``text`` as a time with its timezone, or None."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True)
class RunEntry:
    """One recorded run."""

    doc: ResultDoc
    trigger: str
    result_path: str

    @property
    def worst_rto(self) -> float | None:
        """The longest recovery over every probe and step (None: none or not recovered)."""
        values = [r.seconds for p in self.doc.probes for r in p.rto]
        if not values or any(v is None for v in values):
            return None
        return max(v for v in values if v is not None)

    @property
    def unrecovered(self) -> bool:
        """True when some probe had not recovered by the end of a window."""
        return any(r.seconds is None for p in self.doc.probes for r in p.rto)


class History:
    """The history database at ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """A connection; only writers set up the schema, so reads never wait for the write lock."""
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and not self.path.is_file():  # a FIFO would block SQLite
            raise self._unreadable(OSError("not a regular file"))
        target = str(self.path) if write else f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            connection = sqlite3.connect(
                target, timeout=BUSY_SECONDS, isolation_level=None, uri=not write
            )
        except sqlite3.Error as exc:
            raise self._unreadable(exc) from exc
        try:
            if write:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(SCHEMA)
                connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            yield connection
        except sqlite3.OperationalError as exc:
            raise self._busy_or_unreadable(exc) from exc
        except sqlite3.DatabaseError as exc:
            raise self._unreadable(exc) from exc
        finally:
            connection.close()

    def _busy_or_unreadable(self, exc: sqlite3.OperationalError) -> ZonedrillError:
        if "locked" in str(exc) or "busy" in str(exc):
            return HistoryBusyError(
                f"the history {self.path} stayed busy for {BUSY_SECONDS:g}s (another zonedrill "
                "is writing to it); try again"
            )
        return self._unreadable(exc)

    def _unreadable(self, exc: Exception) -> InvalidInputError:
        message = f"not a usable zonedrill history: {exc}"
        return InvalidInputError([Problem(str(self.path), None, None, "", message)])

    def start(self, start: Start) -> None:
        """Record ``start`` before the first change, so that a kill leaves a trace."""
        row = (
            start.id,
            start.kind,
            start.name,
            start.target,
            start.identity,
            start.trigger,
            start.started_at.isoformat(),
            start.pid,
            start.ended,
        )
        with self._connect(write=True) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "INSERT OR REPLACE INTO starts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row
            )
            connection.execute("COMMIT")

    def starts(
        self, kind: str, name: str, *, trigger: str | None, target: str | None
    ) -> list[Start]:
        """Every start of the drill or game day ``name`` (of ``trigger``, ``target``), newest first.

        Ordered by the times the rows hold, parsed: a text column sorts an edited time anywhere.
        """
        query = "SELECT * FROM starts WHERE kind = ?1 AND name = ?2"
        query += " AND (?3 IS NULL OR trigger = ?3) AND (?4 IS NULL OR target = ?4)"
        if not self.path.exists():
            return []
        with self._connect(write=False) as connection:
            try:
                rows = connection.execute(query, (kind, name, trigger, target)).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):  # written by a zonedrill before starts
                    return []
                raise
        return sorted((self._start(row) for row in rows), key=lambda s: s.started_at, reverse=True)

    def _start(self, row: tuple[object, ...]) -> Start:
        id_, kind_, name_, target_, identity, trigger_, started, pid, ended = row
        moment = _aware(started) if isinstance(started, str) else None
        if moment is None or not isinstance(pid, int):
            message = (
                f"a start record is damaged ({started!r}, pid {pid!r}): the history was edited"
            )
            raise InvalidInputError([Problem(str(self.path), None, None, "starts", message)])
        return Start(
            str(id_),
            "gameday" if kind_ == "gameday" else "run",
            str(name_),
            str(target_),
            str(identity),
            str(trigger_),
            moment,
            pid,
            None if ended is None else str(ended),
        )

    def drop_start(self, start_id: str) -> None:
        """Forget a start whose run was refused before it touched anything: it never ran."""
        with self._connect(write=True) as connection:
            connection.execute("DELETE FROM starts WHERE id = ? AND ended IS NULL", (start_id,))

    def end_abandoned(self, dead: Callable[[int], bool], *, why: str) -> list[str]:
        """Mark every start with no verdict whose process is ``dead`` as ended ``why``.

        Returns their ids. Used by rollback: a killed run or game day is then an error on record.
        """
        with self._connect(write=True) as connection:
            connection.execute("BEGIN IMMEDIATE")
            rows = connection.execute("SELECT id, pid FROM starts WHERE ended IS NULL").fetchall()
            # A pid that is not a number is a damaged row: no process holds it.
            ended = [str(id_) for id_, pid in rows if not isinstance(pid, int) or dead(pid)]
            connection.executemany(
                "UPDATE starts SET ended = ? WHERE id = ?", [(why, id_) for id_ in ended]
            )
            connection.execute("COMMIT")
        return ended

    def record(self, entry: RunEntry, *, document: str) -> None:
        """Store one run (the same run id again replaces it)."""
        doc = entry.doc
        row = (
            doc.run_id,
            doc.drill,
            doc.target,
            entry.trigger,
            doc.outcome,
            doc.score,
            entry.worst_rto,
            int(entry.unrecovered),
            doc.started_at.isoformat(),
            doc.ended_at.isoformat(),
            entry.result_path,
            document,
        )
        with self._connect(write=True) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row
            )
            connection.execute("UPDATE starts SET ended = ? WHERE id = ?", (RECORDED, doc.run_id))
            connection.execute("COMMIT")

    def runs(
        self,
        *,
        drill: str | None = None,
        trigger: str | None = None,
        last: int | None = None,
        place: Place = ANYWHERE,
    ) -> list[RunEntry]:
        """Runs, newest first: of one drill, trigger and place if given; at most ``last``."""
        query, arguments = selected("document, trigger, result_path", drill, trigger, place)
        query += " ORDER BY ended_at DESC, run_id DESC"
        if last is not None:
            query += " LIMIT ?"
            arguments.append(last)
        if not self.path.exists():  # reading never creates a database (a typo stays visible)
            return []
        with self._connect(write=False) as connection:
            rows = connection.execute(query, arguments).fetchall()
        return [self._entry(*row) for row in rows]

    def places(self, *, drill: str, trigger: str | None, place: Place) -> list[ClusterDoc | str]:
        """Where the runs of ``drill`` (of ``trigger``, in ``place``) ran.

        Each cluster, or the target's name for runs that recorded none.
        """
        columns = f"DISTINCT {TARGET}, {IDENTITY}, {UID}"
        query, arguments = selected(columns, drill, trigger, place)
        if not self.path.exists():
            return []
        with self._connect(write=False) as connection:
            rows = connection.execute(query + " ORDER BY 1, 2, 3", arguments).fetchall()
        return [
            ClusterDoc(identity=str(identity), uid=uid) if identity else str(target)
            for target, identity, uid in rows
        ]

    def get(self, run_id: str) -> RunEntry:
        """One run by id (a unique prefix is enough); InvalidInputError when none or several."""
        rows = self._rows_by_prefix(run_id) if self.path.exists() else []
        exact = [r for r in rows if r[0] == run_id]
        if len(exact) == 1 or len(rows) == 1:
            return self._entry(*(exact or rows)[0][1:])
        found = "no run" if not rows else "several runs"
        message = f"{found} with id {run_id!r} in the history; list them with zonedrill history"
        raise InvalidInputError([Problem(str(self.path), None, None, "run", message)])

    def _rows_by_prefix(self, run_id: str) -> list[tuple[str, str, str, str]]:
        """(run id, document, trigger, result path) of up to 3 runs whose id starts so."""
        with self._connect(write=False) as connection:
            rows: list[tuple[str, str, str, str]] = connection.execute(
                "SELECT run_id, document, trigger, result_path FROM runs "
                "WHERE substr(run_id, 1, ?) = ? ORDER BY run_id LIMIT 3",
                (len(run_id), run_id),
            ).fetchall()
        return rows

    def _entry(self, document: object, trigger: object, result_path: object) -> RunEntry:
        source = f"{self.path} (run record)"
        if not all(isinstance(v, str) for v in (document, trigger, result_path)):
            message = "a run record holds binary data where text belongs: the history is damaged"
            raise InvalidInputError([Problem(source, None, None, "", message)])
        doc = parse_result(str(document), source=source)
        return RunEntry(doc=doc, trigger=str(trigger), result_path=str(result_path))

    def record_gameday(self, doc: GameDayResult, *, result_path: str) -> None:
        """Store one game day (its drills are recorded as runs on their own)."""
        row = (
            doc.game_day_id,
            doc.gameday,
            doc.outcome,
            doc.mean_score,
            doc.started_at.isoformat(),
            doc.ended_at.isoformat(),
            result_path,
            doc.model_dump_json(by_alias=True),
        )
        with self._connect(write=True) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "INSERT OR REPLACE INTO gamedays VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row
            )
            connection.execute(
                "UPDATE starts SET ended = ? WHERE id = ?", (RECORDED, doc.game_day_id)
            )
            connection.execute("COMMIT")

    def gameday_path(self, game_day_id: str) -> Path | None:
        """Where the game day's gameday.json was written, as recorded; None if not recorded."""
        with self._connect(write=False) as connection:
            row = connection.execute(
                "SELECT result_path FROM gamedays WHERE game_day_id = ?", (game_day_id,)
            ).fetchone()
        return Path(row[0]) if row and isinstance(row[0], str) else None

    def gamedays(self, *, name: str | None = None, last: int | None = None) -> list[GameDayResult]:
        """Recorded game days, newest first, optionally of one name, at most ``last``."""
        if not self.path.exists():
            return []
        query = "SELECT document FROM gamedays WHERE ?1 IS NULL OR gameday = ?1"
        query += " ORDER BY ended_at DESC, game_day_id DESC LIMIT ?2"
        with self._connect(write=False) as connection:
            try:
                rows = connection.execute(query, (name, -1 if last is None else last)).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):  # written by a zonedrill before game days
                    return []
                raise
        source = f"{self.path} (game-day record)"
        return [parse_gameday(str(row[0]), source=source) for row in rows]
