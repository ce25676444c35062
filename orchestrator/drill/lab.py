"""The Lab file (spec §1.2): the embedded cluster's topology and services."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from orchestrator.drill.types import DnsLabel, Duration, FileModel, Metadata, NonEmptyStr

POWER_ZONE_LABEL = "zonedrill.io/power-zone"
TOPOLOGY_ZONE_LABEL = "topology.kubernetes.io/zone"


def lab_node_labels(zone: str) -> dict[str, str]:
    """The labels every lab node of ``zone`` carries (what a drill's nodeSelector can match)."""
    return {POWER_ZONE_LABEL: zone, TOPOLOGY_ZONE_LABEL: zone}


class LabZone(FileModel):
    """A power zone of the lab: how many nodes, and how many pods fit on each."""

    nodes: int = Field(ge=1, le=5000)
    pods_per_node: int = Field(default=110, ge=1, le=1000)


class LabPdb(FileModel):
    """A PodDisruptionBudget for a lab service: give exactly one field."""

    min_available: int | None = Field(default=None, ge=0)
    max_unavailable: int | None = Field(default=None, ge=0)


class LabService(FileModel):
    """A replicated service that answers real HTTP on loopback."""

    name: DnsLabel
    namespace: NonEmptyStr = "default"
    replicas: int = Field(ge=1, le=10_000)
    spread: Literal["zones", "pack"] = "zones"
    reschedule: Duration = 1.0
    startup: Duration = 5.0
    min_ready: int = Field(default=1, ge=1)
    pdb: LabPdb | None = None
    latency: Duration = 0.02


class LabSpec(FileModel):
    """Zones (in order: "pack" fills the first one first) and services."""

    zones: dict[DnsLabel, LabZone] = Field(min_length=1)
    services: list[LabService] = Field(default_factory=list)


class Lab(FileModel):
    """A whole lab file."""

    api_version: Literal["zonedrill/v1"]
    kind: Literal["Lab"]
    metadata: Metadata
    spec: LabSpec

    def has_service(self, namespace: str, name: str) -> bool:
        """True when the lab runs a service of this namespace and name."""
        return any(s.namespace == namespace and s.name == name for s in self.spec.services)
