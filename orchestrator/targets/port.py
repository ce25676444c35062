"""The cluster port: the only way the core reaches a cluster.

Changes are plain values (``Cordon``, ``AddTaint``, ``DeletePod`` …) built by the core and sent
with ``apply``. That lets the core journal every change before it is made and derive the exact
inverse on restore, while an adapter only knows how to carry one change out. Adapters mark what
they change with the run id, and an inverse is applied only where that mark is still theirs, so a
node cordoned by someone else is never uncordoned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Literal, Protocol, assert_never, runtime_checkable

import httpx

from orchestrator.drill.probe import ServiceRef

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


@dataclass(frozen=True)
class Taint:
    """A node taint."""

    key: str
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
    value: str = ""


POWER_LOSS_TAINT = Taint(key="zonedrill.io/power-loss", effect="NoSchedule")
"""Spec v1.1: NoSchedule, so that the taint itself never evicts pods in excludeNamespaces."""
POWER_CUT_TAINT = Taint(key="zonedrill.io/power-cut", effect="NoSchedule")
"""A simulated lab reads it as the node's power going off (plan --simulate --as power-cut)."""


@dataclass(frozen=True, order=True)
class Resources:
    """CPU and memory, as requested by a pod or allocatable on a node (ordered CPU first)."""

    cpu_milli: int = 0
    memory_bytes: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_milli + other.cpu_milli, self.memory_bytes + other.memory_bytes)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu_milli - other.cpu_milli, self.memory_bytes - other.memory_bytes)

    def __str__(self) -> str:
        return f"{self.cpu_milli / 1000:g} CPU, {self.memory_bytes / 2**30:.1f} GiB"


@dataclass(frozen=True)
class LabelRequirement:
    """One ``matchExpressions`` entry of a label selector."""

    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: tuple[str, ...] = ()

    def holds(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement, as Kubernetes decides it."""
        present = self.key in labels
        match self.operator:
            case "In":
                return present and labels[self.key] in self.values
            case "NotIn":
                return not present or labels[self.key] not in self.values
            case "Exists":
                return present
            case "DoesNotExist":
                return not present


@dataclass(frozen=True)
class LabelSelector:
    """A Kubernetes label selector: ``matchLabels`` and ``matchExpressions`` all hold."""

    match_labels: Mapping[str, str] = field(default_factory=dict)
    match_expressions: tuple[LabelRequirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every label and every expression holds (an empty selector matches all)."""
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            r.holds(labels) for r in self.match_expressions
        )


@dataclass(frozen=True)
class SpreadConstraint:
    """A pod's ``topologySpreadConstraints`` entry, as far as a forecast needs it."""

    topology_key: str
    max_skew: int
    hard: bool  # whenUnsatisfiable: DoNotSchedule
    honors_taints: bool  # nodeTaintsPolicy: Honor (the default, Ignore, counts tainted nodes)


