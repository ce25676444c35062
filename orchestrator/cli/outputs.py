"""What ``-o json|yaml`` prints, as kubectl's ``-o`` does: one model per command's answer.

``validate``, ``plan``, ``gate``, ``history`` and ``history show`` print text for people by
default and one of these documents with ``-o json`` or ``-o yaml``. Each is a pydantic model
with camelCase keys, so a script reads exactly what the command wrote. Files are written only
with ``--output-file``; ``-o`` is never a file name.
"""

from __future__ import annotations

import io
import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from ruamel.yaml import YAML

from orchestrator.drill import Drill
from orchestrator.drill.model import Goal
from orchestrator.errors import Problem
from orchestrator.results.gameday_result import GameDaySummary
from orchestrator.results.gate import Verdict
from orchestrator.results.history import RunEntry
from orchestrator.run.preflight import Plan


class Form(StrEnum):
    """What a command prints."""

    TEXT = "text"
    JSON = "json"
    YAML = "yaml"


class Output(BaseModel):
    """Base of the printed documents: camelCase keys."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class DocumentOut(Output):
    """A document a command prints with -o json|yaml: named like the files zonedrill reads."""

    api_version: str = "zonedrill/v1"
    kind: str


class ProblemOut(Output):
    """One located problem in an input file."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str


class FileCheck(Output):
    """One file ``validate`` read: valid, or every problem found."""

    path: str
    valid: bool
    kind: str | None = None
    name: str | None = None
    problems: list[ProblemOut] = []


class ValidateOut(DocumentOut):
    """``validate -o``: every file, and whether all are valid."""

    kind: str = "ValidateResult"
    valid: bool
    files: list[FileCheck]


class PlanStepOut(Output):
    """One lose step of a plan: what it is expected to hit."""

    index: int
    zone: str
    mode: str
    nodes: int
    pods: int
    moved_in: int  # of pods: replacements expected there after earlier losses


class PlanZoneOut(Output):
    """One zone as resolved: its nodes, pods and workloads."""

    nodes: list[str]
    pods: int
    workloads: list[str]


class MomentOut(Output):
    """One moment of the drill, in seconds from T0 (negative: before it)."""

    at_seconds: float
    action: str
    what: str


class TargetOut(Output):
    """One target of a probe, as numbers with their units in the names (None: not set)."""

    rto_seconds: float | None
    availability_percent: float | None
    p99_latency_seconds: float | None
    weight: float


class ProbeScheduleOut(Output):
    """One probe: where it asks, how often, what it is held to."""

    name: str
    where: str
    every_seconds: float
    targets: list[TargetOut]


class PlanOut(DocumentOut):
    """``plan -o``: zones, lose steps, risks and notes, the timeline, probes, and any refusal."""

    kind: str = "DrillPlan"
    drill: str
    target: str
    seed: int | None
    """The seed random zones were picked with (None: the drill picks none)."""
    total_nodes: int
    zones: dict[str, PlanZoneOut]
    steps: list[PlanStepOut]
    risks: list[str]
    notes: list[str]
    timeline: list[MomentOut]
    probes: list[ProbeScheduleOut]
    run_seconds: float
    refused: list[str]
    power_cut_warnings: list[str] = []
    """Where a real power cut would keep a service down longer than the drill shows (a lab)."""


class VerifyOut(DocumentOut):
    """``verify -o``: whether a run (or a game day and its runs) follows from its evidence."""

    kind: str = "VerifyResult"
    path: str
    matches: bool
    differences: list[str]
    """Each field that does not follow from the samples (a game day: each run that does not)."""
    signature: list[str]
    """What is wrong with the signature, with --key (a game day: among the differences)."""
    signed: bool | None
    """Signed by the key given with --key; None without --key."""
    samples: int | None = None
    drill_runs: int | None = None


class GameDayPlanDrillOut(Output):
    """One drill of a game-day plan: the pause before it, and its plan."""

    pause_before_seconds: float
    plan: PlanOut


class GameDayPlanOut(DocumentOut):
    """``gameday plan -o``: every drill's plan, the game day's seed and its length."""

    kind: str = "GameDayPlan"
    gameday: str
    seed: int
    drills: list[GameDayPlanDrillOut]
    total_seconds: float
    """The drills' runs and the pauses, before each drill's restore."""


