"""Running a game day (spec §6): the drills in order, pauses, early stops, one verdict.

Each drill runs through the same path as ``zonedrill run`` (``runner.run_and_report``), so it
is restored, reported and recorded as a lone run would be. A stop request (SIGINT, SIGTERM)
aborts the running drill through its normal restore, ends a pause at once, and skips the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from orchestrator import __version__
from orchestrator.drill import Drill, GameDay
from orchestrator.durations import format_duration
from orchestrator.outcomes import GameDayOutcome, Outcome
from orchestrator.results.document import ResultDoc
from orchestrator.results.gameday_result import (
    GameDayResult,
    GameDayRunDoc,
    SkippedDoc,
    mean_score,
)
from orchestrator.results.history import RunEntry
from orchestrator.run.console import styled
from orchestrator.run.engine import DrillRun, RunOutcome
from orchestrator.run.runner import Aftermath, DrillJob, run_and_report

JobFactory = Callable[[int, Path, Drill], DrillJob]
"""Makes the job of drill ``index`` (its file and model) of the game day."""


STOPPED_OUTCOME: dict[str, GameDayOutcome] = {
    "error": "error",
    "aborted": "aborted",
    "not-steady": "aborted",
}
"""The game day's outcome when a drill's outcome outside continueAfter stopped it (else failed)."""


@dataclass
class _Progress:
    runs: list[GameDayRunDoc] = field(default_factory=list)
    skipped: list[SkippedDoc] = field(default_factory=list)
    stopped_by: str = ""  # why the rest was skipped
    ended_outcome: str = ""  # the drill outcome that stopped the game day


class GameDayRun:
    """One execution of one game day."""

    def __init__(
        self,
        gameday: GameDay,
        drills: list[tuple[Path, Drill]],
        *,
        game_day_id: str,
        seed: int,
        make_job: JobFactory,
        console: Console,
        after: Aftermath,
        summary: Console | None = None,
    ) -> None:
        self.gameday, self.drills, self.game_day_id = gameday, drills, game_day_id
        self.seed, self.make_job, self.console, self.after = seed, make_job, console, after
        self.summary = summary
        """Where each drill's summary goes (standard output), or None when a document is."""
        self._stop = asyncio.Event()
        self._stop_reason = ""
        self._running: list[DrillRun] = []
        self._progress = _Progress()

    def request_stop(self, reason: str) -> None:
        """Abort the running drill (it restores), end a pause, skip the rest."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()
            self.console.print(styled((f"! {reason}: stopping the game day", "yellow")))
        for drill_run in self._running:
            drill_run.request_abort(reason)

    async def execute(self, target: str) -> GameDayResult:
        """Run every drill in order and return the game day's result."""
        loop = asyncio.get_running_loop()
        started, began = datetime.now(UTC), loop.time()
        for index, (path, drill) in enumerate(self.drills):
            if self._stop.is_set() or self._progress.stopped_by:
                self._skip(index, drill, self._stop_reason or self._progress.stopped_by)
                continue
            await self._pause(index)
            if self._stop.is_set():
                self._skip(index, drill, self._stop_reason)
                continue
            await self._run(index, path, drill)
        return self._result(target, started, loop.time() - began)

    async def _pause(self, index: int) -> None:
        pause = self.gameday.spec.drills[index].pause_before
        if pause <= 0:
            return
        self.console.print(f"pausing {format_duration(pause)} before drill {self._label(index)}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=pause)

    async def _run(self, index: int, path: Path, drill: Drill) -> None:
        label = self._label(index)
        self.console.print(styled((f"▶▶ drill {label}", "bold magenta")))
        job = self.make_job(index, path, drill)
        self._running = []
        outcome = await run_and_report(job, self.console, self.after, self._started, self.summary)
        self._running = []
        if isinstance(outcome, int):
            self._progress.skipped.append(
                SkippedDoc(
                    index=index,
                    file=self._file(index),
                    drill=drill.metadata.name,
                    why=f"could not start (exit {outcome}); see the output above",
                )
            )
            self._progress.stopped_by = f"drill {label} could not start"
            self._progress.ended_outcome = Outcome.ERROR
            return
        self._record(index, outcome)

    def _started(self, drill_run: DrillRun) -> None:
        # A stop that came while the drill's port opened must reach the drill all the same.
        self._running.append(drill_run)
        if self._stop.is_set():
            drill_run.request_abort(self._stop_reason)

    def _record(self, index: int, outcome: RunOutcome) -> None:
        doc = outcome.document
        paused = self.gameday.spec.drills[index].pause_before
        self._progress.runs.append(_run_doc(index, self._file(index), doc, outcome.out_dir, paused))
        last = index == len(self.drills) - 1
        if doc.outcome not in self.gameday.spec.continue_after and not last:
            allowed = ", ".join(self.gameday.spec.continue_after)
            self._progress.stopped_by = (
                f"drill {self._label(index)} ended {doc.outcome}, not in continueAfter ({allowed})"
            )
            self._progress.ended_outcome = doc.outcome

    def _skip(self, index: int, drill: Drill, why: str) -> None:
        self._progress.skipped.append(
            SkippedDoc(index=index, file=self._file(index), drill=drill.metadata.name, why=why)
        )

    def _label(self, index: int) -> str:
        return f"{index + 1} of {len(self.drills)}: {self.drills[index][1].metadata.name}"

    def _file(self, index: int) -> str:
        return self.gameday.spec.drills[index].file

    def _result(self, target: str, started: datetime, wall: float) -> GameDayResult:
        runs, skipped = self._progress.runs, self._progress.skipped
        pass_when = self.gameday.spec.pass_when
        outcome, reason = self._verdict(pass_when.min_score if pass_when else None)
        return GameDayResult(
            api_version="zonedrill/v1",
            kind="GameDayResult",
            game_day_id=self.game_day_id,
            gameday=self.gameday.metadata.name,
            description=self.gameday.metadata.description,
            target=target,
            trigger=self.after.trigger,
            started_at=started,
            ended_at=max(started, datetime.now(UTC)),
            outcome=outcome,
            reason=reason,
            mean_score=mean_score(runs),
            min_score=pass_when.min_score if pass_when else None,
            seed=self.seed,
            runs=runs,
            skipped=skipped,
            restored=all(r.restored for r in runs),
            wall_seconds=wall,
            zonedrill_version=__version__,
        )

    def _verdict(self, min_score: float | None) -> tuple[GameDayOutcome, str]:
        progress = self._progress
        skipped = f"{len(progress.skipped)} drill(s) skipped"
        if not all(r.restored for r in progress.runs):
            return "error", "a drill left the cluster not restored (run zonedrill rollback)"
        if self._stop.is_set():
            return "aborted", f"{self._stop_reason}; {skipped}"
        if progress.stopped_by:
            by_outcome = STOPPED_OUTCOME.get(progress.ended_outcome, "failed")
            return by_outcome, f"{progress.stopped_by}; {skipped}"
        return _score_verdict(progress.runs, min_score)


def _score_verdict(
    runs: list[GameDayRunDoc], min_score: float | None
) -> tuple[GameDayOutcome, str]:
    """passWhen: the mean score against minScore, else every drill passed.

    A drill that was not graded (aborted, not steady, error) never leaves the game day passed,
    wherever it stands and whatever continueAfter let through: its outcome is the game day's.
    """
    ungraded = [r for r in runs if r.outcome not in (Outcome.PASSED, Outcome.FAILED)]
    if ungraded:
        first = ungraded[0]
        why = f"drill {first.drill} ended {first.outcome}: only graded drills can pass a game day"
        return STOPPED_OUTCOME.get(first.outcome, "error"), why
    if min_score is not None:
        mean = mean_score(runs) or 0.0
        if mean >= min_score:
            return "passed", ""
        return "failed", f"mean score {mean:.1f} below passWhen.minScore {min_score:g}"
    missed = [f"{r.drill} ({r.outcome})" for r in runs if r.outcome != Outcome.PASSED]
    if missed:
        return "failed", "not every drill passed: " + ", ".join(missed)
    return "passed", ""


def _run_doc(index: int, file: str, doc: ResultDoc, out_dir: Path, paused: float) -> GameDayRunDoc:
    return GameDayRunDoc(
        index=index,
        file=file,
        drill=doc.drill,
        run_id=doc.run_id,
        outcome=doc.outcome,
        score=doc.score,
        worst_rto=RunEntry(doc=doc, trigger="", result_path="").worst_rto,
        restored=doc.restored,
        started_at=doc.started_at,
        ended_at=doc.ended_at,
        paused_before=paused,
        result=out_dir.name,
    )