@dataclass(frozen=True)
class DisruptionBudget:
    """A PodDisruptionBudget: which pods it guards and how many may go now."""

    namespace: str
    name: str
    selector: LabelSelector
    disruptions_allowed: int
    min_available: int | str | None = None
    """As written: a count or a percentage ("50%"), or None."""
    max_unavailable: int | str | None = None

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class NodeInfo:
    """What the core needs to know about one node."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    unschedulable: bool = False
    taints: tuple[Taint, ...] = ()
    pod_capacity: int | None = None
    allocatable: Resources | None = None
    marks: tuple[Mark, ...] = ()
    """The changes the node itself says runs made (annotations on a cluster, fields in a lab):
    rollback finds them when a journal is gone, and a run refuses to start over them."""

    @property
    def control_plane(self) -> bool:
        """True for nodes that run the control plane: zonedrill never touches those."""
        return CONTROL_PLANE_LABEL in self.labels

    def matches(self, selector: Mapping[str, str]) -> bool:
        """True when every selector label is on the node with the same value."""
        return all(self.labels.get(key) == value for key, value in selector.items())


@dataclass(frozen=True, order=True)
class PodRef:
    """A pod by namespace and name."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PodInfo:
    """What the core needs to know about one pod."""

    ref: PodRef
    node: str
    owner_kind: str | None = None
    mirror: bool = False
    terminating: bool = False
    ready: bool = True
    workload: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    requests: Resources = Resources()
    spread: tuple[SpreadConstraint, ...] = ()
    workload_kind: str | None = None
    """Deployment, StatefulSet, ReplicaSet, DaemonSet...: what recreates it (a snapshot's)."""
    unreachable_toleration: float | None = 0.0
    """Seconds it tolerates node.kubernetes.io/unreachable (NoExecute); None: for ever."""
    startup: float | None = None
    """Seconds from PodScheduled to Ready by its own conditions (whole seconds), when ready."""

    @property
    def evictable(self) -> bool:
        """True for pods a drain evicts: not DaemonSet, mirror or already terminating pods."""
        return self.owner_kind != "DaemonSet" and not self.mirror and not self.terminating

    @property
    def comes_back(self) -> bool:
        """True when a controller recreates the pod elsewhere (not DaemonSet, mirror or bare)."""
        return self.owner_kind not in (None, "DaemonSet", "Node") and not self.mirror


@dataclass(frozen=True)
class Cordon:
    """Mark a node unschedulable (only if it is schedulable now)."""

    node: str
    op: Literal["cordon"] = "cordon"


@dataclass(frozen=True)
class Uncordon:
    """Undo a Cordon made by the same run."""

    node: str
    op: Literal["uncordon"] = "uncordon"


@dataclass(frozen=True)
class AddTaint:
    """Add a taint to a node (only if it is not there yet)."""

    node: str
    taint: Taint
    op: Literal["add-taint"] = "add-taint"


@dataclass(frozen=True)
class RemoveTaint:
    """Undo an AddTaint made by the same run."""

    node: str
    taint: Taint
    op: Literal["remove-taint"] = "remove-taint"


@dataclass(frozen=True)
class DeletePod:
    """Delete a pod with the given grace period (0 for a power cut)."""

    pod: PodRef
    grace_seconds: int = 0
    op: Literal["delete-pod"] = "delete-pod"


@dataclass(frozen=True)
class EvictPod:
    """Evict a pod through the Eviction API; may raise EvictionBlockedError."""

    pod: PodRef
    op: Literal["evict-pod"] = "evict-pod"


Change = Cordon | Uncordon | AddTaint | RemoveTaint | DeletePod | EvictPod


@dataclass(frozen=True)
class Mark:
    """A change a node says run ``owner`` made."""

    owner: str
    change: Change


def marks_of(nodes: Collection[NodeInfo]) -> list[Mark]:
    """Every mark of ``nodes``, node by node."""
    return [mark for node in nodes for mark in node.marks]


def describe(change: Change) -> str:
    """A change as people read it: ``cordon pangyo-1``, ``add-taint pangyo-1 key:Effect``."""
    if isinstance(change, AddTaint | RemoveTaint):
        return f"{change.op} {change.node} {change.taint.key}:{change.taint.effect}"
    if isinstance(change, Cordon | Uncordon):
        return f"{change.op} {change.node}"
    return f"{change.op} {change.pod}"


def scope(change: Change) -> tuple[str, str]:
    """What ``change`` acts on: ``("node", NAME)`` or ``("pod", "NS/NAME")``.

    A restore undoes the changes of one object in order, newest first, and different objects
    at once; a zone's restore takes the changes of its nodes.
    """
    match change:
        case Cordon() | Uncordon() | AddTaint() | RemoveTaint():
            return "node", change.node
        case DeletePod() | EvictPod():
            return "pod", str(change.pod)
        case _:
            assert_never(change)


def inverse(change: Change) -> Change | None:
    """The change that undoes ``change``, or None when it cannot be undone (pods are gone)."""
    if isinstance(change, Cordon):
        return Uncordon(node=change.node)
    if isinstance(change, AddTaint):
        return RemoveTaint(node=change.node, taint=change.taint)
    return None


