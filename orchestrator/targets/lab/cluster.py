"""The lab's simulated cluster: nodes, pods, a scheduler, ReplicaSets and PDBs.

Time is the event loop's clock, so the lab follows fake loop time in tests and real monotonic
time in runs. State changes happen only in loop callbacks: no locks are needed.
"""

from __future__ import annotations

import asyncio
import itertools
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


class LabCluster:
    """The whole simulated cluster of one lab file."""

    def __init__(
        self, lab: Lab, *, loop: asyncio.AbstractEventLoop, cuts: CutRules | None = None
    ) -> None:
        self.lab = lab
        self._loop = loop
        self.power = PowerCuts(self, cuts or CutRules(lab.grace()))
        self._turns: dict[str, int] = {}
        self._seq = itertools.count(1)
        self.zone_order = list(lab.spec.zones)
        self.nodes: dict[str, LabNode] = {}
        for zone, spec in lab.spec.zones.items():
            for index in range(1, spec.nodes + 1):
                name = f"{zone}-{index}"
                self.nodes[name] = LabNode(name=name, zone=zone, capacity=spec.pods_per_node)
        self.pods: dict[PodRef, LabPod] = {}
        self.services = {f"{s.namespace}/{s.name}": s for s in lab.spec.services}
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
        return len(self.endpoints(service))

    def endpoints(self, service: LabService) -> list[LabPod]:
        """The ready pods of ``service`` (its Service's endpoints), oldest first."""
        now = self.now()
        ready = (p for p in self.pods.values() if p.service is service and p.ready(now))
        return sorted(ready, key=lambda p: p.seq)

    def next_endpoint(self, service: LabService, endpoints: list[LabPod]) -> LabPod:
        """The endpoint the service's next request goes to: each in turn, as kube-proxy does."""
        key = f"{service.namespace}/{service.name}"
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
        pod = self.pods.pop(ref, None)
        if pod is None:
            raise ClusterNotFoundError(f"pod {ref} not found")
        if not pod.terminating:  # a Terminating pod was replaced when it was evicted
            self.replace(pod)

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
        self.pods[ref] = pod
        return pod

    def _bind(self, pod: LabPod, *, ready_at: float | None = None, zone: str | None = None) -> bool:
        node = self._pick_node(pod.service, zone)
        if node is None:
            return False
        pod.node = node.name
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
        pending = sorted((p for p in self.pods.values() if p.node is None), key=lambda p: p.seq)
        for pod in pending:
            if pod.schedulable_after > now:
                self._wake_at(pod.schedulable_after)
            else:
                self._bind(pod)
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _pick_node(self, service: LabService, zone: str | None = None) -> LabNode | None:
        """A node with room: in ``zone`` when given (a placement), else as ``spread`` says."""
        load = dict.fromkeys(self.nodes, 0)
        for pod in self.pods.values():
            if pod.node is not None:
                load[pod.node] += 1
        free = [
            n
            for n in self.nodes.values()
            if n.schedulable and load[n.name] < n.capacity and zone in (None, n.zone)
        ]
        if zone is not None:
            return min(free, key=lambda n: load[n.name], default=None)
        if not free:
            return None
        if service.spread == "pack":
            return free[0]
        mine = dict.fromkeys(self.zone_order, 0)
        for pod in self.pods.values():
            if pod.service is service and pod.node is not None:
                mine[self.nodes[pod.node].zone] += 1
        zone_rank = {zone: i for i, zone in enumerate(self.zone_order)}
        return min(free, key=lambda n: (mine[n.zone], zone_rank[n.zone], load[n.name]))


def _first_zones(service: LabService) -> list[str | None]:
    """Where each first pod of ``service`` goes: its placement's zones, else as spread says."""
    if service.placement is None:
        return [None] * service.replicas
    return [zone for zone, count in service.placement.items() for _ in range(count)]
