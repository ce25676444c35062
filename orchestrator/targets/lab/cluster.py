"""The lab's simulated cluster: nodes, pods, a scheduler, ReplicaSets and PDBs.

Time is the event loop's clock, so the lab follows fake loop time in tests and real monotonic
time in runs. State changes happen only in loop callbacks: no locks are needed.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.drill.lab import Lab, LabService, lab_node_labels
from orchestrator.errors import ClusterNotFoundError, EvictionBlockedError
from orchestrator.targets.lab.power import CutRules, PowerCuts
from orchestrator.targets.port import POWER_CUT_TAINT, PodRef, Taint

BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


@dataclass
class LabNode:
    """One simulated node; ``cordoned_by`` and ``taint_owners`` play the role of annotations."""

    name: str
    zone: str
    capacity: int
    unschedulable: bool = False
    cordoned_by: str | None = None
    dark_since: float | None = None
    """When its power went off (a simulated power cut); None while it has power."""
    taint_owners: dict[Taint, str] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, str]:
        """The labels every lab node carries."""
        return lab_node_labels(self.zone)

    @property
    def schedulable(self) -> bool:
        """True when the scheduler may bind new pods here."""
        return not self.unschedulable and not any(
            t.effect in BLOCKING_EFFECTS for t in self.taint_owners
        )


@dataclass
class LabPod:
    """One simulated pod: Pending until bound, Ready ``startup`` after binding."""

    ref: PodRef
    service: LabService
    seq: int
    schedulable_after: float
    node: str | None = None
    ready_at: float | None = None
    dark: bool = False
    """Its node lost power: it answers nothing, though its endpoint stays a while."""
    endpoint_until: float | None = None
    """When a dark pod's endpoint goes: its node is marked unreachable (the node grace)."""
    terminating: bool = False
    """Evicted from a node that stopped answering: never ready again, never gone by itself."""

    def ready(self, now: float) -> bool:
        """True when bound, past its startup time, and an endpoint (so still counted ready)."""
        if self.ready_at is None or self.ready_at > now or self.terminating:
            return False
        return not self.dark or self.endpoint_until is None or now < self.endpoint_until

    def turns_at(self, now: float) -> float:
        """The next moment ``ready`` changes by time alone: it gets ready, or its endpoint goes."""
        times = (self.ready_at, self.endpoint_until if self.dark else None)
        return min((t for t in times if t is not None and t > now), default=math.inf)


@dataclass(frozen=True)
class Endpoints:
    """A Service's ready pods, oldest first, as of one state of the cluster until ``until``."""

    pods: list[LabPod]
    answering: int  # those whose node has power
    until: float


