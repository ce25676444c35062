"""The Lab file (spec §1.2): the embedded cluster's topology and services."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from orchestrator.drill.types import DnsLabel, Duration, FileModel, Metadata, NonEmptyStr

DEFAULT_UNREACHABLE_TOLERATION = 300.0
"""Seconds: what Kubernetes' DefaultTolerationSeconds admission gives every pod."""
DEFAULT_NODE_GRACE = 50.0
"""Seconds: the controller-manager's node monitor grace period from Kubernetes 1.32 (40 s
before)."""
STATEFUL_SET = "StatefulSet"
"""The workload whose pods a power cut keeps down until the out-of-service taint."""
POWER_ZONE_LABEL = "zonedrill.io/power-zone"
TOPOLOGY_ZONE_LABEL = "topology.kubernetes.io/zone"


def lab_node_labels(zone: str) -> dict[str, str]:
    """The labels every lab node of ``zone`` carries (what a drill's nodeSelector can match)."""
    return {POWER_ZONE_LABEL: zone, TOPOLOGY_ZONE_LABEL: zone}


class LabZone(FileModel):
    """A power zone of the lab: how many nodes, and how many pods fit on each."""

    nodes: int = Field(ge=1, le=5000, description="How many nodes the zone has.")
    pods_per_node: int = Field(
        default=110, ge=1, le=1000, description="How many pods fit on one node."
    )


class LabPdb(FileModel):
    """A PodDisruptionBudget for a lab service: give exactly one field."""

    min_available: int | None = Field(
        default=None, ge=0, description="Evictions must leave at least this many ready."
    )
    max_unavailable: int | None = Field(
        default=None, ge=0, description="Evictions may leave at most this many unready."
    )


class LabService(FileModel):
    """A replicated service that answers real HTTP on loopback."""

    name: DnsLabel = Field(description="The service's name (what a drill's http.service names).")
    namespace: NonEmptyStr = Field(default="default", description="The service's namespace.")
    replicas: int = Field(ge=1, le=10_000, description="How many pods the service runs.")
    spread: Literal["zones", "pack"] = Field(
        default="zones",
        description="zones: spread evenly across zones; pack: fill the first zone first.",
    )
    reschedule: Duration = Field(
        default=1.0,
        description="From losing a pod to its replacement being scheduled on a node with room.",
    )
    startup: Duration = Field(default=5.0, description="From scheduling to ready.")
    min_ready: int = Field(
        default=1,
        ge=1,
        description="With fewer ready replicas than this, the service answers 503.",
    )
    pdb: LabPdb | None = Field(
        default=None, description="A PodDisruptionBudget that paces drains: exactly one field."
    )
    latency: Duration = Field(
        default=0.02,
        description="The answer time with every replica ready; it grows as replicas / ready.",
    )
    placement: dict[DnsLabel, Annotated[int, Field(ge=0)]] | None = Field(
        default=None,
        description="Where the first pods run: replicas per zone, summing to replicas. "
        "Replacements still follow spread. Default: as spread places them.",
    )
    unreachable_toleration: Duration = Field(
        default=DEFAULT_UNREACHABLE_TOLERATION,
        description="How long its pods tolerate node.kubernetes.io/unreachable before they are "
        "evicted from a node that stopped answering (plan --as power-cut).",
    )
    workload: Literal["Deployment", "StatefulSet", "ReplicaSet"] = Field(
        default="Deployment",
        description="What runs its pods. A StatefulSet's pods on a node that lost power stay "
        "Terminating, and down, until the node.kubernetes.io/out-of-service taint.",
    )


class LabSpec(FileModel):
    """Zones (in order: "pack" fills the first one first) and services."""

    zones: dict[DnsLabel, LabZone] = Field(
        min_length=1,
        description="The zones, in order. Each node carries zonedrill.io/power-zone=<zone> and "
        "topology.kubernetes.io/zone=<zone>.",
    )
    services: list[LabService] = Field(
        default_factory=list, description="The services that answer real HTTP on loopback."
    )


class Lab(FileModel):
    """A whole lab file."""

    api_version: Literal["zonedrill/v1"] = Field(description="Always zonedrill/v1.")
    kind: Literal["Lab"] = Field(description="Lab.")
    metadata: Metadata = Field(description="The lab's name, description and labels.")
    node_grace: Duration | None = Field(
        default=None,
        description="The node monitor grace period of the cluster the lab stands for: how long "
        "a node that stopped answering keeps its pods' endpoints (plan --as power-cut). "
        "Default: 50s, as from Kubernetes 1.32.",
    )
    node_eviction_rate: float = Field(
        default=0.1,
        gt=0,
        le=1000,
        description="Nodes per second the node controller taints for eviction in a zone wholly "
        "unreachable (the controller-manager's --node-eviction-rate): after a cut, the k-th "
        "node's pods are evicted k/rate seconds after the first's (plan --as power-cut).",
    )
    spec: LabSpec = Field(description="The lab's zones and services.")

    def grace(self, given: float | None = None) -> float:
        """The node monitor grace period: ``given`` (--node-grace), else nodeGrace, else 50s."""
        if given is not None:
            return given
        return self.node_grace if self.node_grace is not None else DEFAULT_NODE_GRACE

    def has_service(self, namespace: str, name: str) -> bool:
        """True when the lab runs a service of this namespace and name."""
        return any(s.namespace == namespace and s.name == name for s in self.spec.services)
