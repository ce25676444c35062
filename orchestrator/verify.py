"""``zonedrill verify``: recompute a result from its samples and its drill, field by field.

A result carries the drill as run (``drillSpec``), the phase boundaries and the step times; with
``samples.jsonl`` these give every figure, check, the score and the outcome again (spec §4). A
field that differs is named; so is a digest that does not match the samples.
"""

from __future__ import annotations

from typing import Any

from orchestrator.document import Outcome, ResultDoc
from orchestrator.result import Derived, StepRecord, Timeline, derive
from orchestrator.samples import Sample


def differences(doc: ResultDoc, samples: list[Sample], found_digest: str) -> list[str]:
    """``field: stored X, recomputed Y`` for every field that does not follow from the samples."""
    found = []
    if found_digest != doc.samples_digest:
        found.append(f"samplesDigest: stored {doc.samples_digest}, samples hash to {found_digest}")
    again = recompute(doc, samples)
    stored = doc.model_dump(mode="json", by_alias=True)
    for key, value in _derived_json(again).items():
        found += _compare(key, stored[key], value)
    return found


def recompute(doc: ResultDoc, samples: list[Sample]) -> Derived:
    """What the result's derived fields must be, given its samples."""
    t = doc.timeline
    timeline = Timeline(
        doc.started_at, t.baseline_start, t.baseline_end, t.t0, t.chaos_end, t.figures_end, 0.0
    )
    steps = [
        StepRecord(s.index, s.action, s.zone, s.mode, t.t0 + (s.offset or 0.0), nodes=s.nodes)
        for s in doc.steps
    ]
    ended = "graded" if doc.outcome in (Outcome.PASSED, Outcome.FAILED) else doc.outcome
    return derive(doc.drill_spec, samples, steps, timeline, outcome=ended, reason=doc.reason or "")


def _derived_json(derived: Derived) -> dict[str, Any]:
    return {
        "probes": [p.model_dump(mode="json", by_alias=True) for p in derived.probes],
        "checks": [c.model_dump(mode="json", by_alias=True) for c in derived.checks],
        "score": derived.score,
        "outcome": str(derived.outcome),
    }


def _compare(path: str, stored: Any, again: Any) -> list[str]:
    if isinstance(stored, dict) and isinstance(again, dict):
        keys = list(dict.fromkeys([*again, *stored]))
        return [d for k in keys for d in _compare(f"{path}.{k}", stored.get(k), again.get(k))]
    if isinstance(stored, list) and isinstance(again, list) and len(stored) == len(again):
        return [
            d
            for i, pair in enumerate(zip(stored, again, strict=True))
            for d in _compare(f"{path}[{i}]", *pair)
        ]
    if stored != again:
        return [f"{path}: stored {stored!r}, recomputed {again!r}"]
    return []
