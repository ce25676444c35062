"""Reading a finished game day back from its folder: ``gameday.json`` and each drill's run.

``report``, ``verify`` and ``gate`` take a game-day folder (or its ``gameday.json``) wherever
they take a run: this is where they tell the two apart and read the game day's runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import InvalidInputError
from orchestrator.results.gameday_result import GameDayResult, parse_gameday
from orchestrator.results.report.document import (
    MAX_RESULT_BYTES,
    RESULT_FILE,
    FinishedRun,
    load_result,
)
from orchestrator.yamlfile import read_bounded

GAMEDAY_FILE = "gameday.json"


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
    """The gameday.json ``given`` names (the file, or the game day's folder); None for a run."""
    if given.is_dir():
        inside = given / GAMEDAY_FILE
        return inside if inside.is_file() and not (given / RESULT_FILE).exists() else None
    return given if given.name == GAMEDAY_FILE else None


def load_finished_gameday(path: Path, *, with_samples: bool = True) -> FinishedGameDay:
    """Read ``gameday.json`` and every run it names from the folders beside it."""
    doc = parse_gameday(read_bounded(path, limit=MAX_RESULT_BYTES), source=str(path))
    runs: dict[str, FinishedRun] = {}
    unreadable: dict[str, str] = {}
    for run in doc.runs:
        try:
            runs[run.run_id] = load_result(path.parent / run.result, with_samples=with_samples)
        except InvalidInputError as exc:
            unreadable[run.run_id] = "; ".join(str(p) for p in exc.problems)
    return FinishedGameDay(doc=doc, path=path, runs=runs, unreadable=unreadable)
