"""The Drill file (spec §1.1) as typed, frozen values."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator

from orchestrator.drill.types import DnsLabel, Duration, FileModel, Metadata, NonEmptyStr, Percent

API_VERSION = "zonedrill/v1"
MAX_WEIGHT = 1e6
"""Weights are relative; a cap keeps their sum, and so the score, finite."""
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
DEFAULT_TIMEOUT_CAP = 2.0
HTTP_SUCCESS_CLASS = 2


class FaultMode(StrEnum):
    """What losing a zone does to its nodes."""

    CORDON = "cordon"
    DRAIN = "drain"
    POWER_LOSS = "power-loss"


class ZoneSelector(FileModel):
    """A power zone: the node pool picked by these labels."""

    node_selector: dict[str, str] = Field(min_length=1)


class ServiceRef(FileModel):
    """A Kubernetes Service (or lab service) by namespace, name and port."""

    namespace: NonEmptyStr
    name: NonEmptyStr
    port: Annotated[int, Field(ge=1, le=65535)] | NonEmptyStr = 80


class HttpCheck(FileModel):
    """Where and how one probe asks."""

    url: str | None = None
    service: ServiceRef | None = None
    path: str = Field(default="/", pattern=r"^/[\x21-\x7e]*$")
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration | None = None

    @field_validator("headers")
    @classmethod
    def _sendable(cls, headers: dict[str, str]) -> dict[str, str]:
        # A header that cannot go on the wire would fail every sample for a reason the drill
        # author can fix now; refuse it here instead.
        for name, value in headers.items():
            if not HEADER_NAME.fullmatch(name):
                raise ValueError(f"header name {name!r} is not an HTTP token (letters, digits, -)")
            if not HEADER_VALUE.fullmatch(value):
                raise ValueError(
                    f"the value of header {name} must be printable ASCII without CR or LF"
                )
        return headers


class Expect(FileModel):
    """What a passing answer looks like."""

    status: list[int] | None = None
    body_contains: str | None = None
    max_latency: Duration | None = None

    def status_ok(self, code: int) -> bool:
        """Any 2xx unless a status list is given."""
        return code in self.status if self.status else code // 100 == HTTP_SUCCESS_CLASS


class Probe(FileModel):
    """One HTTP health probe, sampled on a fixed grid."""

    name: DnsLabel
    http: HttpCheck
    every: Duration = 1.0
    expect: Expect = Field(default_factory=Expect)

    @property
    def timeout(self) -> float:
        """The per-sample timeout: as written, else min(every, 2s)."""
        if self.http.timeout is not None:
            return self.http.timeout
        return min(self.every, DEFAULT_TIMEOUT_CAP)


class Step(FileModel):
    """Lose or restore one zone at an offset from T0."""

    at: Duration
    name: DnsLabel | None = None
    lose: str | None = None
    restore: str | None = None
    mode: FaultMode | None = None

    @property
    def zone(self) -> str:
        """The zone this step acts on."""
        return self.lose if self.lose is not None else (self.restore or "")

    @property
    def fault_mode(self) -> FaultMode:
        """The mode of a lose step; power-loss unless written otherwise."""
        return self.mode or FaultMode.POWER_LOSS


class Target(FileModel):
    """Recovery targets for one probe; each field present is one scored check."""

    probe: str
    rto: Duration | None = None
    availability: Percent | None = None
    p99_latency: Duration | None = None
    weight: float = Field(default=1.0, gt=0, le=MAX_WEIGHT, allow_inf_nan=False, strict=True)


class StopIf(FileModel):
    """A guardrail: abort and restore when a probe keeps failing this long."""

    probe: str
    failing_for: Duration


class Safety(FileModel):
    """Limits zonedrill checks before it touches anything."""

    max_node_fraction: float = Field(default=0.5, gt=0, le=1, allow_inf_nan=False)
    exclude_namespaces: list[str] = Field(default_factory=lambda: ["kube-system"])


class DrillSpec(FileModel):
    """The scenario: zones, probes, timing, steps, targets and guardrails."""

    lab: str | None = None
    zones: dict[DnsLabel, ZoneSelector] = Field(min_length=1)
    probes: list[Probe]
    baseline: Duration = 10.0
    duration: Duration
    steps: list[Step]
    targets: list[Target] = Field(default_factory=list)
    stop_if: list[StopIf] = Field(default_factory=list)
    safety: Safety = Field(default_factory=Safety)


class Drill(FileModel):
    """A whole drill file."""

    api_version: Literal["zonedrill/v1"]
    kind: Literal["Drill"]
    metadata: Metadata
    spec: DrillSpec

    def probe(self, name: str) -> Probe:
        """The probe called ``name`` (validation guarantees it exists)."""
        return next(p for p in self.spec.probes if p.name == name)