class LabCluster:
    """The whole simulated cluster of one lab file."""

    def __init__(
        self, lab: Lab, *, loop: asyncio.AbstractEventLoop, cuts: CutRules | None = None
    ) -> None:
        self.lab = lab
        self._loop = loop
        self.power = PowerCuts(self, cuts or CutRules(lab.grace(), lab.node_eviction_rate))
        self._turns: dict[str, int] = {}
        self._seq = itertools.count(1)
        self.zone_order = list(lab.spec.zones)
        self.nodes: dict[str, LabNode] = {}
        self._zone_nodes: dict[str, list[LabNode]] = {zone: [] for zone in lab.spec.zones}
        for zone, spec in lab.spec.zones.items():
            for index in range(1, spec.nodes + 1):
                node = LabNode(name=f"{zone}-{index}", zone=zone, capacity=spec.pods_per_node)
                self.nodes[node.name] = node
                self._zone_nodes[zone].append(node)
        self.pods: dict[PodRef, LabPod] = {}
        self.services = {_key(s): s for s in lab.spec.services}
        # Kept as pods come and go, so that a request or a scheduling pass of a cluster of
        # thousands of pods never walks them all (plan --simulate answers in virtual time).
        self._of_service: dict[str, dict[PodRef, LabPod]] = {k: {} for k in self.services}
        self._load: Counter[str] = Counter()  # bound pods per node, Terminating ones included
        self._placed: dict[str, Counter[str]] = {k: Counter() for k in self.services}  # by zone
        self._pending: dict[PodRef, LabPod] = {}  # not bound yet, oldest first
        self._index = {n.name: i for ns in self._zone_nodes.values() for i, n in enumerate(ns)}
        self._rooms = {
            z: [(0, self._index[n.name], n.name) for n in ns] for z, ns in self._zone_nodes.items()
        }
        """Per zone, a heap of (load, index, node): the least loaded node first, the first on a
        tie. An entry whose load is stale, or whose node has no room, is dropped when it comes
        up; a node is offered again whenever its load or its schedulability changes."""
        self._ready: dict[str, Endpoints] = {}  # dropped by every change to a service's pods
        self._listeners: list[Callable[[], None]] = []
        self._wakeups: set[float] = set()
        now = self.now()
        # Placed services first: a placement the zones have room for is never crowded out by
        # a service that goes wherever its spread finds room.
        for service in sorted(lab.spec.services, key=lambda s: s.placement is None):
            for first in _first_zones(service):
                pod = self._new_pod(service, schedulable_after=now)
                self._bind(pod, ready_at=now, zone=first)

    def now(self) -> float:
        """The loop's monotonic clock."""
        return self._loop.time()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every state change (pods bound, ready, deleted)."""
        self._listeners.append(listener)

    def ready_replicas(self, service: LabService) -> int:
        """Ready pods of ``service`` right now."""
        return len(self.endpoints(service).pods)

    def endpoints(self, service: LabService) -> Endpoints:
        """The ready pods of ``service`` (its Service's endpoints), worked out once per state."""
        now, key = self.now(), _key(service)
        known = self._ready.get(key)
        if known is not None and now < known.until:
            return known
        pods = list(self._of_service[key].values())
        ready = [p for p in pods if p.ready(now)]
        until = min((p.turns_at(now) for p in pods), default=math.inf)
        answering = sum(not p.dark for p in ready)
        self._ready[key] = Endpoints(ready, answering, until)
        return self._ready[key]

    def changed(self, service: LabService | None = None) -> None:
        """A pod of ``service`` (None: of any) was bound, removed, evicted, or lost power."""
        if service is None:
            self._ready.clear()
        else:
            self._ready.pop(_key(service), None)

    def next_endpoint(self, service: LabService, endpoints: list[LabPod]) -> LabPod:
        """The endpoint the service's next request goes to: each in turn, as kube-proxy does."""
        key = _key(service)
        turn = self._turns.get(key, 0)
        self._turns[key] = turn + 1
        return endpoints[turn % len(endpoints)]

    def pods_on(self, node: str) -> list[LabPod]:
        """Pods bound to ``node``."""
        return [p for p in self.pods.values() if p.node == node]

    def service_of(self, namespace: str, name: str) -> LabService:
        """The lab service by namespace and name."""
        try:
            return self.services[f"{namespace}/{name}"]
        except KeyError:
            known = ", ".join(sorted(self.services)) or "none"
            raise ClusterNotFoundError(
                f"lab {self.lab.metadata.name} has no service {namespace}/{name}; it has: {known}"
            ) from None

    # --- changes ---------------------------------------------------------------------------

    def cordon(self, node: str, *, run_id: str) -> None:
        """Mark ``node`` unschedulable, remembering ``run_id`` only if it was schedulable."""
        target = self._node(node)
        if not target.unschedulable:
            target.unschedulable = True
            target.cordoned_by = run_id

    def uncordon(self, node: str, *, run_id: str) -> None:
        """Undo ``run_id``'s cordon; a node someone else cordoned stays cordoned."""
        target = self._node(node)
        if target.cordoned_by == run_id:
            target.unschedulable = False
            target.cordoned_by = None
            self._offer(target)
            self._schedule_pending()

    def add_taint(self, node: str, taint: Taint, *, run_id: str) -> None:
        """Add ``taint`` unless present; the power-cut taint turns the node's power off."""
        target = self._node(node)
        if taint not in target.taint_owners and taint == POWER_CUT_TAINT:
            self.power.cut(target)
        target.taint_owners.setdefault(taint, run_id)

    def remove_taint(self, node: str, taint: Taint, *, run_id: str) -> None:
        """Remove ``taint`` if ``run_id`` added it; the power-cut taint gone, power is back."""
        target = self._node(node)
        if target.taint_owners.get(taint) == run_id:
            del target.taint_owners[taint]
            if taint == POWER_CUT_TAINT:
                self.power.restore(target)
            self._offer(target)
            self._schedule_pending()

    def replace(self, pod: LabPod) -> None:
        """Its controller makes a replacement, scheduled ``reschedule`` from now."""
        self._new_pod(pod.service, schedulable_after=self.now() + pod.service.reschedule)
        self._schedule_pending()

    def at(self, when: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` at ``when`` on the loop's clock, then tell the listeners."""

        def fire() -> None:
            callback()
            self._notify()

        self._loop.call_at(when, fire)

    def delete_pod(self, ref: PodRef) -> None:
        """Delete a pod at once; its ReplicaSet creates a replacement."""
        pod = self.remove_pod(ref)
        if pod is None:
            raise ClusterNotFoundError(f"pod {ref} not found")
        if not pod.terminating:  # a Terminating pod was replaced when it was evicted
            self.replace(pod)

    def remove_pod(self, ref: PodRef) -> LabPod | None:
        """Forget a pod, with nothing to replace it (a Terminating pod gone at last)."""
        pod = self.pods.pop(ref, None)
        if pod is not None:
            self.changed(pod.service)
            self._pending.pop(ref, None)
            del self._of_service[_key(pod.service)][ref]
            if pod.node is not None:
                self._load[pod.node] -= 1
                self._offer(self.nodes[pod.node])
                self._placed[_key(pod.service)][self.nodes[pod.node].zone] -= 1
        return pod

    def evict_pod(self, ref: PodRef) -> None:
        """Evict a pod if its PDB allows it now, else raise EvictionBlockedError (HTTP 429)."""
        pod = self.pods.get(ref)
        if pod is None:
            raise ClusterNotFoundError(f"pod {ref} not found")
        if not self._disruption_allowed(pod):
            raise EvictionBlockedError(
                f"Cannot evict pod {ref} as it would violate the pod's disruption budget."
            )
        self.delete_pod(ref)

    # --- internals -------------------------------------------------------------------------

    def _node(self, name: str) -> LabNode:
        try:
            return self.nodes[name]
        except KeyError:
            raise ClusterNotFoundError(f"node {name} not found") from None

    def disruptions_allowed(self, service: LabService) -> int | None:
        """What a PDB's status.disruptionsAllowed would say now; None without a PDB."""
        pdb = service.pdb
        if pdb is None:
            return None
        if pdb.min_available is not None:
            desired = pdb.min_available
        else:
            desired = service.replicas - (pdb.max_unavailable or 0)
        return max(0, self.ready_replicas(service) - desired)

    def _disruption_allowed(self, pod: LabPod) -> bool:
        allowed = self.disruptions_allowed(pod.service)
        # Like the eviction API: a ready pod costs one healthy replica, an unready one costs none.
        return allowed is None or allowed > 0 or not pod.ready(self.now())

    def _new_pod(self, service: LabService, *, schedulable_after: float) -> LabPod:
        seq = next(self._seq)
        ref = PodRef(namespace=service.namespace, name=f"{service.name}-{seq}")
        pod = LabPod(ref=ref, service=service, seq=seq, schedulable_after=schedulable_after)
        self.pods[ref] = self._of_service[_key(service)][ref] = self._pending[ref] = pod
        return pod

    def _bind(self, pod: LabPod, *, ready_at: float | None = None, zone: str | None = None) -> bool:
        node = self._pick_node(pod.service, zone)
        if node is None:
            return False
        pod.node = node.name
        self.changed(pod.service)
        del self._pending[pod.ref]
        self._load[node.name] += 1
        self._offer(node)
        self._placed[_key(pod.service)][node.zone] += 1
        pod.ready_at = ready_at if ready_at is not None else self.now() + pod.service.startup
        self._loop.call_at(pod.ready_at, self._notify)
        return True

    def _wake_at(self, when: float) -> None:
        """One scheduling pass at ``when``, however many pending pods wait for that moment."""
        if when not in self._wakeups:
            self._wakeups.add(when)
            self._loop.call_at(when, self._woken, when)

    def _woken(self, when: float) -> None:
        self._wakeups.discard(when)
        self._schedule_pending()

    def _schedule_pending(self) -> None:
        now = self.now()
        for pod in list(self._pending.values()):
            if pod.schedulable_after > now:
                self._wake_at(pod.schedulable_after)
            else:
                self._bind(pod)
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _pick_node(self, service: LabService, zone: str | None = None) -> LabNode | None:
        """A node with room: in ``zone`` when given (a placement), else as ``spread`` says.

        pack: the first node with room, in zone order; zones: the least loaded node of the zone
        where the service has fewest pods (the first such zone on a tie).
        """
        if zone is not None:
            return self._least_loaded(zone)
        if service.spread == "pack":
            rooms = (n for z in self.zone_order for n in self._zone_nodes[z] if self._room(n))
            return next(rooms, None)
        mine = self._placed[_key(service)]
        for candidate in sorted(self.zone_order, key=lambda z: mine[z]):  # stable: zone order
            node = self._least_loaded(candidate)
            if node is not None:
                return node
        return None

    def _room(self, node: LabNode) -> bool:
        return node.schedulable and self._load[node.name] < node.capacity

    def _least_loaded(self, zone: str) -> LabNode | None:
        heap = self._rooms[zone]
        while heap:
            load, _, name = heap[0]
            node = self.nodes[name]
            if load == self._load[name] and self._room(node):
                return node
            heapq.heappop(heap)
        return None

    def _offer(self, node: LabNode) -> None:
        entry = (self._load[node.name], self._index[node.name], node.name)
        heapq.heappush(self._rooms[node.zone], entry)


def _key(service: LabService) -> str:
    return f"{service.namespace}/{service.name}"


def _first_zones(service: LabService) -> list[str | None]:
    """Where each first pod of ``service`` goes: its placement's zones, else as spread says."""
    if service.placement is None:
        return [None] * service.replicas
    return [zone for zone, count in service.placement.items() for _ in range(count)]
