"""``zonedrill verify``: recompute a result from its samples and its drill, field by field.

A result carries the drill as run (``drillSpec``), the phase boundaries and the step times; with
``samples.jsonl`` these give every figure, check, the score and the outcome again (spec §4). A
field that differs is named; so is a digest that does not match the samples.
"""

from __future__ import annotations

from typing import Any

from orchestrator.outcomes import GRADED, Outcome
from orchestrator.probes.samples import GRID_TOLERANCE, Sample, grid_start
from orchestrator.results.document import ResultDoc
from orchestrator.results.result import Derived, StepRecord, Timeline, derive


def differences(doc: ResultDoc, samples: list[Sample], found_digest: str) -> list[str]:
    """``field: stored X, recomputed Y`` for every field that does not follow from the samples."""
    found = []
    if found_digest != doc.samples_digest:
        found.append(f"samplesDigest: stored {doc.samples_digest}, samples hash to {found_digest}")
    found += _off_grid(doc, samples)
    again = recompute(doc, samples)
    stored = doc.model_dump(mode="json", by_alias=True)
    for key, value in _derived_json(again).items():
        found += _compare(key, stored[key], value)
    return found


def _off_grid(doc: ResultDoc, samples: list[Sample]) -> list[str]:
    """Samples of probes the drill lacks, or scheduled off the drill's grid.

    The grid (baseline start, each probe's phase and period) pins the timeline to the samples,
    so a timeline moved to hide an outage shows here.
    """
    probes = doc.drill_spec.spec.probes
    first = {
        p.name: (
            grid_start(doc.timeline.baseline_start, p.every, position=i, count=len(probes)),
            p.every,
        )
        for i, p in enumerate(probes)
    }
    strangers = sorted({s.probe for s in samples} - first.keys())
    found = [f"samples: probe {name} is not in the drill" for name in strangers]
    if doc.runner == "chaostoolkit":
        return found  # Chaos Toolkit asks when it gets round to it: there is no grid to check
    off = [
        s
        for s in samples
        if s.probe in first
        and abs(s.scheduled - (first[s.probe][0] + s.index * first[s.probe][1])) > GRID_TOLERANCE
    ]
    if off:
        s = off[0]
        found.append(
            f"samples: {len(off)} scheduled off the drill's grid, first {s.probe}[{s.index}] "
            f"at {s.scheduled!r}"
        )
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
    ended = GRADED if doc.outcome in (Outcome.PASSED, Outcome.FAILED) else doc.outcome
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