@dataclass(frozen=True)
class ServiceEndpoint:
    """Where a probe sends its request, and what it must send along."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    ca_file: str | None = None
    transport: httpx.AsyncBaseTransport | None = None
    """Answers in this process instead of over the network (a simulation's services)."""


class LockHold:
    """The one-drill-at-a-time lock while it is held.

    A lock that can lapse (a Lease nobody renewed in time) may be taken over by another drill;
    ``lost`` is then set and ``why`` says by whom, so that the run stops and restores. ``check``
    asks the lock itself who holds it now (None: still us), for ``confirm``.
    """

    def __init__(self, check: Callable[[], Awaitable[str | None]] | None = None) -> None:
        self.lost = asyncio.Event()
        self.why = ""
        self._check = check

    async def confirm(self) -> bool:
        """Ask the lock whether it is still ours before a zone is lost; False once lost."""
        if self._check is not None and not self.lost.is_set():
            taker = await self._check()
            if taker is not None:
                self.lose(taker)
        return not self.lost.is_set()

    def lose(self, why: str) -> None:
        """Another holder has the lock now."""
        if not self.lost.is_set():
            self.why = why
            self.lost.set()


class ClusterPort(Protocol):
    """What a drill needs from a cluster. Implemented by the lab and by ``k8s``."""

    @property
    def target(self) -> str:
        """``lab`` or ``kube``: written into results."""

    @property
    def identity(self) -> str:
        """A stable name of this cluster, for journals and locks."""

    async def cluster_uid(self) -> str | None:
        """What tells this cluster from another at the same address (kube-system's UID).

        None when ``identity`` alone names it (a lab). Results record it, and ``gate
        --cluster`` matches it, so that a run on one cluster never passes a gate for another.
        """

    @property
    def persistent(self) -> bool:
        """True when changes outlive this process (a real cluster), False for the lab."""

    @property
    def own_node(self) -> str | None:
        """The node zonedrill itself runs on, when it runs inside the cluster."""

    async def list_nodes(self) -> list[NodeInfo]:
        """Every node of the cluster."""

    async def list_pods(self, *, nodes: Collection[str]) -> list[PodInfo]:
        """Pods bound to any of ``nodes`` and not yet gone."""

    async def list_disruption_budgets(self) -> list[DisruptionBudget]:
        """Every PodDisruptionBudget of the cluster."""

    async def apply(self, change: Change, *, run_id: str) -> None:
        """Carry out one change, marking it as made by ``run_id`` where it can be undone."""

    async def wait_pods_gone(self, *, pods: Collection[PodRef], timeout: float) -> set[PodRef]:
        """Wait until ``pods`` are gone or ``timeout`` passes; return those still there."""

    async def service_endpoint(self, *, ref: ServiceRef) -> ServiceEndpoint:
        """How to reach a Service from where zonedrill runs."""

    def lock(self, *, holder: str, wait: float = 0.0) -> AbstractAsyncContextManager[LockHold]:
        """Hold the one-drill-at-a-time lock; wait up to ``wait`` s for it, then LockHeldError.

        The hold says when the lock was lost to another holder while the block runs.
        """

    async def close(self) -> None:
        """Release connections and servers."""


@runtime_checkable
class ResultsStore(Protocol):
    """A cluster that keeps game-day summaries where any pod can read them (the kube target)."""

    async def read_results(self, key: str) -> str | None:
        """The text kept under ``key``, or None."""
        ...

    async def update_results(self, key: str, change: Callable[[str | None], str]) -> None:
        """Replace the text under ``key`` with ``change(old)``, safely against other writers."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class Snapshots(Protocol):
    """A cluster a snapshot can read (``zonedrill snapshot``): the kube target's port."""

    async def service_selector(self, *, ref: ServiceRef) -> LabelSelector:
        """The labels of the pods behind a Service."""
        ...

    async def server_version(self) -> tuple[int, int]:
        """The API server's Kubernetes version, (major, minor)."""
        ...
