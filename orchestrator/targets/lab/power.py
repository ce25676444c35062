"""A lab zone's power cut, as Kubernetes lives through it (spec §8, ``--as power-cut``).

The nodes stop answering. Their pods keep their endpoints until the node controller marks the
nodes unreachable, after the node monitor grace period, so requests spread over every endpoint
fail on the lost ones (no answer: the client times out). Each pod is evicted when its
``node.kubernetes.io/unreachable`` toleration runs out, counted from when its node gets the
eviction taint: the node controller taints a zone's unreachable nodes at a limited rate, one at
once and then one every 1/rate seconds. Its controller replaces the evicted pod, which stays
Terminating on the dead node. A StatefulSet does not replace a pod that is
not gone, so its pods stay down until the out-of-service taint force-deletes them (when an
operator applies it, ``outOfServiceAfter`` from the cut). Power back, the pods still on the
nodes start again, and the Terminating ones are removed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestrator.drill.lab import STATEFUL_SET

if TYPE_CHECKING:
    from orchestrator.targets.lab.cluster import LabCluster, LabNode, LabPod


@dataclass(frozen=True)
class CutRules:
    """How the cluster the lab stands for lives through a power cut."""

    node_grace: float
    eviction_rate: float
    """Nodes per second a zone's eviction taints go on: the node controller's rate limit."""
    out_of_service_after: float | None = None
    """Seconds from the cut to the out-of-service taint; None: nobody applies it."""


class PowerCuts:
    """Plays out power cuts on one lab cluster, on its loop's clock."""

    def __init__(self, cluster: LabCluster, rules: CutRules) -> None:
        self._cluster, self.rules = cluster, rules
        self._next_taint: dict[str, float] = {}  # per zone: when its tainter may taint again
        self._dark: set[str] = set()  # nodes without power

    def cut(self, node: LabNode) -> None:
        """The node's power goes off now."""
        now = self._cluster.now()
        node.dark_since = now
        self._dark.add(node.name)
        unreachable = now + self.rules.node_grace
        tainted = self._taint_time(node.zone, unreachable)
        self._cluster.changed()
        for pod in self._cluster.pods_on(node.name):
            pod.dark, pod.endpoint_until = True, unreachable
            if pod.ready_at is not None and pod.ready_at > now:
                pod.ready_at = None  # still starting: with its kubelet gone it never gets ready
            if pod.service.workload != STATEFUL_SET:
                when = tainted + pod.service.unreachable_toleration
                self._cluster.at(when, functools.partial(self._evict, pod, node, since=now))
        self._cluster.at(unreachable, lambda: None)  # the endpoints go: tell the listeners
        if self.rules.out_of_service_after is not None:
            when = now + self.rules.out_of_service_after
            self._cluster.at(when, lambda: self._out_of_service(node, since=now))

    def _taint_time(self, zone: str, unreachable: float) -> float:
        """When the node controller's rate-limited tainter gets to a node of ``zone``.

        One node at once, then one every 1/rate seconds: a zone of 30 nodes has its last
        node's pods evicted nearly five minutes after its first's, at the default rate.
        """
        tainted = max(unreachable, self._next_taint.get(zone, unreachable))
        self._next_taint[zone] = tainted + 1.0 / self.rules.eviction_rate
        return tainted

    def restore(self, node: LabNode) -> None:
        """Power is back: pods still there start again; Terminating ones are removed."""
        node.dark_since = None
        self._dark.discard(node.name)
        if not any(self._cluster.nodes[n].zone == node.zone for n in self._dark):
            self._next_taint.pop(node.zone, None)  # the zone's tainter has nothing queued
        self._cluster.changed()
        ready_at = self._cluster.now()
        for pod in self._cluster.pods_on(node.name):
            if pod.terminating:
                self._cluster.remove_pod(pod.ref)
                continue
            pod.dark, pod.endpoint_until = False, None
            pod.ready_at = ready_at + pod.service.startup
            self._cluster.at(pod.ready_at, lambda: None)

    def _evict(self, pod: LabPod, node: LabNode, *, since: float) -> None:
        """The toleration ran out, unless power came back (or was cut again) meanwhile.

        With every node unreachable the node controller evicts nothing (it assumes its own
        network, not every node, is down), and neither does the lab.
        """
        if node.dark_since != since or len(self._dark) == len(self._cluster.nodes):
            return
        if pod.dark and not pod.terminating and pod.ref in self._cluster.pods:
            pod.terminating = True
            self._cluster.changed(pod.service)
            self._cluster.replace(pod)

    def _out_of_service(self, node: LabNode, *, since: float) -> None:
        """The taint force-deletes every pod of the node, StatefulSets' too."""
        if node.dark_since != since:  # power came back (or was cut again) meanwhile
            return
        for pod in self._cluster.pods_on(node.name):
            self._cluster.delete_pod(pod.ref)
