"""Preflight (spec §2, phase 1): resolve zones, apply safety, and foresee the outage.

Nothing here changes the cluster. ``zonedrill plan`` is this module's output on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.drill.model import Drill, FaultMode
from orchestrator.drill.picks import ZonePicks
from orchestrator.errors import SafetyRefusalError
from orchestrator.faults import ResolvedZone
from orchestrator.plan.forecast import Loss, Snapshot, foresee
from orchestrator.plan.placement import OUTSIDE, expected_pods
from orchestrator.plan.timetable import (
    Moment,
    ProbeSchedule,
    probe_schedules,
    run_length,
    timetable,
)
from orchestrator.targets.port import ClusterPort, Mark, NodeInfo, PodInfo, marks_of


@dataclass(frozen=True)
class StepPlan:
    """What one lose step is expected to hit."""

    index: int
    zone: str
    mode: FaultMode
    nodes: int
    pods: int
    lost_zones: tuple[str, ...]
    moved_in: int = 0  # of ``pods``: replacements expected here after earlier losses
    lost_pods: tuple[PodInfo, ...] = ()  # in every zone lost at this step, as expected then


@dataclass
class Plan:
    """Everything preflight learned, for printing and for the result."""

    drill: str
    target: str
    zones: dict[str, ResolvedZone]
    total_nodes: int
    pods_by_zone: dict[str, list[PodInfo]]
    steps: list[StepPlan] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    moments: list[Moment] = field(default_factory=list)
    probes: list[ProbeSchedule] = field(default_factory=list)
    run_seconds: float = 0.0
    refused: list[str] = field(default_factory=list)  # why preflight refuses, if it does
    marks: list[Mark] = field(default_factory=list)
    """What the nodes say runs changed, as preflight listed them (the run checks they are its
    own once it holds the lock)."""


async def prepare(drill: Drill, port: ClusterPort, picks: ZonePicks) -> Plan:
    """Resolve and check everything; raise SafetyRefusalError listing every reason to refuse.

    ``drill`` has its random zones picked already; ``picks`` says how, for the timeline.
    """
    nodes = await port.list_nodes()
    zones, problems = resolve_zones(drill, nodes)
    own = port.own_node
    lost = {step.zone for step in drill.spec.steps if step.is_lose}
    for zone in (zones[name] for name in lost if name in zones):
        if own is not None and own in zone.node_names:
            problems.append(
                f'zone "{zone.name}" holds node {own}, where zonedrill itself runs; '
                "run it from a node outside the zones it loses"
            )
    workers = [n for n in nodes if not n.control_plane]
    # One snapshot of every pod serves the zones and the forecasts alike.
    all_pods = await port.list_pods(nodes=[n.name for n in nodes])
    plan = Plan(
        drill=drill.metadata.name,
        target=port.target,
        zones=zones,
        total_nodes=len(workers),
        pods_by_zone=_pods_by_zone(zones, all_pods, set(drill.spec.safety.exclude_namespaces)),
        moments=timetable(drill, picks),
        probes=probe_schedules(drill),
        run_seconds=run_length(drill),
        marks=marks_of(nodes),
    )
    if not problems:
        zoned = {n for zone in zones.values() for n in zone.node_names}
        outside = ResolvedZone(OUTSIDE, tuple(n for n in workers if n.name not in zoned))
        _plan_steps(drill, plan, outside)
        problems += _fraction_problems(drill, plan)
        budgets = await port.list_disruption_budgets()
        _foresee(plan, Snapshot(nodes=nodes, pods=all_pods, budgets=budgets))
    if problems:
        plan.refused = problems
        raise PlanRefusedError(
            "preflight refused the drill:\n" + "\n".join(f"  - {p}" for p in problems), plan
        )
    return plan


class PlanRefusedError(SafetyRefusalError):
    """Preflight refused; ``plan`` still says what the drill would have done, and why not."""

    def __init__(self, message: str, plan: Plan) -> None:
        super().__init__(message)
        self.plan = plan


def _pods_by_zone(
    zones: dict[str, ResolvedZone], pods: list[PodInfo], excluded: set[str]
) -> dict[str, list[PodInfo]]:
    zone_of = {node: zone.name for zone in zones.values() for node in zone.node_names}
    found: dict[str, list[PodInfo]] = {name: [] for name in zones}
    for pod in pods:
        if pod.node in zone_of and pod.ref.namespace not in excluded:
            found[zone_of[pod.node]].append(pod)
    return found


def resolve_zones(drill: Drill, nodes: list[NodeInfo]) -> tuple[dict[str, ResolvedZone], list[str]]:
    """Match each zone's selector; report empty zones, overlaps and control-plane nodes."""
    zones: dict[str, ResolvedZone] = {}
    problems = []
    owner: dict[str, str] = {}
    for name, selector in drill.spec.zones.items():
        picked = tuple(n for n in nodes if n.matches(selector.node_selector))
        labels = ",".join(f"{k}={v}" for k, v in selector.node_selector.items())
        if not picked:
            problems.append(f'zone "{name}" matches no node (nodeSelector {labels})')
        for node in picked:
            if node.control_plane:
                problems.append(
                    f'zone "{name}" holds control-plane node {node.name}; '
                    "zonedrill never touches the control plane: narrow the nodeSelector"
                )
            if node.name in owner:
                problems.append(
                    f'zones "{owner[node.name]}" and "{name}" overlap on node {node.name}'
                )
            owner[node.name] = name
        zones[name] = ResolvedZone(name=name, nodes=picked)
    return zones, problems


