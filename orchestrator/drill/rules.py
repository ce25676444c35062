"""Cross-field rules of spec §1 that a schema cannot express.

Each rule yields ``(field path, message)`` pairs so that every broken rule is reported at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from orchestrator.drill.lab import POWER_ZONE_LABEL, Lab, LabService, lab_node_labels
from orchestrator.drill.model import AnyOf, Drill, SameAs, Step
from orchestrator.drill.probe import MIN_EVERY, MIN_WHILE_FAILING, Finding
from orchestrator.durations import format_duration
from orchestrator.yamlfile import FieldPath

MIN_SAMPLES_IN_CHAOS = 10
MAX_LAB_NODES = 10_000


def drill_findings(drill: Drill, *, file: Path | None) -> Iterator[Finding]:
    """Every rule of spec §1.1 that ``drill`` breaks, but references (see reference_findings)."""
    yield from _unique_names(drill)
    yield from _empty_targets(drill)
    yield from _step_order(drill)
    yield from _probe_timing(drill)
    yield from _required_parts(drill)
    if drill.spec.lab is not None and file is not None:
        yield from _lab_file(file.parent, drill.spec.lab)


def _lab_file(folder: Path, lab: str) -> Iterator[Finding]:
    try:
        lab_path = (folder / lab).resolve()
        found = lab_path.is_file()
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        yield ("spec", "lab"), f"not a usable path: {exc}"
        return
    if not found:
        yield ("spec", "lab"), f"no lab file at {lab_path} (the path is relative to the drill)"


def lab_fit_findings(drill: Drill, lab: Lab) -> Iterator[Finding]:
    """What the drill names that its lab does not have: a zone no lab node matches, a service."""
    for zone, selector in drill.spec.zones.items():
        wanted = selector.node_selector.items()
        if not any(wanted <= lab_node_labels(name).items() for name in lab.spec.zones):
            yield (
                ("spec", "zones", zone, "nodeSelector"),
                f"matches no node of lab {lab.metadata.name}; its nodes carry "
                f"{POWER_ZONE_LABEL}=<zone> with zones: {', '.join(lab.spec.zones)}",
            )
    for index, probe in enumerate(drill.spec.probes):
        asked = probe.service()
        if asked is None:
            continue
        where, ref = asked
        if not lab.has_service(ref.namespace, ref.name):
            known = ", ".join(f"{s.namespace}/{s.name}" for s in lab.spec.services) or "none"
            yield (
                ("spec", "probes", index, *where),
                f"lab {lab.metadata.name} has no service {ref.namespace}/{ref.name}; "
                f"it has: {known}",
            )


def _duplicates(names: list[str]) -> set[str]:
    return {name for name, count in Counter(names).items() if count > 1}


def _unique_names(drill: Drill) -> Iterator[Finding]:
    probes = drill.spec.probes
    for name in _duplicates([p.name for p in probes]):
        for index in [i for i, p in enumerate(probes) if p.name == name][1:]:
            yield ("spec", "probes", index, "name"), f'probe name "{name}" is used twice'
    steps = drill.spec.steps
    for name in _duplicates([s.name for s in steps if s.name]):
        for index in [i for i, s in enumerate(steps) if s.name == name][1:]:
            yield ("spec", "steps", index, "name"), f'step name "{name}" is used twice'


def _known(kind: str, name: str, known: list[str]) -> str:
    listed = ", ".join(known) or "none"
    return f'no {kind} named "{name}"; expected one of: {listed}'


def reference_findings(data: Any) -> Iterator[Finding]:
    """Names that point nowhere, read from the file's plain data.

    These run on the data, not the model, so that a type error elsewhere in the file (which
    leaves no model to check) does not hide them.
    """
    spec = data.get("spec") if isinstance(data, dict) else None
    if not isinstance(spec, dict):
        return
    zones = list(spec["zones"]) if isinstance(spec.get("zones"), dict) else None
    probes = [p.get("name") for _, p in _entries(spec, "probes")]
    for index, step in _entries(spec, "steps"):
        has_lose, has_restore = "lose" in step, "restore" in step
        if has_lose == has_restore:
            yield ("spec", "steps", index), 'a step needs exactly one of "lose" and "restore"'
            continue
        field = "lose" if has_lose else "restore"
        if step[field] is None:  # "restore:" with nothing after it names no zone
            yield ("spec", "steps", index, field), f'"{field}" needs a zone'
            continue
        yield from _zone_references(("spec", "steps", index, field), step[field], zones)
        if has_restore and "mode" in step:
            yield ("spec", "steps", index, "mode"), '"mode" belongs on a "lose" step'
    for section in ("targets", "stopIf"):
        for index, entry in _entries(spec, section):
            name = entry.get("probe")
            if isinstance(name, str) and name not in probes:
                known = [p for p in probes if isinstance(p, str)]
                yield ("spec", section, index, "probe"), _known("probe", name, known)


def _zone_references(path: FieldPath, named: Any, zones: list[str] | None) -> Iterator[Finding]:
    if zones is None:
        return
    if isinstance(named, str) and named not in zones:
        yield path, _known("zone", named, zones)
    picks = named.get("anyOf") if isinstance(named, dict) else None
    for index, zone in enumerate(picks if isinstance(picks, list) else []):
        if isinstance(zone, str) and zone not in zones:
            yield (*path, "anyOf", index), _known("zone", zone, zones)


def _entries(spec: dict[str, Any], key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    items = spec.get(key)
    if isinstance(items, list):
        yield from ((i, item) for i, item in enumerate(items) if isinstance(item, dict))


def _empty_targets(drill: Drill) -> Iterator[Finding]:
    for index, goal in enumerate(drill.spec.targets):
        if goal.rto is None and goal.availability is None and goal.p99_latency is None:
            yield (
                ("spec", "targets", index),
                "a target needs at least one of rto, availability, p99Latency",
            )
        probe = next((p for p in drill.spec.probes if p.name == goal.probe), None)
        if goal.p99_latency is not None and probe is not None and not probe.measures_latency:
            yield (
                ("spec", "targets", index, "p99Latency"),
                f"{probe.name} is a {probe.kind} probe: its answer time is the server's, not "
                "the service's; give it rto or availability targets",
            )


def _step_order(drill: Drill) -> Iterator[Finding]:
    losses = _Losses()
    previous = 0.0
    duration = drill.spec.duration
    for index, step in enumerate(drill.spec.steps):
        path: FieldPath = ("spec", "steps", index)
        if step.at < previous:
            yield (
                (*path, "at"),
                (
                    f"steps must be in time order: {format_duration(step.at)} comes after "
                    f"{format_duration(previous)}"
                ),
            )
        previous = max(previous, step.at)
        if step.at >= duration:
            yield (
                (*path, "at"),
                (
                    f"{format_duration(step.at)} is not inside the chaos phase: expected less than "
                    f"spec.duration ({format_duration(duration)})"
                ),
            )
        yield from losses.follow(index, step, path, set(drill.spec.zones))


class _Losses:
    """Which zones are down after each step, where random picks count for every candidate.

    Every seed must give a valid drill, so a random step may only pick among zones no other step
    holds down, and only ``{sameAs: N}`` may restore it.
    """

    def __init__(self) -> None:
        self.lost: set[str] = set()
        self.random: dict[int, set[str]] = {}  # open random losses: step index -> candidates

    def follow(self, index: int, step: Step, path: FieldPath, zones: set[str]) -> Iterator[Finding]:
        if isinstance(step.lose, AnyOf):
            yield from self._random_loss(index, step.lose.any_of, (*path, "lose"))
        elif isinstance(step.lose, str):
            yield from self._loss(step.lose, (*path, "lose"))
        elif isinstance(step.restore, SameAs):
            yield from self._same_as(index, step.restore.same_as, (*path, "restore", "sameAs"))
        elif isinstance(step.restore, str):
            if step.restore not in self.lost and step.restore in zones:
                hint = _random_hint(step.restore, self.random)
                yield (*path, "restore"), f'zone "{step.restore}" is not lost at this point{hint}'
            self.lost.discard(step.restore)

    def _loss(self, zone: str, path: FieldPath) -> Iterator[Finding]:
        if zone in self.lost:
            yield path, f'zone "{zone}" is already lost; restore it first'
        maybe = [i for i, candidates in self.random.items() if zone in candidates]
        if maybe:
            yield path, f'zone "{zone}" may be lost already by step {maybe[0]} (anyOf)'
        self.lost.add(zone)

    def _random_loss(self, index: int, candidates: list[str], path: FieldPath) -> Iterator[Finding]:
        for dup in _duplicates(candidates):
            yield (*path, "anyOf"), f'zone "{dup}" is listed twice'
        free = set(candidates) - self.lost
        crowding = sum(1 for other in self.random.values() if other & free)
        if len(free) <= crowding:
            yield (*path, "anyOf"), "every candidate may be lost already: add zones or restore"
        self.random[index] = set(candidates)

    def _same_as(self, index: int, lost_by: int, path: FieldPath) -> Iterator[Finding]:
        if lost_by >= index or lost_by not in self.random:
            open_ = ", ".join(map(str, self.random)) or "none"
            yield (
                path,
                (f"expected the index of an earlier anyOf step still lost; open ones: {open_}"),
            )
        self.random.pop(lost_by, None)


def _random_hint(zone: str, random_losses: dict[int, set[str]]) -> str:
    maybe = [i for i, candidates in random_losses.items() if zone in candidates]
    return f"; a zone picked at random is restored with {{sameAs: {maybe[0]}}}" if maybe else ""


def _probe_timing(drill: Drill) -> Iterator[Finding]:
    for index, probe in enumerate(drill.spec.probes):
        path: FieldPath = ("spec", "probes", index)
        if probe.every < MIN_EVERY:
            yield (
                (*path, "every"),
                f"{format_duration(probe.every)} is too often: expected at least 50ms",
            )
        for where, message in probe.findings():
            yield (*path, *where), message
        fast = probe.while_failing
        if fast is not None and not MIN_WHILE_FAILING <= fast < probe.every:
            yield (
                (*path, "whileFailing"),
                f"{format_duration(fast)} is out of range: expected at least 20ms and less "
                f"than every ({format_duration(probe.every)})",
            )
        if probe.every * MIN_SAMPLES_IN_CHAOS > drill.spec.duration:
            yield (*path, "every"), _too_few_samples(probe.every, drill.spec.duration)


def _too_few_samples(every: float, duration: float) -> str:
    """Why ``every`` is too long for ``duration``, and the way out that exists."""
    most = duration / MIN_SAMPLES_IN_CHAOS
    way_out = (
        f"expected at most {format_duration(most)}"
        if most >= MIN_EVERY
        else f"the chaos phase is too short for any probe: make duration at least "
        f"{format_duration(MIN_EVERY * MIN_SAMPLES_IN_CHAOS)}"
    )
    return (
        f"{format_duration(every)} leaves fewer than {MIN_SAMPLES_IN_CHAOS} samples in the "
        f"{format_duration(duration)} chaos phase: {way_out}"
    )


def _required_parts(drill: Drill) -> Iterator[Finding]:
    if not drill.spec.probes:
        yield ("spec", "probes"), "a drill needs at least one probe"
    if not any(step.is_lose for step in drill.spec.steps):
        yield ("spec", "steps"), 'a drill needs at least one "lose" step'
    if drill.spec.duration <= 0:
        yield ("spec", "duration"), "expected a duration above 0s"
    if not drill.spec.targets:
        yield ("spec", "targets"), "a drill needs at least one target: what would it be scored on?"
    for index, guard in enumerate(drill.spec.stop_if):
        if guard.failing_for <= 0:
            yield ("spec", "stopIf", index, "failingFor"), "expected a duration above 0s"


def lab_findings(lab: Lab) -> Iterator[Finding]:
    """Every rule of spec §1.2 that ``lab`` breaks."""
    services = lab.spec.services
    keys = [f"{s.namespace}/{s.name}" for s in services]
    for key in _duplicates(keys):
        for index in [i for i, k in enumerate(keys) if k == key][1:]:
            yield ("spec", "services", index, "name"), f'service "{key}" is defined twice'
    for index, service in enumerate(services):
        path: FieldPath = ("spec", "services", index)
        if service.min_ready > service.replicas:
            yield (
                (*path, "minReady"),
                (
                    f"{service.min_ready} is more than the {service.replicas} replicas: the service"
                    " could never answer"
                ),
            )
        yield from _pdb_findings(service, path)
        yield from _placement_findings(lab, service, path)
    if lab.node_grace is not None and lab.node_grace <= 0:
        yield ("nodeGrace",), "expected a duration above 0s"
    yield from _zones_overfilled(lab)
    nodes = sum(z.nodes for z in lab.spec.zones.values())
    if nodes > MAX_LAB_NODES:
        yield ("spec", "zones"), f"{nodes} nodes in all: a lab holds at most {MAX_LAB_NODES}"
    capacity = sum(z.nodes * z.pods_per_node for z in lab.spec.zones.values())
    wanted = sum(s.replicas for s in services)
    if wanted > capacity:
        yield (
            ("spec", "services"),
            (f"{wanted} replicas do not fit in {capacity} pod slots: add nodes or podsPerNode"),
        )


def _placement_findings(lab: Lab, service: LabService, path: FieldPath) -> Iterator[Finding]:
    placement = service.placement
    if placement is None:
        return
    for zone in placement:
        if zone not in lab.spec.zones:
            yield (
                (*path, "placement", zone),
                f'no zone "{zone}": the lab has {", ".join(lab.spec.zones)}',
            )
    if sum(placement.values()) != service.replicas:
        yield (
            (*path, "placement"),
            f"places {sum(placement.values())} pod(s), the service has {service.replicas} replicas",
        )


def _zones_overfilled(lab: Lab) -> Iterator[Finding]:
    """Zones whose placed pods do not fit their nodes."""
    for zone, spec in lab.spec.zones.items():
        placed = sum((s.placement or {}).get(zone, 0) for s in lab.spec.services)
        room = spec.nodes * spec.pods_per_node
        if placed > room:
            yield (
                ("spec", "zones", zone),
                f"placements put {placed} pods here, which has room for {room}",
            )


def _pdb_findings(service: LabService, path: FieldPath) -> Iterator[Finding]:
    pdb = service.pdb
    if pdb is None:
        return
    if (pdb.min_available is None) == (pdb.max_unavailable is None):
        yield (*path, "pdb"), 'expected exactly one of "minAvailable" and "maxUnavailable"'
    elif pdb.min_available is not None and pdb.min_available > service.replicas:
        yield (
            (*path, "pdb", "minAvailable"),
            f"{pdb.min_available} is more than the {service.replicas} replicas: no pod could "
            "ever be evicted",
        )
