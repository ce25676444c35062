"""Rehearsal before the drill (spec §8): the drill as a real power cut, and every zone in turn.

``power-loss`` deletes the lost pods at once, so their replacements start at once. A real cut
does not: the nodes just stop answering, and the cluster takes its node grace period and each
pod's unreachable toleration before anything is replaced (never, for a StatefulSet, without the
out-of-service taint). ``as_power_cut`` turns a drill into that cut; ``warnings`` says which
workloads a real cut keeps down far longer than the drill shows, and which setting to change.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from orchestrator.drill import Drill
from orchestrator.drill.lab import POWER_ZONE_LABEL, STATEFUL_SET, LabService
from orchestrator.drill.model import FaultMode, Step, ZoneSelector
from orchestrator.drill.probe import ProbeBase
from orchestrator.results import numbers
from orchestrator.results.document import ResultDoc, RtoDoc
from orchestrator.run.simulate import Rehearsal

SETTLE_PERIODS = 2
"""Probe periods the phase runs past the last replacement's startup, to see it answer."""
CUT_HORIZON = 2 * 3600.0
"""Seconds after the last cut that a prediction follows at most: a service not back by then
is predicted down past it (a toleration of days would otherwise take minutes of CPU)."""


def as_power_cut(rehearsal: Rehearsal) -> Drill:
    """The drill's zones lost to a real power cut: power stays off, nothing stops it early.

    A cut lasts hours, so the drill's restore steps are not taken and its guardrails do not
    abort it; the phase lasts until the last probed pod could be back (at most CUT_HORIZON),
    or the drill's own length.
    """
    drill = rehearsal.drill
    first: dict[str, float] = {}  # a zone lost again after a restore: its power never came back
    for step in drill.spec.steps:
        if step.is_lose:
            first.setdefault(step.zone, step.at)
    steps = [
        Step.model_construct(at=at, lose=z, mode=FaultMode.POWER_CUT) for z, at in first.items()
    ]
    back = max(first.values()) + cut_recovery(rehearsal) + SETTLE_PERIODS * _every(rehearsal)
    spec = drill.spec.model_copy(
        update={"steps": steps, "duration": max(drill.spec.duration, back), "stop_if": []}
    )
    return drill.model_copy(update={"spec": spec})


def cut_recovery(rehearsal: Rehearsal) -> float:
    """Seconds from a cut until the last probed service's pods could be back, at most.

    Capped at the horizon; pods never replaced (a StatefulSet without the taint) do not count.
    """
    lab = rehearsal.lab
    # the last node of the largest zone is tainted for eviction this long after the grace
    tainted = lab.grace(rehearsal.node_grace) + max(
        (zone.nodes - 1) / lab.node_eviction_rate for zone in lab.spec.zones.values()
    )
    probed = {ref for ref in map(_service_of, rehearsal.drill.spec.probes) if ref is not None}
    times = [
        _replaced_after(s, tainted, rehearsal.out_of_service_after) + s.reschedule + s.startup
        for s in lab.spec.services
        if (s.namespace, s.name) in probed
    ]
    return min(max((t for t in times if math.isfinite(t)), default=tainted), CUT_HORIZON)


def _replaced_after(service: LabService, tainted: float, out_of_service: float | None) -> float:
    """Seconds from a cut to the replacement of ``service``'s lost pods (inf: never)."""
    evicted = (
        float("inf")
        if service.workload == STATEFUL_SET
        else tainted + service.unreachable_toleration
    )
    return min(evicted, out_of_service if out_of_service is not None else float("inf"))


def zone_drills(rehearsal: Rehearsal) -> dict[str, Drill]:
    """The drill once per zone of the lab: that zone lost alone.

    In the drill's first mode and at its times, each zone picked by its power-zone label.
    """
    drill = rehearsal.drill
    first = next(s for s in drill.spec.steps if s.is_lose)
    back = next((s for s in drill.spec.steps if not s.is_lose and s.zone == first.zone), None)
    zones = {z: ZoneSelector(node_selector={POWER_ZONE_LABEL: z}) for z in rehearsal.lab.spec.zones}
    variants = {}
    for zone in zones:
        steps = [Step.model_construct(at=first.at, lose=zone, mode=first.fault_mode)]
        if back is not None:
            steps.append(Step.model_construct(at=back.at, restore=zone))
        spec = drill.spec.model_copy(update={"steps": steps, "zones": zones})
        variants[zone] = drill.model_copy(update={"spec": spec})
    return variants


