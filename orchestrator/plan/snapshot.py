"""A live cluster written as a Lab (spec §8, ``zonedrill snapshot``), read and never changed.

The drill's zones pick the nodes; each Service a probe of the drill asks becomes a lab service
with what runs it (its pods' controller), how many replicas sit in each zone (``placement``),
its PodDisruptionBudget, whether a hard topology spread keeps it over zones, how long its pods
tolerate an unreachable node, and how long they took to start (PodScheduled to Ready by their
own condition times, which Kubernetes keeps to the second). ``plan --simulate --lab`` then
predicts the drill, and a real power cut, on that copy.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from orchestrator.drill import Drill, Lab
from orchestrator.drill.lab import POWER_ZONE_LABEL, TOPOLOGY_ZONE_LABEL
from orchestrator.drill.probe import ServiceRef
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.targets.port import (
    ClusterPort,
    DisruptionBudget,
    NodeInfo,
    PodInfo,
    Snapshots,
)

GRACE_BY_VERSION = ((32, 50.0), (0, 40.0))
"""The node monitor grace period by the first minor version that has it (Kubernetes 1.x)."""
FOREVER = 7 * 86400.0
"""A toleration without seconds, written as the longest duration a lab takes (a week)."""
WORKLOADS = ("Deployment", "StatefulSet", "ReplicaSet")
ZONE_KEYS = (TOPOLOGY_ZONE_LABEL, POWER_ZONE_LABEL)
MAX_PODS_PER_NODE = 1000


@dataclass(frozen=True)
class Seen:
    """What the cluster showed: nodes by zone, every pod, every PDB."""

    zones: dict[str, list[NodeInfo]]
    pods: list[PodInfo]
    budgets: list[DisruptionBudget]


async def snapshot(
    port: ClusterPort, reader: Snapshots, drill: Drill, *, name: str, node_grace: float | None
) -> Lab:
    """The cluster ``port`` reaches, as a Lab of the drill's zones and probed Services."""
    nodes = [n for n in await port.list_nodes() if not n.control_plane]
    seen = Seen(
        zones=_zones(drill, nodes),
        pods=await port.list_pods(nodes=[n.name for n in nodes]),
        budgets=await port.list_disruption_budgets(),
    )
    services = [await _service(reader, seen, ref) for ref in _probed(drill)]
    grace = node_grace if node_grace is not None else _grace(await reader.server_version())
    data = {
        "apiVersion": "zonedrill/v1",
        "kind": "Lab",
        "metadata": {"name": name, "description": f"A snapshot for drill {drill.metadata.name}."},
        "nodeGrace": f"{grace}s",
        "spec": {"zones": _lab_zones(seen), "services": services},
    }
    return Lab.model_validate(data)


def _probed(drill: Drill) -> list[ServiceRef]:
    found: list[ServiceRef] = []
    for probe in drill.spec.probes:
        asked = probe.service()  # the probe kind's own answer: any kind that asks a Service
        if asked is not None and asked[1] not in found:
            found.append(asked[1])
    return found


def _zones(drill: Drill, nodes: list[NodeInfo]) -> dict[str, list[NodeInfo]]:
    zones = {
        z: [n for n in nodes if n.matches(s.node_selector)] for z, s in drill.spec.zones.items()
    }
    empty = [z for z, found in zones.items() if not found]
    if empty:
        message = f"zone(s) {', '.join(empty)} match no node of the cluster"
        raise InvalidInputError([Problem("--zones-from", None, None, "spec.zones", message)])
    return zones


def _lab_zones(seen: Seen) -> dict[str, dict[str, int]]:
    return {
        zone: {"nodes": len(nodes), "podsPerNode": _pods_per_node(nodes, seen.pods)}
        for zone, nodes in seen.zones.items()
    }


