"""What every probe kind shares (spec §1.1): a name, a period, and the contract a kind fills.

A probe kind is a model with one key of its own (``http:``, later ``prometheus:``) that says how
it asks. ``drill.model.Probe`` is the union of the kinds, told apart by that key; the rules,
``plan`` and the runner ask the kind, never which kind it is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Annotated, ClassVar

from pydantic import Field

from orchestrator.drill.types import DnsLabel, Duration, FileModel, NonEmptyStr, duration_bounds
from orchestrator.yamlfile import FieldPath

Finding = tuple[FieldPath, str]
"""A broken rule: where in the file (a field path) and what was expected."""

MAX_TIMEOUT = 30.0
"""Spec §1.1: a sample's timeout is at most 30s, whatever the kind."""
MIN_EVERY = 0.05
"""Seconds: the shortest sampling period."""
MIN_WHILE_FAILING = 0.02
"""Seconds: the shortest period of sampling while failing (spec §1.1 v1.1)."""


class ServiceRef(FileModel):
    """A Kubernetes Service (or lab service) by namespace, name and port."""

    namespace: NonEmptyStr = Field(description="The Service's namespace.")
    name: NonEmptyStr = Field(description="The Service's name.")
    port: Annotated[int, Field(ge=1, le=65535)] | NonEmptyStr = Field(
        default=80, description="The Service port, by number (1-65535) or by name."
    )


class ProbeBase(FileModel, ABC):
    """A probe of any kind, sampled on a fixed grid."""

    kind: ClassVar[str]
    """The key that names the kind in a drill file, and its entry in ``probes.kinds.KINDS``."""
    measures_latency: ClassVar[bool] = True
    """False for kinds whose answer time is not the service's (p99Latency targets refused)."""
    simulated: ClassVar[bool] = True
    """False for kinds a lab cannot answer in ``plan --simulate`` (left out of predictions)."""

    name: DnsLabel = Field(description="The probe's name (a DNS-1123 label), unique.")
    every: Duration = Field(
        default=1.0,
        json_schema_extra=duration_bounds(at_least=MIN_EVERY),
        description="The sampling period, at least 50ms; samples are due on a fixed grid. "
        "every x 10 must fit in duration.",
    )
    while_failing: Duration | None = Field(
        default=None,
        json_schema_extra=duration_bounds(at_least=MIN_WHILE_FAILING),
        description="After a failed sample, also sample this often (at least 20ms, less than "
        "every) until a sample passes, then only on the every grid again: RTO to this "
        "precision.",
    )

    @property
    @abstractmethod
    def timeout(self) -> float:
        """How long one sample may take before it fails as a timeout."""

    @abstractmethod
    def service(self) -> tuple[FieldPath, ServiceRef] | None:
        """The Service the probe asks, with where the file names it (from the probe); or None."""

    @abstractmethod
    def describe(self) -> str:
        """Where and how the probe asks, in a line of ``plan``."""

    @abstractmethod
    def could_pass(self, status: int, latency: float) -> bool:
        """Whether an answer with this status and latency may be a passing sample (verify)."""

    @abstractmethod
    def findings(self) -> Iterator[Finding]:
        """The kind's own rules the probe breaks, with field paths from the probe."""
