"""The result document (spec §4), built from raw samples and step records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from orchestrator import __version__
from orchestrator.drill.model import Drill
from orchestrator.drill.picks import ZonePicks
from orchestrator.outcomes import GRADED, Outcome
from orchestrator.probes.samples import Sample, grid_start, in_range, order
from orchestrator.results.document import (
    CheckDoc,
    ClusterDoc,
    LatencyDoc,
    ProbeDoc,
    ResultDoc,
    RtoDoc,
    StepDoc,
    TimelineDoc,
    short_of_evidence,
)
from orchestrator.results.scoring import (
    Check,
    LoseWindow,
    ProbeFigures,
    build_checks,
    probe_figures,
    score,
)
from orchestrator.results.storage import write_durably


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

    def moment(self, mono: float) -> datetime:
        """The UTC wall-clock time of a monotonic offset, to the millisecond."""
        moment = datetime.fromtimestamp(self.wall_origin.timestamp() + mono, UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


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
    probes = drill.spec.probes
    figures = [
        probe_figures(
            p.name,
            p.every,
            [s for s in samples if s.probe == p.name],
            t0=start,
            end=end,
            windows=windows,
            first=grid_start(timeline.baseline_start, p.every, position=i, count=len(probes)),
            weighted=p.while_failing is not None,
        )
        for i, p in enumerate(probes)
    ]
    checks = build_checks(drill.spec.targets, {f.name: f for f in figures}) if steady else []
    return figures, checks


def decide(
    outcome: str, reason: str, figures: list[ProbeFigures], checks: list[Check], *, steady: bool
) -> tuple[Outcome, str]:
    """The final outcome and why: ``graded`` becomes passed or failed, unless evidence is short.

    Spec §3, no evidence, no pass: a probe that recorded fewer than half the chaos-phase samples
    that were due turns any scored outcome (an abort too) into ``error``. A run that never
    reached the chaos phase (``steady`` false) had no chaos samples due.
    """
    if outcome in (Outcome.ERROR, Outcome.NOT_STEADY):
        return Outcome(outcome), reason
    gap = evidence_gap(figures) if steady else ""
    if gap:
        return Outcome.ERROR, gap
    if outcome == GRADED:
        return (Outcome.PASSED if all(c.passed for c in checks) else Outcome.FAILED), reason
    return Outcome(outcome), reason


def unsteady_reason(samples: list[Sample], figures: list[ProbeFigures], timeline: Timeline) -> str:
    """Which probes failed the baseline, with how many samples and the first failure's cause."""
    failed: dict[str, list[Sample]] = {}
    for sample in sorted(samples, key=order):
        if not sample.passed and in_range(
            sample.scheduled, timeline.baseline_start, timeline.baseline_end
        ):
            failed.setdefault(sample.probe, []).append(sample)
    parts = [
        f"{figure.name} failed {len(bad)} of its {figure.samples} baseline sample(s) "
        f"({bad[0].cause})"
        for figure in figures
        if (bad := failed.get(figure.name))
    ]
    if not parts:
        return ""
    return "not steady before the fault: " + "; ".join(parts) + "; nothing was touched"


def evidence_gap(figures: list[ProbeFigures]) -> str:
    """Why the samples are too few to score the run, or ""."""
    short = [f for f in figures if short_of_evidence(f.samples, f.due)]
    return "; ".join(
        f"probe {f.name} recorded {f.samples} of the {f.due} samples due in the chaos phase: "
        "no evidence, no pass"
        for f in short
    )


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _probe_doc(figure: ProbeFigures, drill: Drill) -> ProbeDoc:
    probe = drill.probe(figure.name)
    return ProbeDoc(
        name=figure.name,
        samples=figure.samples,
        passed=figure.passed,
        due=figure.due,
        availability=_r(figure.availability),
        downtime=_r(figure.downtime),
        latency=LatencyDoc(p50=_r(figure.p50, 6), p95=_r(figure.p95, 6), p99=_r(figure.p99, 6)),
        rto=[
            RtoDoc(step=r.step, zone=r.zone, seconds=_r(r.seconds), recovered_by=r.recovered_by)
            for r in figure.recoveries
        ],
        every=probe.every,
        timeout=probe.timeout,
    )


