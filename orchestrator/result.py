"""The result document (spec §4), built from raw samples and step records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator import __version__
from orchestrator.drill.model import Drill
from orchestrator.samples import Sample
from orchestrator.scoring import Check, LoseWindow, ProbeFigures, build_checks, probe_figures, score

OUTCOMES = ("passed", "failed", "aborted", "not-steady", "error")
EXIT_CODES = {"passed": 0, "failed": 1, "aborted": 3, "not-steady": 3, "error": 4}


@dataclass
class StepRecord:
    """What one step did, with monotonic start and end times."""

    index: int | None
    action: str
    zone: str
    mode: str | None
    started: float
    ended: float | None = None
    nodes: list[str] = field(default_factory=list)
    pods_deleted: int = 0
    pods_evicted: int = 0
    evictions_blocked: int = 0
    note: str = ""


@dataclass(frozen=True)
class Timeline:
    """The run's phase boundaries, in seconds from the clock origin (monotonic)."""

    wall_origin: datetime
    baseline_start: float
    baseline_end: float
    t0: float
    chaos_end: float
    figures_end: float
    ended: float

    def wall(self, mono: float) -> str:
        """RFC 3339 UTC with milliseconds for a monotonic offset."""
        moment = self.wall_origin.timestamp() + mono
        text = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")


def lose_windows(steps: list[StepRecord], chaos_end: float) -> list[LoseWindow]:
    """RTO windows: each lose step until the next lose step or the end of the chaos phase."""
    loses = [s for s in steps if s.action == "lose" and s.index is not None]
    windows = []
    for position, step in enumerate(loses):
        end = loses[position + 1].started if position + 1 < len(loses) else chaos_end
        restored = [
            s.started
            for s in steps
            if s.action == "restore" and s.zone == step.zone and s.started >= step.started
        ]
        windows.append(
            LoseWindow(
                step.index or 0, step.zone, step.started, end, min(restored) if restored else None
            )
        )
    return windows


def figures_for(
    drill: Drill,
    samples: list[Sample],
    steps: list[StepRecord],
    timeline: Timeline,
    *,
    steady: bool,
) -> tuple[list[ProbeFigures], list[Check]]:
    """Per-probe figures and checks; over the baseline when the run never got steady."""
    start, end = (
        (timeline.t0, timeline.figures_end)
        if steady
        else (timeline.baseline_start, timeline.baseline_end)
    )
    windows = lose_windows(steps, timeline.figures_end) if steady else []
    figures = [
        probe_figures(
            p.name,
            p.every,
            [s for s in samples if s.probe == p.name],
            t0=start,
            end=end,
            windows=windows,
        )
        for p in drill.spec.probes
    ]
    checks = build_checks(drill.spec.targets, {f.name: f for f in figures}) if steady else []
    return figures, checks


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _probe_json(figure: ProbeFigures, drill: Drill) -> dict[str, Any]:
    probe = drill.probe(figure.name)
    return {
        "name": figure.name,
        "samples": figure.samples,
        "passed": figure.passed,
        "availability": _r(figure.availability),
        "downtime": _r(figure.downtime),
        "latency": {"p50": _r(figure.p50, 6), "p95": _r(figure.p95, 6), "p99": _r(figure.p99, 6)},
        "rto": [
            {
                "step": r.step,
                "zone": r.zone,
                "seconds": _r(r.seconds),
                "recoveredBy": r.recovered_by,
            }
            for r in figure.recoveries
        ],
        "every": probe.every,
        "timeout": probe.timeout,
    }


def _check_json(check: Check) -> dict[str, Any]:
    return {
        "probe": check.probe,
        "metric": check.metric,
        "target": check.target,
        "observed": _r(check.observed, 6),
        "credit": round(check.credit, 4),
        "weight": check.weight,
        "passed": check.passed,
    }


def _step_json(step: StepRecord, timeline: Timeline) -> dict[str, Any]:
    return {
        "index": step.index,
        "action": step.action,
        "zone": step.zone,
        "mode": step.mode,
        "nodes": step.nodes,
        "podsDeleted": step.pods_deleted,
        "podsEvicted": step.pods_evicted,
        "evictionsBlocked": step.evictions_blocked,
        "startedAt": timeline.wall(step.started),
        "endedAt": timeline.wall(step.ended) if step.ended is not None else None,
        "offset": _r(step.started - timeline.t0),
        "note": step.note,
    }


@dataclass
class RunFacts:
    """Everything about a finished run that is not derived from samples."""

    run_id: str
    target: str
    outcome: str
    restored: bool
    reason: str = ""
    risks: list[str] = field(default_factory=list)


def result_document(
    drill: Drill,
    facts: RunFacts,
    *,
    timeline: Timeline,
    steps: list[StepRecord],
    figures: list[ProbeFigures],
    checks: list[Check],
) -> dict[str, Any]:
    """The result.json document."""
    return {
        "apiVersion": "zonedrill/v1",
        "kind": "DrillResult",
        "runId": facts.run_id,
        "drill": drill.metadata.name,
        "description": drill.metadata.description,
        "target": facts.target,
        "startedAt": timeline.wall(0.0),
        "endedAt": timeline.wall(timeline.ended),
        "outcome": facts.outcome,
        "reason": facts.reason,
        "score": score(checks) if checks else None,
        "checks": [_check_json(c) for c in checks],
        "probes": [_probe_json(f, drill) for f in figures],
        "steps": [_step_json(s, timeline) for s in steps],
        "restored": facts.restored,
        "risks": facts.risks,
        "timeline": {
            "baselineStart": _r(timeline.baseline_start, 6),
            "baselineEnd": _r(timeline.baseline_end, 6),
            "t0": _r(timeline.t0, 6),
            "chaosEnd": _r(timeline.chaos_end, 6),
            "figuresEnd": _r(timeline.figures_end, 6),
        },
        "samplesFile": "samples.jsonl",
        "zonedrillVersion": __version__,
    }


def write_result(out_dir: Path, document: dict[str, Any]) -> Path:
    """Write result.json into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "result.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
