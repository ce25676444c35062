"""The gate: whether drill results let a pipeline go ahead.

Pure judgement over result documents; the CLI gathers them (files or history) and turns the
verdicts into an exit code. Every failing result gets every reason it fails, in one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from orchestrator.durations import format_duration
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.results.document import ClusterDoc, ResultDoc
from orchestrator.results.gameday_result import (
    GameDayResult,
    GameDayRunDoc,
    GameDaySummary,
    SummaryRunDoc,
)
from orchestrator.results.numbers import score as format_score
from orchestrator.results.place import ANYWHERE, Place


@dataclass(frozen=True)
class GatePolicy:
    """What a result must show to pass."""

    outcomes: frozenset[str] = frozenset({"passed"})
    min_score: float | None = None
    max_age: float | None = None  # seconds since the run ended
    require_restored: bool = True
    place: Place = ANYWHERE
    """Where the run must have been: a target, a cluster (``--target``, ``--cluster``)."""


@dataclass(frozen=True)
class Verdict:
    """The gate's judgement of one result."""

    run_id: str
    drill: str
    reasons: list[str] = field(default_factory=list)
    summary: str = ""
    place: str = ""
    """Where the run was, as ``placed`` says: what the verdict rests on."""

    @property
    def passed(self) -> bool:
        """True when no reason was found to fail."""
        return not self.reasons

    def line(self) -> str:
        """``ok   RUN (DRILL): summary`` or ``FAIL RUN (DRILL): reason; reason``."""
        where = f" on {self.place}" if self.place else ""
        if self.passed:
            return f"ok   {self.run_id} ({self.drill}){where}: {self.summary}"
        return f"FAIL {self.run_id} ({self.drill}){where}: " + "; ".join(self.reasons)


@dataclass(frozen=True)
class _Claim:
    """What a record (a drill's result, a game day's) claims that the policy judges."""

    outcome: str
    reason: str
    score: float | None
    scored_as: str
    ended_at: datetime
    restored: bool


def _against(policy: GatePolicy, claim: _Claim, *, now: datetime) -> tuple[list[str], float]:
    """Every reason ``claim`` fails ``policy``, and its age in seconds: one policy for all."""
    reasons = []
    if claim.outcome not in policy.outcomes:
        wanted = " or ".join(sorted(policy.outcomes))
        why = f" ({claim.reason})" if claim.reason else ""
        reasons.append(f"outcome {claim.outcome}{why}, required {wanted}")
    if policy.min_score is not None and (claim.score is None or claim.score < policy.min_score):
        score = format_score(claim.score)
        reasons.append(f"{claim.scored_as} {score} below the minimum {policy.min_score:g}")
    age = (now - claim.ended_at).total_seconds()
    if policy.max_age is not None and age > policy.max_age:
        reasons.append(f"ended {_age(age)} ago, older than the maximum age {_age(policy.max_age)}")
    if policy.require_restored and not claim.restored:
        reasons.append("the cluster was not restored (run zonedrill rollback)")
    return reasons, age


def judge(doc: ResultDoc, policy: GatePolicy, *, now: datetime, findings: Sequence[str]) -> Verdict:
    """Every reason ``doc`` fails ``policy`` (none: it passes).

    ``findings`` are what ``verify`` found in it: a result that does not follow from its own
    samples rests on nothing, whatever it claims.
    """
    claim = _Claim(doc.outcome, doc.reason or "", doc.score, "score", doc.ended_at, doc.restored)
    reasons, age = _against(policy, claim, now=now)
    reasons += _elsewhere(doc, policy.place)
    if findings:
        reasons.append(unverified(findings))
    summary = f"{doc.outcome}, score {format_score(doc.score)}, ended {_age(age)} ago"
    return Verdict(doc.run_id, doc.drill, reasons, summary, placed(doc.target, doc.cluster))


def placed(target: str, cluster: ClusterDoc | None) -> str:
    """Where a run was: its cluster as shown, or its target when it recorded no cluster."""
    return cluster.shown() if cluster is not None else f"{target} (no cluster recorded)"


def _elsewhere(doc: ResultDoc, place: Place) -> list[str]:
    reasons = []
    if place.target is not None and doc.target != place.target:
        reasons.append(f"ran on target {doc.target}, the gate asks for {place.target}")
    if place.cluster is not None and (
        doc.cluster is None or not doc.cluster.matches(place.cluster)
    ):
        where = placed(doc.target, doc.cluster)
        reasons.append(f"ran on {where}, the gate asks for cluster {place.cluster}")
    return reasons


def refuse_mixed(places: Sequence[ClusterDoc | str], place: Place) -> None:
    """Results from more than one place are not judged together unless a place is asked for.

    A lab run must not stand in for the production cluster's, nor one cluster's for another's
    (exit 2, naming them, and how to choose).
    """
    shown = sorted({p.shown() if isinstance(p, ClusterDoc) else placed(p, None) for p in places})
    if len(shown) > 1 and not place.given:
        message = (
            f"these runs were on {len(shown)} clusters or targets: {'; '.join(shown)}. Choose "
            "one with --target NAME or --cluster (a kube-system UID or an API server URL)"
        )
        raise InvalidInputError([Problem("gate", None, None, "", message)])


