"""The gate's verdicts on game days: from the history (with their drill runs) or the cluster."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from securesystemslib.signer import SSlibKey

from orchestrator.cli.gate_evidence import (
    HistoryScope,
    Judging,
    Kept,
    checked,
    kept,
    unjudged,
)
from orchestrator.errors import InvalidInputError
from orchestrator.results.cluster_results import ClusterRecord
from orchestrator.results.gameday_files import FinishedGameDay
from orchestrator.results.gameday_result import GameDayResult, parse_gameday
from orchestrator.results.gate import (
    GatePolicy,
    Recorded,
    Verdict,
    judge_gameday,
    placed,
    refuse_implausible_at,
)
from orchestrator.results.history import History
from orchestrator.results.report.document import MAX_RESULT_BYTES
from orchestrator.results.signing import summary_unsigned, unsigned
from orchestrator.yamlfile import read_bounded


@dataclass(frozen=True)
class GameDayScope:
    """Which game days the gate judges: the ``last`` of ``name``, of one trigger if given."""

    name: str
    last: int
    trigger: str | None


@dataclass(frozen=True)
class Evidence:
    """Where the gate reads game days and their runs, and the key they must be signed with."""

    history: History
    key: SSlibKey | None


def gameday_verdicts(
    evidence: Evidence, scope: GameDayScope, policy: GatePolicy, now: datetime
) -> list[Verdict]:
    """The last game days of the history, each with its drill runs, and the starts after them."""
    # Judged by what the documents say, not by the table's columns, which nothing checks.
    days = sorted(
        (
            d
            for d in evidence.history.gamedays(name=scope.name)
            if d.gameday == scope.name and (scope.trigger is None or d.trigger == scope.trigger)
        ),
        key=lambda d: d.ended_at,
        reverse=True,
    )
    latest = list({d.game_day_id: d for d in reversed(days)}.values())[::-1][: scope.last]
    where = HistoryScope(scope.name, scope.last, scope.trigger, policy.place)
    judged = {d.game_day_id: d.started_at for d in latest}
    verdicts = unjudged(evidence.history, "gameday", scope.name, where, judged)
    for day in latest:
        refuse_implausible_at(day.game_day_id, day.ended_at, now=now)
        recorded = {r.run_id: _recorded(evidence, r.run_id) for r in day.runs}
        found = {run_id: doc for run_id, doc in recorded.items() if doc is not None}
        findings = _day_signed(evidence, day)
        verdicts.append(judge_gameday(day, policy, now=now, recorded=found, findings=findings))
    return verdicts


def _day_signed(evidence: Evidence, day: GameDayResult) -> list[str]:
    """With a trusted key: the game day's own gameday.json is signed, and is the record."""
    if evidence.key is None:
        return []
    path = evidence.history.gameday_path(day.game_day_id)
    if path is None:
        return ["the game day's gameday.json is not recorded"]
    found = unsigned(path, [], evidence.key)
    if found:
        return found
    try:
        signed = parse_gameday(read_bounded(path, limit=MAX_RESULT_BYTES), source=str(path))
    except InvalidInputError as exc:
        return [exc.problems[0].message]
    return [] if signed == day else [f"the history's copy differs from {path}"]


@dataclass(frozen=True)
class Expected:
    """What a pipeline asks of a game day read from a folder: its name and its trigger."""

    name: str | None = None
    trigger: str | None = None

    def misses(self, doc: GameDayResult) -> list[str]:
        """Each way ``doc`` is not the game day asked for."""
        found = []
        if self.name is not None and doc.gameday != self.name:
            found.append(f"is game day {doc.gameday}, not {self.name}")
        if self.trigger is not None and doc.trigger != self.trigger:
            found.append(f"was started by {doc.trigger}, not {self.trigger}")
        return found


def folder_verdict(day: FinishedGameDay, judging: Judging, expected: Expected) -> Verdict:
    """A game day read from its folder: its gameday.json, judged with the runs beside it.

    Each run must verify against its own samples and agree with what the game day says of it;
    with a trusted key, gameday.json and every run must be signed by it. ``expected``: the name
    and trigger the pipeline asks for.
    """
    doc = day.doc
    refuse_implausible_at(doc.game_day_id, doc.ended_at, now=judging.now)
    key = judging.key
    recorded = {
        run_id: Recorded(run.doc, checked(Kept(run), key)) for run_id, run in day.runs.items()
    }
    findings = [f"drill run {run_id}: {why}" for run_id, why in day.unreadable.items()]
    findings += [] if key is None else unsigned(day.path, [], key)
    verdict = judge_gameday(
        doc, judging.policy, now=judging.now, recorded=recorded, findings=findings
    )
    where = sorted({placed(run.doc.target, run.doc.cluster) for run in day.runs.values()})
    reasons = [*expected.misses(doc), *verdict.reasons]
    return replace(verdict, reasons=reasons, place="; ".join(where) or doc.target)


def summary_verdicts(record: ClusterRecord, scope: GameDayScope, judging: Judging) -> list[Verdict]:
    """The last game days the cluster keeps, and its newest start without a summary."""
    days = sorted(
        (
            s
            for s in record.summaries
            if s.gameday == scope.name and (scope.trigger is None or s.trigger == scope.trigger)
        ),
        key=lambda s: s.ended_at,
        reverse=True,
    )
    verdicts = _unsummarised(record, scope)
    for day in days[: scope.last]:
        refuse_implausible_at(day.game_day_id, day.ended_at, now=judging.now)
        key = judging.key
        findings = [] if key is None else summary_unsigned(day, key)
        verdicts.append(
            judge_gameday(day, judging.policy, now=judging.now, recorded=None, findings=findings)
        )
    return verdicts


def _unsummarised(record: ClusterRecord, scope: GameDayScope) -> list[Verdict]:
    """A failing verdict when the newest start the cluster keeps has no summary (a killed pod)."""
    starts = [s for s in record.starts if scope.trigger is None or s.trigger == scope.trigger]
    newest = max(starts, key=lambda s: s.started_at, default=None)
    if newest is None or newest.game_day_id in {s.game_day_id for s in record.summaries}:
        return []
    why = (
        f"started at {newest.started_at:%Y-%m-%d %H:%M:%S} UTC and has no summary in the "
        "cluster: still running, or its pod was killed, OOM-killed or evicted"
    )
    return [Verdict(newest.game_day_id, f"game day {scope.name}", [why])]


def _recorded(evidence: Evidence, run_id: str) -> Recorded | None:
    try:
        entry = evidence.history.get(run_id)
    except InvalidInputError:
        return None
    if entry.doc.run_id != run_id:
        return None
    return Recorded(entry.doc, checked(kept(entry), evidence.key))
