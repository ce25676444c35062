"""The whole drill as ``plan`` shows it: every step at its time, the probes, the run's length.

Computed from the drill alone (no cluster), so a plan refused by a safety check still shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.drill.model import Drill
from orchestrator.drill.picks import ZonePicks
from orchestrator.results import numbers


@dataclass(frozen=True)
class Moment:
    """One thing the drill does, at ``at`` seconds from T0 (negative: before it)."""

    at: float
    action: str  # baseline | lose | restore | restore-all | end
    what: str


@dataclass(frozen=True)
class ProbeSchedule:
    """One probe: where it asks, how often, and what it is held to."""

    name: str
    where: str
    every: float
    goals: tuple[str, ...]


def timetable(drill: Drill, picks: ZonePicks) -> list[Moment]:
    """The baseline, every step, the automatic restore at the end, and the end.

    A random zone is shown with its seed and every candidate.
    """
    spec = drill.spec
    moments = [Moment(-spec.baseline, "baseline", "baseline: every probe must pass")]
    lost: list[str] = []
    for index, step in enumerate(spec.steps):
        if not step.is_lose:
            lost.remove(step.zone)
            moments.append(Moment(step.at, "restore", f"step {index}: restore {step.zone}"))
        else:
            lost.append(step.zone)
            moments.append(
                Moment(
                    step.at,
                    "lose",
                    f"step {index}: lose {step.zone} ({step.fault_mode}){picks.note(index)}",
                )
            )
    if lost:
        zones = ", ".join(lost)
        moments.append(Moment(spec.duration, "restore-all", f"restore {zones} (automatic)"))
    moments.append(Moment(spec.duration, "end", "end of the chaos phase; report"))
    return moments


def probe_schedules(drill: Drill) -> list[ProbeSchedule]:
    """Each probe with its goals, in the drill's order."""
    return [
        ProbeSchedule(p.name, p.describe(), p.every, _goals(drill, p.name))
        for p in drill.spec.probes
    ]


def run_length(drill: Drill) -> float:
    """Baseline plus chaos phase: the run's length before its restore and report."""
    return drill.spec.baseline + drill.spec.duration


def _goals(drill: Drill, probe: str) -> tuple[str, ...]:
    found: list[str] = []
    for goal in (g for g in drill.spec.targets if g.probe == probe):
        if goal.rto is not None:
            found.append(f"RTO ≤ {numbers.seconds(goal.rto)}")
        if goal.availability is not None:
            found.append(f"availability ≥ {numbers.percent(goal.availability)}")
        if goal.p99_latency is not None:
            found.append(f"p99 ≤ {numbers.seconds(goal.p99_latency)}")
    return tuple(found)