def _check_doc(check: Check) -> CheckDoc:
    return CheckDoc(
        probe=check.probe,
        metric=check.metric,
        target=check.target,
        observed=_r(check.observed, 6),
        credit=round(check.credit, 4),
        weight=check.weight,
        passed=check.passed,
    )


def _step_doc(step: StepRecord, timeline: Timeline, picks: ZonePicks) -> StepDoc:
    picked_from = picks.candidates.get(step.index) if step.index is not None else None
    return StepDoc(
        index=step.index,
        action="lose" if step.action == "lose" else "restore",
        zone=step.zone,
        mode=step.mode,
        nodes=step.nodes,
        pods_deleted=step.pods_deleted,
        pods_evicted=step.pods_evicted,
        evictions_blocked=step.evictions_blocked,
        started_at=timeline.moment(step.started),
        ended_at=timeline.moment(step.ended) if step.ended is not None else None,
        offset=step.started - timeline.t0,
        note=step.note,
        picked_from=list(picked_from or ()),
    )


@dataclass
class RunFacts:
    """Everything about a finished run that is not derived from samples."""

    run_id: str
    target: str
    outcome: str
    restored: bool
    reason: str = ""
    risks: list[str] = field(default_factory=list)
    picks: ZonePicks = field(default_factory=ZonePicks)
    runner: Literal["zonedrill", "chaostoolkit"] = "zonedrill"
    limits: list[str] = field(default_factory=list)
    cluster: ClusterDoc | None = None


@dataclass(frozen=True)
class Derived:
    """Everything in a result that follows from the samples, the drill and the step times."""

    probes: list[ProbeDoc]
    checks: list[CheckDoc]
    score: float | None
    outcome: Outcome
    reason: str


def derive(
    drill: Drill,
    samples: list[Sample],
    steps: list[StepRecord],
    timeline: Timeline,
    *,
    outcome: str,
    reason: str,
) -> Derived:
    """Figures, checks, score and final outcome, from the samples.

    ``outcome`` is how the run ended: graded, aborted, error or not-steady. The run and
    ``zonedrill verify`` both come through here, so they cannot disagree on a formula.
    """
    steady = outcome != Outcome.NOT_STEADY and timeline.figures_end > timeline.t0
    figures, checks = figures_for(drill, samples, steps, timeline, steady=steady)
    if outcome == Outcome.NOT_STEADY:
        reason = unsteady_reason(samples, figures, timeline) or reason
    final, why = decide(outcome, reason, figures, checks, steady=steady)
    return Derived(
        probes=[_probe_doc(f, drill) for f in figures],
        checks=[_check_doc(c) for c in checks],
        score=score(checks) if checks and final.scored else None,
        outcome=final,
        reason=why,
    )


def result_document(
    drill: Drill,
    facts: RunFacts,
    derived: Derived,
    *,
    timeline: Timeline,
    steps: list[StepRecord],
    samples_digest: str,
) -> ResultDoc:
    """The result document of a finished run."""
    return ResultDoc(
        api_version="zonedrill/v1",
        kind="DrillResult",
        run_id=facts.run_id,
        drill=drill.metadata.name,
        description=drill.metadata.description,
        target=facts.target,
        cluster=facts.cluster,
        started_at=timeline.moment(0.0),
        ended_at=timeline.moment(timeline.ended),
        outcome=derived.outcome,
        reason=derived.reason,
        score=derived.score,
        checks=derived.checks,
        probes=derived.probes,
        steps=[_step_doc(s, timeline, facts.picks) for s in steps],
        seed=facts.picks.seed,
        runner=facts.runner,
        limits=facts.limits,
        restored=facts.restored,
        risks=facts.risks,
        timeline=TimelineDoc(
            baseline_start=timeline.baseline_start,
            baseline_end=timeline.baseline_end,
            t0=timeline.t0,
            chaos_end=timeline.chaos_end,
            figures_end=timeline.figures_end,
        ),
        samples_digest=samples_digest,
        drill_spec=drill,
        zonedrill_version=__version__,
    )


def write_result(out_dir: Path, document: ResultDoc) -> Path:
    """Write result.json into ``out_dir`` durably (a temporary file, fsynced, then renamed)."""
    data = document.model_dump_json(by_alias=True, indent=2).encode() + b"\n"
    return write_durably(out_dir / "result.json", data)
