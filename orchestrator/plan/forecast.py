"""Forecasts for ``plan``: what a lost zone will do to the workloads, before anything is touched.

Each forecast reads one snapshot (nodes, pods, disruption budgets) and returns risks as
sentences an operator can act on. They are estimates of what the cluster will do, and they say
so where they can be optimistic (capacity is summed over nodes, not bin-packed).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.drill.model import FaultMode
from orchestrator.faults.registry import mode_of
from orchestrator.targets.port import (
    DisruptionBudget,
    NodeInfo,
    PodInfo,
    Resources,
    SpreadConstraint,
)


@dataclass(frozen=True)
class Snapshot:
    """The cluster as preflight saw it."""

    nodes: list[NodeInfo]
    pods: list[PodInfo]
    budgets: list[DisruptionBudget]


@dataclass(frozen=True)
class Loss:
    """One lose step, with every zone lost at that point."""

    label: str
    mode: FaultMode
    lost_zones: tuple[str, ...]
    lost_nodes: frozenset[str]
    lost_pods: list[PodInfo]

    @property
    def displaced(self) -> list[PodInfo]:
        """Pods a controller will recreate elsewhere."""
        return [p for p in self.lost_pods if p.comes_back and not p.terminating]


Forecast = Callable[[Loss, Snapshot], list[str]]


def foresee(loss: Loss, snapshot: Snapshot) -> list[str]:
    """Every risk the forecasts see for one lose step (a mode that displaces nothing: none)."""
    if not mode_of(loss.mode).displaces:
        return []
    forecasts: list[Forecast] = [outages, blocking_budgets, pod_slots, requested_room, spreads]
    return [risk for forecast in forecasts for risk in forecast(loss, snapshot)]


def outages(loss: Loss, snapshot: Snapshot) -> list[str]:
    """Workloads whose every ready replica sits in the lost zones."""
    ready_everywhere = Counter(p.workload for p in snapshot.pods if p.ready and p.workload)
    ready_lost = Counter(p.workload for p in loss.lost_pods if p.ready and p.workload)
    return [
        f"{loss.label}: predicted outage of {workload}: all {count} ready replicas are in "
        + ", ".join(loss.lost_zones)
        for workload, count in sorted(ready_lost.items())
        if workload is not None and count >= ready_everywhere[workload]
    ]


def blocking_budgets(loss: Loss, snapshot: Snapshot) -> list[str]:
    """PDBs that allow fewer disruptions now than the drain wants to make at once."""
    if not mode_of(loss.mode).evicts:
        return []
    evicted = [
        p
        for p in loss.lost_pods
        if p.owner_kind != "DaemonSet" and not p.mirror and not p.terminating
    ]
    risks = []
    for budget in sorted(snapshot.budgets, key=str):
        guarded = [
            p
            for p in evicted
            if p.ref.namespace == budget.namespace and budget.selector.matches(p.labels)
        ]
        waiting = len(guarded) - budget.disruptions_allowed
        if guarded and waiting > 0:
            risks.append(
                f"{loss.label}: PDB {budget} allows {budget.disruptions_allowed} disruption(s) "
                f"now and the drain evicts {len(guarded)} of its pods: {waiting} eviction(s) "
                "wait until replacements are ready elsewhere (retried on 429, paced by --qps)"
            )
    return risks


def _survivors(loss: Loss, snapshot: Snapshot) -> list[NodeInfo]:
    return [
        n
        for n in snapshot.nodes
        if n.name not in loss.lost_nodes and not n.unschedulable and not n.control_plane
    ]


def pod_slots(loss: Loss, snapshot: Snapshot) -> list[str]:
    """Displaced pods against the pod slots (``allocatable.pods``) left on surviving nodes."""
    survivors = _survivors(loss, snapshot)
    if not survivors or any(n.pod_capacity is None for n in survivors):
        return []
    used = Counter(p.node for p in snapshot.pods)
    room = sum((n.pod_capacity or 0) - used[n.name] for n in survivors)
    displaced = len(loss.displaced)
    if displaced <= room:
        return []
    return [
        f"{loss.label}: predicted Pending: {displaced} displaced pods, room for {room} "
        "in the surviving zones"
    ]


def requested_room(loss: Loss, snapshot: Snapshot) -> list[str]:
    """Displaced pods that fit no surviving node's unrequested CPU and memory.

    Places the largest requests first, each on the first node with room (first-fit
    decreasing): an estimate, as the scheduler places pods one at a time in arrival order.
    """
    survivors = _survivors(loss, snapshot)
    if not survivors or any(n.allocatable is None for n in survivors):
        return []
    free = {n.name: n.allocatable or Resources() for n in survivors}
    for pod in snapshot.pods:
        if pod.node in free:
            free[pod.node] -= pod.requests
    unplaced = Counter[str]()
    for pod in sorted(
        loss.displaced, key=lambda p: (p.requests.cpu_milli, p.requests.memory_bytes), reverse=True
    ):
        home = next((n for n, room in free.items() if _fits(pod.requests, room)), None)
        if home is None:
            unplaced[pod.workload or str(pod.ref)] += 1
        else:
            free[home] -= pod.requests
    if not unplaced:
        return []
    return [
        f"{loss.label}: predicted Pending: {count} of {workload}'s displaced pods fit no "
        f"surviving node's unrequested CPU and memory (each requests "
        f"{_request_of(loss, workload)})"
        for workload, count in sorted(unplaced.items())
    ]


def _fits(need: Resources, room: Resources) -> bool:
    return need.cpu_milli <= room.cpu_milli and need.memory_bytes <= room.memory_bytes


def _request_of(loss: Loss, workload: str) -> Resources:
    return next(p.requests for p in loss.displaced if (p.workload or str(p.ref)) == workload)


def spreads(loss: Loss, snapshot: Snapshot) -> list[str]:
    """Hard spread constraints that still count the lost zones as (empty) domains.

    With ``nodeTaintsPolicy: Ignore`` (the default) a cordoned or tainted node still belongs
    to its domain, so the global minimum drops to zero and each surviving domain may hold at
    most ``maxSkew`` matching pods: the replacements beyond that stay Pending.
    """
    risks = []
    by_workload: dict[str, list[PodInfo]] = defaultdict(list)
    for pod in loss.displaced:
        if pod.workload:
            by_workload[pod.workload].append(pod)
    for workload, displaced in sorted(by_workload.items()):
        for constraint in displaced[0].spread:
            if constraint.hard and not constraint.honors_taints:
                risk = _spread_risk(loss, snapshot, workload, len(displaced), constraint)
                risks += [risk] if risk else []
    return risks


def _spread_risk(
    loss: Loss, snapshot: Snapshot, workload: str, displaced: int, constraint: SpreadConstraint
) -> str | None:
    key = constraint.topology_key
    workers = [n for n in snapshot.nodes if key in n.labels and not n.control_plane]
    surviving = {n.labels[key] for n in workers if n.name not in loss.lost_nodes}
    lost_only = {n.labels[key] for n in workers} - surviving
    if not lost_only:
        return None
    domain_of = {n.name: n.labels[key] for n in workers}
    staying = Counter(
        domain_of.get(p.node)
        for p in snapshot.pods
        if p.workload == workload and p.node not in loss.lost_nodes and not p.terminating
    )
    placeable = sum(max(0, constraint.max_skew - staying[d]) for d in surviving)
    pending = displaced - placeable
    if pending <= 0:
        return None
    return (
        f"{loss.label}: predicted Pending: {pending} of {workload}'s {displaced} displaced pods; "
        f"its spread over {key} (maxSkew {constraint.max_skew}, DoNotSchedule) still counts "
        f"{', '.join(sorted(lost_only))} as an empty domain because nodeTaintsPolicy is not "
        "Honor; set nodeTaintsPolicy: Honor to let replacements fill the surviving zones"
    )