class VerdictOut(Output):
    """The gate's judgement of one result."""

    run_id: str
    drill: str
    passed: bool
    reasons: list[str]
    summary: str
    place: str
    """Where the run was: its cluster (identity and kube-system UID) or its target."""


class GateOut(DocumentOut):
    """``gate -o``: every verdict and the gate's own (with why, when no result was found)."""

    kind: str = "GateResult"
    passed: bool
    reason: str | None = None
    results: list[VerdictOut]


class RunOut(Output):
    """One recorded run, as ``history`` lists it."""

    run_id: str
    drill: str
    target: str
    trigger: str
    ended_at: str
    outcome: str
    score: float | None
    worst_rto: float | None
    recovered: bool
    result_path: str


class HistoryOut(DocumentOut):
    """``history -o``: runs, newest first."""

    kind: str = "RunHistory"
    runs: list[RunOut]


class GameDayHistoryOut(DocumentOut):
    """``history --gameday NAME -o``: game days, newest first, as the cluster keeps them."""

    kind: str = "GameDayHistory"
    gamedays: list[GameDaySummary]


def problems_out(problems: list[Problem]) -> list[ProblemOut]:
    """The printable form of located problems."""
    return [ProblemOut(**vars(p)) for p in problems]


def plan_out(plan: Plan, drill: Drill, seed: int | None) -> PlanOut:
    """The printable form of a plan of ``drill``, its random zones picked with ``seed``."""
    zones = {
        name: PlanZoneOut(
            nodes=zone.node_names,
            pods=len(plan.pods_by_zone.get(name, [])),
            workloads=sorted({p.workload for p in plan.pods_by_zone.get(name, []) if p.workload}),
        )
        for name, zone in plan.zones.items()
    }
    steps = [
        PlanStepOut(
            index=s.index, zone=s.zone, mode=s.mode, nodes=s.nodes, pods=s.pods, moved_in=s.moved_in
        )
        for s in plan.steps
    ]
    return PlanOut(
        drill=plan.drill,
        target=plan.target,
        seed=seed,
        total_nodes=plan.total_nodes,
        zones=zones,
        steps=steps,
        risks=plan.risks,
        notes=plan.notes,
        timeline=[MomentOut(at_seconds=m.at, action=m.action, what=m.what) for m in plan.moments],
        probes=[
            ProbeScheduleOut(
                name=p.name,
                where=p.where,
                every_seconds=p.every,
                targets=[_target_out(g) for g in drill.spec.targets if g.probe == p.name],
            )
            for p in plan.probes
        ],
        run_seconds=plan.run_seconds,
        refused=plan.refused,
    )


def _target_out(goal: Goal) -> TargetOut:
    return TargetOut(
        rto_seconds=goal.rto,
        availability_percent=goal.availability,
        p99_latency_seconds=goal.p99_latency,
        weight=goal.weight,
    )


def gate_out(verdicts: list[Verdict], reason: str | None = None) -> GateOut:
    """The printable form of the gate's verdicts (no result at all fails the gate)."""
    results = [
        VerdictOut(
            run_id=v.run_id,
            drill=v.drill,
            passed=v.passed,
            reasons=v.reasons,
            summary=v.summary,
            place=v.place,
        )
        for v in verdicts
    ]
    passed = bool(results) and all(r.passed for r in results)
    return GateOut(passed=passed, reason=reason, results=results)


def run_out(entry: RunEntry) -> RunOut:
    """The printable form of one recorded run."""
    doc = entry.doc
    return RunOut(
        run_id=doc.run_id,
        drill=doc.drill,
        target=doc.target,
        trigger=entry.trigger,
        ended_at=doc.model_dump(mode="json", by_alias=True)["endedAt"],
        outcome=doc.outcome,
        score=doc.score,
        worst_rto=entry.worst_rto,
        recovered=not entry.unrecovered,
        result_path=entry.result_path,
    )


def emit(document: BaseModel, form: Form) -> str:
    """``document`` as JSON or YAML text, ending with a newline."""
    return emit_data(document.model_dump(mode="json", by_alias=True), form)


def emit_data(data: object, form: Form) -> str:
    """Plain data (a schema, an experiment) as JSON or YAML text, ending with a newline."""
    if form is Form.JSON:
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    out = io.StringIO()
    yaml = YAML()  # round-trip dumper: keys stay in the model's order, as in the JSON
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue()
