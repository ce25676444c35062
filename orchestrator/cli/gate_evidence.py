"""What the gate checks of every record before it judges it.

Its samples (as ``verify`` does), its signature with a trusted key, and whether a newer start
of the same drill or game day went without a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from securesystemslib.signer import SSlibKey

from orchestrator.errors import InvalidInputError
from orchestrator.results.gate import (
    GatePolicy,
    Verdict,
)
from orchestrator.results.history import History, RunEntry
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


def checked(run: FinishedRun, key: SSlibKey | None) -> list[str]:
    """What ``verify`` (and, with a trusted key, the signature) finds wrong with ``run``."""
    findings = against_samples(run)
    if key is None:
        return findings
    samples = run.path.parent / run.doc.samples_file
    return findings + (unsigned(run.path, [samples], key) or as_signed(run))


def as_signed(run: FinishedRun) -> list[str]:
    """The history's copy of a result must be the signed file's own document."""
    try:
        signed = load_result(run.path, with_samples=False).doc
    except InvalidInputError as exc:
        return [exc.problems[0].message]
    return [] if signed == run.doc else [f"the history's copy differs from {run.path}"]


def kept(entry: RunEntry) -> FinishedRun:
    """The history's copy of a result, read against the samples kept beside its result file."""
    return FinishedRun(doc=entry.doc, path=Path(entry.result_path), samples=[])


def unfinished(history: History, kind: str, name: str, scope: HistoryScope) -> list[Verdict]:
    """A failing verdict for the newest start of ``name`` when it has no verdict of its own.

    A run or game day killed mid-way records nothing else, so without this the gate would pass
    on the one before it.
    """
    start = history.newest_start(kind, name, trigger=scope.trigger, target=scope.place.target)
    if start is None or not (why := start.missing()):
        return []
    label = name if kind == "run" else f"game day {name}"
    return [Verdict(start.id, label, [why], place=start.target)]