def _pods_per_node(nodes: list[NodeInfo], pods: list[PodInfo]) -> int:
    """How many of the cluster's typical pods fit on its smallest node of the zone."""
    requested = [p.requests for p in pods if p.requests.cpu_milli or p.requests.memory_bytes]
    fits = []
    for node in nodes:
        room = [node.pod_capacity or MAX_PODS_PER_NODE]
        if node.allocatable is not None and requested:
            cpu = statistics.mean(r.cpu_milli for r in requested)
            memory = statistics.mean(r.memory_bytes for r in requested)
            room += [int(node.allocatable.cpu_milli // cpu)] if cpu else []
            room += [int(node.allocatable.memory_bytes // memory)] if memory else []
        fits.append(min(room))
    return max(1, min(*fits, MAX_PODS_PER_NODE))


async def _service(reader: Snapshots, seen: Seen, ref: ServiceRef) -> dict[str, Any]:
    selector = await reader.service_selector(ref=ref)
    zone_of = {n.name: zone for zone, nodes in seen.zones.items() for n in nodes}
    pods = [
        p
        for p in seen.pods
        if p.ref.namespace == ref.namespace
        and not p.terminating
        and selector.match_labels
        and selector.matches(p.labels)
        and p.node in zone_of
    ]
    if not pods:
        message = (
            f"no pod of the drill's zones is behind it (selector {dict(selector.match_labels)})"
        )
        raise InvalidInputError(
            [Problem(f"service {ref.namespace}/{ref.name}", None, None, "", message)]
        )
    placement = Counter(zone_of[p.node] for p in pods)
    service: dict[str, Any] = {
        "name": ref.name,
        "namespace": ref.namespace,
        "replicas": len(pods),
        "placement": {zone: placement.get(zone, 0) for zone in seen.zones},
        "spread": _spread(pods, placement),
        "workload": _workload(ref, pods),
        "unreachableToleration": f"{_toleration(pods)}s",
    }
    startups = [p.startup for p in pods if p.startup is not None]
    if startups:
        service["startup"] = f"{max(statistics.median(startups), 1.0)}s"
    budget = next((b for b in seen.budgets if _guards(b, pods)), None)
    if budget is not None:
        service["pdb"] = _pdb(budget, len(pods))
    return service


def _spread(pods: list[PodInfo], placement: Counter[str]) -> str:
    hard = any(c.hard and c.topology_key in ZONE_KEYS for p in pods for c in p.spread)
    return "zones" if hard or len(placement) > 1 else "pack"


def _workload(ref: ServiceRef, pods: list[PodInfo]) -> str:
    kind, _ = Counter(p.workload_kind for p in pods).most_common(1)[0]
    if kind not in WORKLOADS:
        stands = ", ".join(WORKLOADS)
        message = f"its pods are run by {kind or 'nothing'}; a lab service stands for {stands}"
        raise InvalidInputError(
            [Problem(f"service {ref.namespace}/{ref.name}", None, None, "", message)]
        )
    return str(kind)


def _toleration(pods: list[PodInfo]) -> float:
    """The shortest: the first pod to go decides when the service starts to lose replicas."""
    return min(
        (FOREVER if p.unreachable_toleration is None else p.unreachable_toleration) for p in pods
    )


def _guards(budget: DisruptionBudget, pods: list[PodInfo]) -> bool:
    return all(
        p.ref.namespace == budget.namespace and budget.selector.matches(p.labels) for p in pods
    )


def _pdb(budget: DisruptionBudget, replicas: int) -> dict[str, int]:
    """A count, as the disruption controller reads a percentage: rounded up."""
    field, value = (
        ("minAvailable", budget.min_available)
        if budget.min_available is not None
        else ("maxUnavailable", budget.max_unavailable)
    )
    if isinstance(value, str) and value.endswith("%"):
        return {field: math.ceil(replicas * float(value[:-1]) / 100)}
    return {field: int(value or 0)}


def _grace(version: tuple[int, int]) -> float:
    _, minor = version
    return next(grace for first, grace in GRACE_BY_VERSION if minor >= first)
