"""Reading API objects into the port's plain values: selectors, requests, spreads, budgets."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity as _untyped_parse_quantity

from orchestrator.targets.port import (
    DisruptionBudget,
    LabelRequirement,
    LabelSelector,
    Resources,
    SpreadConstraint,
)


def parse_quantity(text: str) -> Decimal:
    """A Kubernetes quantity ("250m", "1Gi") as a number."""
    value: Decimal = _untyped_parse_quantity(text)  # type: ignore[no-untyped-call]
    return value


def resources(quantities: dict[str, str] | None) -> Resources:
    """CPU in millicores and memory in bytes from a ``requests`` or ``allocatable`` map."""
    found = quantities or {}
    cpu = parse_quantity(found.get("cpu", "0")) * 1000
    memory = parse_quantity(found.get("memory", "0"))
    return Resources(cpu_milli=int(cpu), memory_bytes=int(memory))


def pod_requests(spec: dict[str, Any]) -> Resources:
    """What the scheduler reserves: the containers' sum, or the largest init container's."""
    total = Resources()
    for container in spec.get("containers") or []:
        total += resources((container.get("resources") or {}).get("requests"))
    for init in spec.get("initContainers") or []:
        need = resources((init.get("resources") or {}).get("requests"))
        total = Resources(
            max(total.cpu_milli, need.cpu_milli), max(total.memory_bytes, need.memory_bytes)
        )
    return total


def spread_constraints(spec: dict[str, Any]) -> tuple[SpreadConstraint, ...]:
    """The pod's topology spread constraints, from its spec's JSON."""
    return tuple(
        SpreadConstraint(
            topology_key=c.get("topologyKey", ""),
            max_skew=int(c.get("maxSkew", 1)),
            hard=c.get("whenUnsatisfiable") == "DoNotSchedule",
            honors_taints=c.get("nodeTaintsPolicy") == "Honor",
        )
        for c in spec.get("topologySpreadConstraints") or []
    )


def label_selector(selector: Any) -> LabelSelector:
    """A ``metav1.LabelSelector`` as a value the core can evaluate."""
    if selector is None:
        return LabelSelector()
    return LabelSelector(
        match_labels=dict(selector.match_labels or {}),
        match_expressions=tuple(
            LabelRequirement(key=e.key, operator=e.operator, values=tuple(e.values or ()))
            for e in selector.match_expressions or []
        ),
    )


def disruption_budget(pdb: Any) -> DisruptionBudget:
    """A PodDisruptionBudget with its current ``disruptionsAllowed``."""
    status = pdb.status
    return DisruptionBudget(
        namespace=pdb.metadata.namespace,
        name=pdb.metadata.name,
        selector=label_selector(pdb.spec.selector),
        disruptions_allowed=int(status.disruptions_allowed or 0) if status else 0,
        min_available=pdb.spec.min_available,
        max_unavailable=pdb.spec.max_unavailable,
    )
