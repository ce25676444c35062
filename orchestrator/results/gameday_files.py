"""Reading a finished game day back from its folder: ``gameday.json`` and each drill's run.

``report``, ``verify`` and ``gate`` take a game-day folder (or its ``gameday.json``) wherever
they take a run: this is where they tell the two apart and read the game day's runs. A run is
taken only from its own folder inside the game day's, holding the run the game day names, run
within the game day's time: anything else is named as unreadable, and fails the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from orchestrator.errors import InvalidInputError, Problem
from orchestrator.results.gameday_result import GameDayResult, GameDayRunDoc, parse_gameday
from orchestrator.results.report.document import (
    MAX_RESULT_BYTES,
    RESULT_FILE,
    FinishedRun,
    load_result,
)
from orchestrator.yamlfile import read_bounded

GAMEDAY_FILE = "gameday.json"
CLOCK_SLACK = timedelta(seconds=1)
"""Times are stored to the millisecond, from one clock; a second covers their rounding."""


@dataclass(frozen=True)
class FinishedGameDay:
    """A game day's document, where it was read, and the drill runs its folder still holds."""

    doc: GameDayResult
    path: Path
    runs: dict[str, FinishedRun]
    """By run id; a run whose folder is gone or unreadable is in ``unreadable``."""
    unreadable: dict[str, str]

    @property
    def folder(self) -> Path:
        """The game day's folder, where its runs' folders are."""
        return self.path.parent


def gameday_file(given: Path) -> Path | None:
    """The gameday.json ``given`` names (the file, or the game day's folder); None for a run.

    A folder holding both a game day and a run is refused: which one a verdict rests on must
    never depend on which file happens to be there.
    """
    try:
        if not given.is_dir():
            return given if given.name == GAMEDAY_FILE else None
        inside = given / GAMEDAY_FILE
        if not inside.exists():
            return None
        if (given / RESULT_FILE).exists():
            message = f"holds both {GAMEDAY_FILE} and {RESULT_FILE}: name the file to judge"
            raise InvalidInputError([Problem(str(given), None, None, "", message)])
    except OSError as exc:  # a name too long, a loop of links
        raise InvalidInputError([Problem(str(given)[:200], None, None, "", str(exc))]) from exc
    return inside


def load_finished_gameday(path: Path, *, with_samples: bool = True) -> FinishedGameDay:
    """Read ``gameday.json`` and every run it names from the folders beside it."""
    doc = parse_gameday(read_bounded(path, limit=MAX_RESULT_BYTES), source=str(path))
    runs: dict[str, FinishedRun] = {}
    unreadable: dict[str, str] = {}
    taken: set[Path] = set()
    for run in doc.runs:
        try:
            found = _run_of(path.parent, run, taken, with_samples=with_samples)
        except (InvalidInputError, OSError) as exc:
            unreadable[run.run_id] = _why(exc)
            continue
        why = _misplaced(doc, run, found)
        if why:
            unreadable[run.run_id] = why
        else:
            runs[run.run_id] = found
    return FinishedGameDay(doc=doc, path=path, runs=runs, unreadable=unreadable)


def _run_of(
    folder: Path, run: GameDayRunDoc, taken: set[Path], *, with_samples: bool
) -> FinishedRun:
    """The run in its own folder inside the game day's, not one folder named twice."""
    place = (folder / run.result).resolve()
    if place.parent != folder.resolve():
        message = f"its result {run.result!r} is not a run folder inside the game day's folder"
        raise InvalidInputError([Problem(str(folder), None, None, "runs.result", message)])
    if place in taken:
        message = f"its folder {run.result!r} is named by another run too"
        raise InvalidInputError([Problem(str(folder), None, None, "runs.result", message)])
    taken.add(place)
    return load_result(place, with_samples=with_samples)


def _misplaced(doc: GameDayResult, run: GameDayRunDoc, found: FinishedRun) -> str:
    """Why the run found is not the one the game day names, or ""."""
    if found.doc.run_id != run.run_id:
        return f"its folder holds run {found.doc.run_id}"
    inside = doc.started_at - CLOCK_SLACK <= found.doc.started_at
    if not inside or found.doc.ended_at > doc.ended_at + CLOCK_SLACK:
        return "it ran outside the game day's start and end"
    return ""


def _why(exc: InvalidInputError | OSError) -> str:
    if isinstance(exc, InvalidInputError):
        return "; ".join(str(p) for p in exc.problems)
    return exc.strerror or str(exc)