def refuse_implausible(docs: Sequence[ResultDoc], *, now: datetime) -> None:
    """Refuse results that end more than FUTURE_SLACK in the future (spec §4: exit 2).

    Every other self-consistency rule is checked by the result model as it is read.
    """
    problems = [_future(doc.run_id, doc.ended_at) for doc in docs if _ahead(doc.ended_at, now)]
    if problems:
        raise InvalidInputError(problems)


def refuse_implausible_at(name: str, ended_at: datetime, *, now: datetime) -> None:
    """As ``refuse_implausible``, for one record (a game day) ending at ``ended_at``."""
    if _ahead(ended_at, now):
        raise InvalidInputError([_future(name, ended_at)])


def _ahead(ended_at: datetime, now: datetime) -> bool:
    return (ended_at - now).total_seconds() > FUTURE_SLACK


def _future(name: str, ended_at: datetime) -> Problem:
    message = f"{ended_at:%Y-%m-%d %H:%M:%S} UTC is in the future: forged or mis-clocked"
    return Problem(name, None, None, "endedAt", message)


def unverified(findings: Sequence[str]) -> str:
    """The gate's reason for a result ``verify`` does not accept: the first finding and a count."""
    more = f" and {len(findings) - 1} more" if len(findings) > 1 else ""
    return f"does not verify: {findings[0]}{more} (see zonedrill verify)"


DAY, HOUR = 86400.0, 3600.0
FUTURE_SLACK = 300.0
"""Seconds a result may seem to end in the future (clock skew between machines), spec §4."""


def _age(seconds: float) -> str:
    if seconds >= DAY:
        days, rest = divmod(seconds, DAY)
        return f"{int(days)}d{int(rest // HOUR)}h" if rest >= HOUR else f"{int(days)}d"
    return format_duration(max(0.0, round(seconds)))


def judge_gameday(
    doc: GameDayResult | GameDaySummary,
    policy: GatePolicy,
    *,
    now: datetime,
    recorded: dict[str, Recorded] | None,
    findings: Sequence[str] = (),
) -> Verdict:
    """Every reason the game day ``doc`` fails ``policy``.

    ``recorded`` holds the drill runs the history has, by run id: each run the game day names
    must be there, agree with it and verify, so a game-day record cannot claim runs that never
    were. None: the record comes from the cluster, where only the summary is kept (and checked).
    ``findings`` are what is wrong with the record's own file (its signature).
    """
    claim = _Claim(
        doc.outcome, doc.reason, doc.mean_score, "mean score", doc.ended_at, doc.restored
    )
    reasons, age = _against(policy, claim, now=now)
    if findings:
        reasons.append(unverified(findings))
    ids = [run.run_id for run in doc.runs]
    if len(set(ids)) != len(ids):
        reasons.append("a drill run is named twice")
    if policy.place.target is not None and doc.target != policy.place.target:
        reasons.append(f"ran on target {doc.target}, the gate asks for {policy.place.target}")
    if recorded is not None:
        reasons += [disagreement(run, recorded.get(run.run_id)) for run in doc.runs]
        reasons += [
            f"drill run {run_id} {why}"
            for run_id, found in recorded.items()
            for why in _elsewhere(found.doc, policy.place)
        ]
    summary = (
        f"{doc.outcome}, mean score {format_score(doc.mean_score)}, {len(doc.runs)} drills, "
        f"ended {_age(age)} ago"
    )
    found = [r for r in reasons if r]
    return Verdict(doc.game_day_id, f"game day {doc.gameday}", found, summary)


@dataclass(frozen=True)
class Recorded:
    """A drill run as the history holds it, and what ``verify`` finds in it."""

    doc: ResultDoc
    findings: list[str]


def disagreement(run: GameDayRunDoc | SummaryRunDoc, recorded: Recorded | None) -> str:
    """Why a game day's word on one of its runs is not the history's; empty when it is."""
    if recorded is None:
        return f"drill run {run.run_id} is not recorded (not in the history, or its folder is gone)"
    if recorded.findings:
        return f"drill run {run.run_id} " + unverified(recorded.findings)
    found = recorded.doc
    if found.drill != run.drill:
        return f"drill run {run.run_id} is a run of {found.drill}, not of {run.drill}"
    if (found.outcome, found.score) != (run.outcome, run.score) or (
        isinstance(run, GameDayRunDoc) and found.restored != run.restored
    ):
        return (
            f"drill run {run.run_id} is recorded {found.outcome} (score "
            f"{format_score(found.score)}), the game day says {run.outcome}"
        )
    return ""