def _plan_steps(drill: Drill, plan: Plan, outside: ResolvedZone) -> None:
    lost: list[str] = []
    expected = expected_pods(drill, plan.zones, plan.pods_by_zone, outside)
    for index, step in enumerate(drill.spec.steps):
        if not step.is_lose:
            lost.remove(step.zone)
            continue
        lost.append(step.zone)
        zone = plan.zones[step.zone]
        here = expected[index]
        plan.steps.append(
            StepPlan(
                index,
                step.zone,
                step.fault_mode,
                len(zone.nodes),
                len(here[step.zone]),
                tuple(lost),
                moved_in=_moved_in(here[step.zone], plan.pods_by_zone[step.zone]),
                lost_pods=tuple(p for z in lost for p in here[z]),
            )
        )
        for node in zone.nodes:
            if node.unschedulable:
                plan.notes.append(f"node {node.name} is cordoned already; it will stay cordoned")


def _fraction_problems(drill: Drill, plan: Plan) -> list[str]:
    limit = drill.spec.safety.max_node_fraction
    problems = []
    for step in plan.steps:
        lost_nodes = sum(len(plan.zones[z].nodes) for z in step.lost_zones)
        share = lost_nodes / plan.total_nodes if plan.total_nodes else 1.0
        if share > limit + 1e-9:
            problems.append(
                f"step {step.index} would have {lost_nodes} of {plan.total_nodes} nodes lost "
                f"({share:.0%}), above spec.safety.maxNodeFraction {limit:g}; raise it only if "
                "this is what you mean to rehearse"
            )
    return problems


def _foresee(plan: Plan, snapshot: Snapshot) -> None:
    """Ask every forecast about every lose step."""
    for step in plan.steps:
        lost_nodes = frozenset(n for z in step.lost_zones for n in plan.zones[z].node_names)
        loss = Loss(
            label=f"step {step.index} ({step.mode} {step.zone})",
            mode=step.mode,
            lost_zones=step.lost_zones,
            lost_nodes=lost_nodes,
            lost_pods=list(step.lost_pods),
        )
        plan.risks += foresee(loss, snapshot)


def _moved_in(expected: list[PodInfo], before: list[PodInfo]) -> int:
    """Pods expected in a zone that were not there before (a replacement is a new PodInfo)."""
    there = {id(p) for p in before}
    return sum(id(p) not in there for p in expected)
