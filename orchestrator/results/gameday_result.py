"""The game-day result (``gameday.json``, spec §6): one model for writing and reading it.

Like a drill's result it checks itself as it is read, so a forged or damaged file is refused
wherever it is used (report, history, gate): the mean score follows from the runs, ``restored``
from theirs, and a ``passed`` game day skipped nothing and meets its own rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol, Self

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from orchestrator.errors import InvalidInputError, Problem
from orchestrator.outcomes import Exit, GameDayOutcome, Outcome
from orchestrator.results.document import SCORE_SLACK, ResultModel, Seconds, Stamp


class GameDayRunDoc(ResultModel):
    """One drill that ran."""

    index: int = Field(ge=0)
    file: str
    drill: str
    run_id: str = Field(min_length=1)
    outcome: Outcome
    score: float | None = Field(ge=0, le=100)
    worst_rto: Seconds | None = None
    restored: bool
    started_at: Stamp
    ended_at: Stamp
    paused_before: Seconds = Field(ge=0)
    result: str
    """The run's folder, relative to the game day's."""


class SkippedDoc(ResultModel):
    """A drill that did not run, and why."""

    index: int = Field(ge=0)
    file: str
    drill: str
    why: str


class GameDayResult(ResultModel):
    """A GameDayResult: every drill's outcome and the game day's."""

    api_version: Literal["zonedrill/v1"]
    kind: Literal["GameDayResult"]
    game_day_id: str = Field(min_length=1)
    gameday: str
    description: str = ""
    target: str
    trigger: str = "manual"
    """What started the game day (``--trigger``: manual, schedule, ci); ``gate --trigger``."""
    started_at: Stamp
    ended_at: Stamp
    outcome: GameDayOutcome
    reason: str = ""
    mean_score: float | None = Field(ge=0, le=100)
    min_score: float | None = Field(default=None, ge=0, le=100)
    """``passWhen.minScore``; null: every drill must pass."""
    seed: int | None = None
    runs: list[GameDayRunDoc]
    skipped: list[SkippedDoc] = Field(default_factory=list)
    restored: bool
    wall_seconds: Seconds = Field(ge=0)
    zonedrill_version: str = ""

    @property
    def exit_code(self) -> Exit:
        """The exit code of ``gameday run`` (as ``run``'s, for the game day as a whole)."""
        return Outcome(self.outcome).exit_code

    @property
    def skipped_drills(self) -> int:
        """How many drills did not run."""
        return len(self.skipped)

    def encoded(self) -> bytes:
        """``gameday.json`` as written."""
        return self.model_dump_json(by_alias=True, indent=2).encode()

    def digest(self) -> str:
        """SHA-256 of ``gameday.json`` as written: the cluster's summary names it."""
        return hashlib.sha256(self.encoded()).hexdigest()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check(self, (*CONSISTENCY, _restored_follows))
        return self


def mean_score(runs: list[GameDayRunDoc]) -> float | None:
    """The mean of the drills' scores; a drill without one counts 0 (no evidence, no credit)."""
    return mean_score_of([r.score for r in runs])


class _GameDayRecord(Protocol):
    """What gameday.json and the cluster's summary both say of a game day, checked alike."""

    @property
    def outcome(self) -> GameDayOutcome: ...
    @property
    def mean_score(self) -> float | None: ...
    @property
    def min_score(self) -> float | None: ...
    @property
    def restored(self) -> bool: ...
    @property
    def skipped_drills(self) -> int: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime: ...
    @property
    def runs(self) -> Sequence[GameDayRunDoc] | Sequence[SummaryRunDoc]: ...


def _check(doc: _GameDayRecord, checks: Sequence[Callable[[Any], str]]) -> None:
    found = [problem for problem in (check(doc) for check in checks) if problem]
    if found:
        raise ValueError("; ".join(found))


def _mean_follows(doc: _GameDayRecord) -> str:
    expected = mean_score_of([r.score for r in doc.runs])
    if expected is None or doc.mean_score is None:
        return "" if expected == doc.mean_score else "meanScore does not follow from the runs"
    if abs(expected - doc.mean_score) > SCORE_SLACK:
        return f"meanScore {doc.mean_score} does not follow from the runs ({expected:.1f})"
    return ""


def _restored_follows(doc: GameDayResult) -> str:
    every = all(r.restored for r in doc.runs)
    return "" if doc.restored == every else "restored does not agree with the runs"


def _passed_is_earned(doc: _GameDayRecord) -> str:
    if doc.outcome != "passed":
        return ""
    if doc.skipped_drills or not doc.runs or not doc.restored:
        return "passed with skipped drills, no runs or a cluster not restored"
    if any(r.outcome not in (Outcome.PASSED, Outcome.FAILED) for r in doc.runs):
        return "passed while a drill was not graded (aborted, not steady or error)"
    if doc.min_score is None and any(r.outcome != Outcome.PASSED for r in doc.runs):
        return "passed while a drill did not pass"
    if not _rule_met(doc.runs, doc.mean_score, doc.min_score):
        return f"passed with mean score {doc.mean_score} below {doc.min_score}"
    return ""


def _rule_met(
    runs: Sequence[GameDayRunDoc | SummaryRunDoc], mean: float | None, minimum: float | None
) -> bool:
    """passWhen as recorded: the mean against minScore, else every drill passed."""
    if minimum is None:
        return all(r.outcome == Outcome.PASSED for r in runs)
    return (mean or 0.0) >= minimum


def _times(doc: _GameDayRecord) -> str:
    return "endedAt is before startedAt" if doc.ended_at < doc.started_at else ""


CONSISTENCY = (_mean_follows, _passed_is_earned, _times)
"""The rules both records of a game day keep; gameday.json also checks ``restored``."""


def _refused(exc: ValidationError, source: str) -> InvalidInputError:
    """Every problem a validation found, located by field path in ``source`` (exit 2)."""
    return InvalidInputError(
        [
            Problem(source, None, None, ".".join(map(str, e["loc"])), e["msg"])
            for e in exc.errors(include_url=False)
        ]
    )


def parse_gameday(text: str | bytes, *, source: str) -> GameDayResult:
    """Read a ``gameday.json``; a damaged or forged one is refused with where and why (exit 2)."""
    try:
        return GameDayResult.model_validate_json(text)
    except ValidationError as exc:
        raise _refused(exc, source) from None


SUMMARIES_KEPT = 20
"""Game days per name the cluster keeps: enough for a trend, small enough for a ConfigMap."""


class SummaryRunDoc(ResultModel):
    """One drill of a game day, as the cluster keeps it."""

    drill: str
    run_id: str = Field(min_length=1)
    outcome: Outcome
    score: float | None = Field(ge=0, le=100)


class GameDaySummary(ResultModel):
    """What the cluster keeps of a game day: enough to gate on from anywhere (spec §6)."""

    game_day_id: str = Field(min_length=1)
    gameday: str
    target: str
    trigger: str
    outcome: GameDayOutcome
    reason: str = ""
    mean_score: float | None = Field(ge=0, le=100)
    min_score: float | None = Field(default=None, ge=0, le=100)
    worst_rto: Seconds | None = None
    restored: bool
    skipped: int = Field(ge=0)
    started_at: Stamp
    ended_at: Stamp
    runs: list[SummaryRunDoc]
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    """SHA-256 of the game day's gameday.json, to match it with the file where it is kept."""
    signature: dict[str, Any] | None = None
    """A DSSE envelope whose statement holds every other field (``--sign-key``); None: unsigned."""

    @property
    def skipped_drills(self) -> int:
        """How many drills did not run."""
        return self.skipped

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check(self, CONSISTENCY)
        return self


def mean_score_of(scores: list[float | None]) -> float | None:
    """The mean of scores where a missing one counts 0 (no evidence, no credit)."""
    return sum(s or 0.0 for s in scores) / len(scores) if scores else None


def summary_of(doc: GameDayResult) -> GameDaySummary:
    """The cluster's record of ``doc``."""
    rtos = [r.worst_rto for r in doc.runs if r.worst_rto is not None]
    return GameDaySummary(
        game_day_id=doc.game_day_id,
        gameday=doc.gameday,
        target=doc.target,
        trigger=doc.trigger,
        outcome=doc.outcome,
        reason=doc.reason,
        mean_score=doc.mean_score,
        min_score=doc.min_score,
        worst_rto=max(rtos) if rtos else None,
        restored=doc.restored,
        skipped=len(doc.skipped),
        started_at=doc.started_at,
        ended_at=doc.ended_at,
        runs=[
            SummaryRunDoc(drill=r.drill, run_id=r.run_id, outcome=r.outcome, score=r.score)
            for r in doc.runs
        ],
        digest=doc.digest(),
    )


_SUMMARIES = TypeAdapter(list[GameDaySummary])


def parse_summaries(text: str | None, *, source: str) -> list[GameDaySummary]:
    """The summaries kept under one key, newest first; a damaged list is refused (exit 2)."""
    if text is None:
        return []
    try:
        return _SUMMARIES.validate_json(text)
    except ValidationError as exc:
        raise _refused(exc, source) from None


def add_summary(text: str | None, summary: GameDaySummary, *, source: str) -> str:
    """``text`` with ``summary`` first and at most SUMMARIES_KEPT in all.

    A list that cannot be read is replaced rather than kept growing broken: the new record is
    the evidence that matters, and the damage was reported by whoever read it.
    """
    try:
        kept = parse_summaries(text, source=source)
    except InvalidInputError:
        kept = []
    fresh = [summary, *(s for s in kept if s.game_day_id != summary.game_day_id)]
    return _SUMMARIES.dump_json(fresh[:SUMMARIES_KEPT], by_alias=True).decode()