@dataclass(frozen=True)
class Outage:
    """One probe's predicted recovery, drilled and as a power cut, in seconds (None: never)."""

    probe: str
    drilled: float | None
    cut: float | None
    target: float | None


def outages(drilled: ResultDoc, cut: ResultDoc) -> list[Outage]:
    """Each probe's worst RTO in both predictions, with its RTO target."""
    targets = {t.probe: t.rto for t in drilled.drill_spec.spec.targets}
    found = {p.name: p for p in cut.probes}
    return [
        Outage(p.name, _worst(p.rto), _worst(found[p.name].rto), targets.get(p.name))
        for p in drilled.probes
        if p.name in found
    ]


def _service_of(probe: ProbeBase) -> tuple[str, str] | None:
    """The lab service a probe asks, if it asks one by name (whatever its kind)."""
    asked = probe.service()
    return None if asked is None else (asked[1].namespace, asked[1].name)


def _worst(rtos: list[RtoDoc]) -> float | None:
    """The longest recovery; None when the last loss was never recovered from.

    An earlier loss cut short by the next one counts by the time it was seen.
    """
    if not rtos or rtos[-1].seconds is None:
        return None if rtos else 0.0
    return max(r.seconds for r in rtos if r.seconds is not None)


def warnings(rehearsal: Rehearsal, drilled: ResultDoc, cut: ResultDoc) -> Iterator[str]:
    """What a real cut does that the drill does not, per workload, with the setting to change.

    A probe warns when its RTO as a cut exceeds the drilled one by more than its RTO target.
    """
    services = {p.name: _service_of(p) for p in rehearsal.drill.spec.probes}
    for outage in outages(drilled, cut):
        longer = _longer_by(outage)
        service = services.get(outage.probe)
        if longer is None or service is None or longer <= (outage.target or 0.0):
            continue
        found = next(s for s in rehearsal.lab.spec.services if (s.namespace, s.name) == service)
        yield _why(found, outage, rehearsal)


def _longer_by(outage: Outage) -> float | None:
    """How much longer the cut keeps the probe down; inf when it never comes back.

    None when the drill itself never sees it back: it warns on its own.
    """
    if outage.drilled is None:
        return None
    return float("inf") if outage.cut is None else outage.cut - outage.drilled


def _why(service: LabService, outage: Outage, rehearsal: Rehearsal) -> str:
    """The warning's words: the cause the lab's rules give, and the setting that changes it."""
    grace = rehearsal.lab.grace(rehearsal.node_grace)
    cut = _cut_words(outage, rehearsal)
    if service.workload == STATEFUL_SET:
        if rehearsal.out_of_service_after is None:
            return (
                f"{service.name} is a StatefulSet: after a real cut its pods stay Terminating "
                "until the node.kubernetes.io/out-of-service taint (--out-of-service-after shows "
                "when an operator applies it)"
            )
        return f"{service.name} is a StatefulSet: {cut}, back only after the out-of-service taint"
    if outage.cut is not None and outage.cut <= grace + SETTLE_PERIODS * _every(rehearsal):
        return (
            f"{service.name}: {cut}: requests to its pods in the lost zone get no answer until "
            f"the nodes are marked unreachable (node monitor grace {numbers.seconds(grace)}); "
            "retry on another endpoint, or shorten the grace period"
        )
    toleration = service.unreachable_toleration
    if toleration == 0:
        return (
            f"{service.name}: {cut}: the node monitor grace ({numbers.seconds(grace)}), then "
            "rescheduling and startup"
        )
    return (
        f"{service.name} tolerates unreachable for {numbers.seconds(toleration)}: {cut}; set "
        "tolerationSeconds of node.kubernetes.io/unreachable lower"
    )


def _cut_words(outage: Outage, rehearsal: Rehearsal) -> str:
    drilled = numbers.rto(outage.drilled or 0.0)
    if outage.cut is not None:
        down = numbers.rto(outage.cut)
        return f"after a real cut it is down about {down}, against {drilled} in the drill"
    return (
        f"after a real cut it is not back within the {numbers.seconds(cut_recovery(rehearsal))} "
        f"predicted, against {drilled} in the drill"
    )


def _every(rehearsal: Rehearsal) -> float:
    return max(p.every for p in rehearsal.drill.spec.probes)
