"""What the gate checks of every record before it judges it.

Its samples (as ``verify`` does), its signature with a trusted key, and whether a newer start
of the same drill or game day went without a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from securesystemslib.signer import SSlibKey

from orchestrator.errors import InvalidInputError
from orchestrator.results.gate import (
    GatePolicy,
    Verdict,
)
from orchestrator.results.history import History, RunEntry, Start
from orchestrator.results.place import Place
from orchestrator.results.report.document import FinishedRun, load_result
from orchestrator.results.signing import unsigned
from orchestrator.results.verify import against_samples


@dataclass(frozen=True)
class Judging:
    """How the gate judges: its policy, the key results must be signed with, and now."""

    policy: GatePolicy
    key: SSlibKey | None
    now: datetime


@dataclass(frozen=True)
class HistoryScope:
    """Which drill runs the gate reads from the history."""

    drill: str | None
    last: int
    trigger: str | None
    place: Place


def checked(kept: Kept, key: SSlibKey | None) -> list[str]:
    """What ``verify`` (and, with a trusted key, the signature) finds wrong with a result.

    From the history, the trigger it records must be the one signed with the result.
    """
    run = kept.run
    findings = against_samples(run)
    if key is None:
        return findings
    samples = run.path.parent / run.doc.samples_file
    claims = {} if kept.trigger is None else {"trigger": kept.trigger}
    return findings + (unsigned(run.path, [samples], key, claims=claims) or as_signed(run))


def as_signed(run: FinishedRun) -> list[str]:
    """The history's copy of a result must be the signed file's own document."""
    try:
        signed = load_result(run.path, with_samples=False).doc
    except InvalidInputError as exc:
        return [exc.problems[0].message]
    return [] if signed == run.doc else [f"the history's copy differs from {run.path}"]


@dataclass(frozen=True)
class Kept:
    """A result the gate judges, and the trigger the history records for it (None: a file)."""

    run: FinishedRun
    trigger: str | None = None


def kept(entry: RunEntry) -> Kept:
    """The history's copy of a result, read against the samples kept beside its result file."""
    return Kept(FinishedRun(doc=entry.doc, path=Path(entry.result_path), samples=[]), entry.trigger)


def unjudged(
    history: History, kind: str, name: str, scope: HistoryScope, judged: Mapping[str, datetime]
) -> list[Verdict]:
    """A failing verdict for each start of ``name`` after the newest one judged, not judged.

    ``judged`` maps the ids the gate judges to their start times. A run or game day killed
    mid-way records nothing but its start; one whose record was deleted, replaced or dated back
    in the history still has its start. Either way the gate must not pass on the one before.
    """
    newest = max(judged.values(), default=None)
    label = name if kind == "run" else f"game day {name}"
    starts = history.starts(kind, name, trigger=scope.trigger, target=scope.place.target)
    return [
        Verdict(
            start.id, label, [start.missing() or NOT_SHOWN], place=start.identity or start.target
        )
        for start in starts
        if start.id not in judged
        and (newest is None or start.started_at > newest)
        and _there(start, scope.place)
    ]


UID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")
"""A kube-system UID, which a start cannot be matched against (it is read under the lock)."""
NOT_SHOWN = (
    "finished after the runs judged, but the history does not show it where it belongs: its "
    "record was removed, replaced or dated back"
)


def _there(start: Start, place: Place) -> bool:
    """Whether ``start`` may have been in ``place``: a cluster named by UID cannot be told."""
    if place.cluster is None or not start.identity:
        return True
    known = (start.identity, start.identity.partition("/")[2])
    return place.cluster in known or UID.fullmatch(place.cluster) is not None
