"""Where pods are expected to be when each lose step starts, after the earlier steps.

A zone lost early sends its pods' replacements to the zones still up; a later step that loses
one of those zones hits them too. ``plan`` forecasts each step from this expected state, not
from the cluster before the drill. The model is the scheduler's default spreading, simplified:
replacements go round-robin over the schedulable nodes up at that moment (those of the zones not
lost, and the workers outside every zone); with no such node they stay Pending. A restored zone
takes new pods again; pods never move back.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable

from orchestrator.drill.model import Drill
from orchestrator.faults import ResolvedZone, mode_of
from orchestrator.targets.port import PodInfo

OUTSIDE = ""
"""The key of the workers outside every zone: they take replacements and are never lost."""


def expected_pods(
    drill: Drill,
    zones: dict[str, ResolvedZone],
    pods_by_zone: dict[str, list[PodInfo]],
    outside: ResolvedZone,
) -> dict[int, dict[str, list[PodInfo]]]:
    """For each lose step (by index), the pods expected in every zone as it starts."""
    where = {name: list(pods) for name, pods in pods_by_zone.items()} | {OUTSIDE: []}
    lost: set[str] = set()
    expected: dict[int, dict[str, list[PodInfo]]] = {}
    for index, step in enumerate(drill.spec.steps):
        if not step.is_lose:
            lost.discard(step.zone)
            continue
        expected[index] = {name: list(pods) for name, pods in where.items()}
        lost.add(step.zone)
        if mode_of(step.fault_mode).displaces:
            moving = [p for p in where[step.zone] if p.comes_back and not p.terminating]
            where[step.zone] = [p for p in where[step.zone] if not p.comes_back or p.terminating]
            up = [outside, *(zones[z] for z in zones if z not in lost)]
            _land(moving, up, where)
    return expected


def _land(pods: list[PodInfo], up: Iterable[ResolvedZone], where: dict[str, list[PodInfo]]) -> None:
    """Place each replacement on the next schedulable node of a zone that is up."""
    slots = [(zone.name, node.name) for zone in up for node in zone.nodes if not node.unschedulable]
    for pod, (zone, node) in zip(pods, itertools.cycle(slots), strict=False) if slots else []:
        where[zone or OUTSIDE].append(dataclasses.replace(pod, node=node))
