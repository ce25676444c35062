"""The Drill file (spec §1.1) as typed, frozen values."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, WithJsonSchema

from orchestrator.drill.http import HttpProbe
from orchestrator.drill.probe import ProbeBase
from orchestrator.drill.prometheus import PrometheusProbe
from orchestrator.drill.types import (
    DnsLabel,
    Duration,
    FileModel,
    Metadata,
    Percent,
    duration_bounds,
)

API_VERSION = "zonedrill/v1"
MAX_WEIGHT = 1e6
"""Weights are relative; a cap keeps their sum, and so the score, finite."""


class FaultMode(StrEnum):
    """What losing a zone does to its nodes."""

    CORDON = "cordon"
    DRAIN = "drain"
    POWER_LOSS = "power-loss"
    POWER_CUT = "power-cut"
    """What a real power cut does, simulated only (plan --simulate --as power-cut)."""


DRILL_MODES = (FaultMode.CORDON, FaultMode.DRAIN, FaultMode.POWER_LOSS)
"""The modes a drill file may name: a drill cannot cut a zone's power, only simulate it."""


def _drill_mode(mode: FaultMode) -> FaultMode:
    if mode not in DRILL_MODES:
        message = (
            f"{mode} is what plan --simulate --as {mode} predicts; a drill loses a zone by "
            f"{', '.join(DRILL_MODES)}"
        )
        raise ValueError(message)
    return mode


DrillMode = Annotated[
    FaultMode,
    AfterValidator(_drill_mode),
    WithJsonSchema({"type": "string", "enum": [str(m) for m in DRILL_MODES]}),
]


class ZoneSelector(FileModel):
    """A power zone: the node pool picked by these labels."""

    node_selector: dict[str, str] = Field(
        min_length=1,
        description="Node labels that pick the zone's nodes (all must match), e.g. "
        "{zonedrill.io/power-zone: pangyo}.",
    )


def _kind_of(value: Any) -> str | None:
    """The kind of a probe: its model's, or the one kind key a file's mapping has."""
    if isinstance(value, ProbeBase):
        return value.kind
    if isinstance(value, dict):
        keys = [tag for tag in PROBE_TAGS if tag in value]
        return keys[0] if len(keys) == 1 else None
    return None


PROBE_KINDS: tuple[type[ProbeBase], ...] = (HttpProbe, PrometheusProbe)
"""Every probe kind's model; a new kind is one entry here and one member of ``Probe``."""
PROBE_TAGS = sorted(kind.kind for kind in PROBE_KINDS)
"""The keys that name the probe kinds in a file."""
NO_PROBE_KIND = f"expected exactly one of the probe kinds: {', '.join(PROBE_TAGS)}"

Probe = Annotated[
    Annotated[HttpProbe, Tag(HttpProbe.kind)]
    | Annotated[PrometheusProbe, Tag(PrometheusProbe.kind)],
    Discriminator(
        _kind_of,
        custom_error_type="probe_kind",
        custom_error_message=NO_PROBE_KIND,
    ),
]
"""A probe of any kind, told apart by its kind's key (spec §1.1 v1.1)."""


class AnyOf(FileModel):
    """A zone picked at random at preflight, from these candidates."""

    any_of: list[DnsLabel] = Field(
        min_length=1,
        description="The candidate zones; one is picked from --seed (default: a fresh seed) and "
        "recorded in the result.",
    )


class SameAs(FileModel):
    """The zone an earlier lose step lost, whichever it was."""

    same_as: int = Field(
        ge=0, strict=True, description="The index of the earlier lose step whose zone this is."
    )


class UnpickedZoneError(RuntimeError):
    """A random step's zone was read before ``pick_zones`` chose it: a programming error."""


class Step(FileModel):
    """Lose or restore one zone at an offset from T0."""

    model_config = FileModel.model_config | {
        "json_schema_extra": {
            # Exactly one of lose and restore; a restore takes no mode (the rules say so too).
            "oneOf": [{"required": ["lose"]}, {"required": ["restore"]}],
            "not": {"required": ["restore", "mode"]},
        }
    }

    at: Duration = Field(
        description="When the step starts, counted from T0 (the start of the chaos phase); "
        "below duration, in time order."
    )
    name: DnsLabel | None = Field(default=None, description="An optional name for reports.")
    lose: str | AnyOf | None = Field(
        default=None,
        description="The zone this step loses, or {anyOf: [zones]} for one picked at random. "
        "Give exactly one of lose and restore.",
    )
    restore: str | SameAs | None = Field(
        default=None,
        description="The zone this step restores (it must have been lost), or {sameAs: N} for "
        "the zone step N lost.",
    )
    mode: DrillMode | None = Field(
        default=None,
        description="How a lose step loses its zone: cordon (no new pods), drain (cordon, then "
        "evict every pod, respecting PodDisruptionBudgets) or power-loss (cordon, taint, delete "
        "every pod at once). Default: power-loss.",
    )

    @property
    def zone(self) -> str:
        """The zone this step acts on, once random zones are picked (see drill.picks)."""
        named = self.lose if self.lose is not None else self.restore
        if not isinstance(named, str):
            raise UnpickedZoneError(f"the zone of {named!r} is not picked yet")
        return named

    @property
    def is_lose(self) -> bool:
        """True for a lose step, False for a restore."""
        return self.lose is not None

    @property
    def fault_mode(self) -> FaultMode:
        """The mode of a lose step; power-loss unless written otherwise."""
        return self.mode or FaultMode.POWER_LOSS


class Goal(FileModel):
    """Recovery goals for one probe; each field present is one scored check.

    An entry of the file's ``targets``: the contract's word for goals, kept in files and results.
    """

    model_config = FileModel.model_config | {
        "json_schema_extra": {
            # At least one check: a target that checks nothing scores nothing.
            "anyOf": [
                {"required": [key], "properties": {key: {"type": "string"}}}
                for key in ("rto", "availability", "p99Latency")
            ]
        }
    }

    probe: str = Field(description="The probe these goals score.")
    rto: Duration | None = Field(
        default=None,
        description="The longest recovery allowed after each lose step (a check per goal).",
    )
    availability: Percent | None = Field(
        default=None,
        description='The least share of passed samples in the chaos phase, e.g. "99.5%".',
    )
    p99_latency: Duration | None = Field(
        default=None,
        description="The highest 99th-percentile latency of passed samples in the chaos phase.",
    )
    weight: float = Field(
        default=1.0,
        gt=0,
        le=MAX_WEIGHT,
        allow_inf_nan=False,
        strict=True,
        description="Each check's weight in the score, relative to the others; above 0.",
    )


class StopIf(FileModel):
    """A guardrail: abort and restore when a probe keeps failing this long."""

    probe: str = Field(description="The probe watched by this guardrail.")
    failing_for: Duration = Field(
        json_schema_extra=duration_bounds(above_zero=True),
        description="Abort, restore everything and report aborted (exit 3) when the probe has "
        "failed without a pass for this long.",
    )


class Safety(FileModel):
    """Limits zonedrill checks before it touches anything."""

    max_node_fraction: float = Field(
        default=0.5,
        strict=True,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="Refuse a drill whose lost zones, together, hold more than this share of "
        "the cluster's nodes.",
    )
    exclude_namespaces: list[str] = Field(
        default_factory=lambda: ["kube-system"],
        description="Namespaces whose pods are never evicted or deleted. A list replaces the "
        "default: name kube-system too if you set it.",
    )


def _needs_targets(schema: dict[str, Any]) -> None:
    # The model defaults targets to [] so that a missing list is reported by the rules with
    # the drill's other problems; the schema says what validate requires.
    schema["required"] = [*schema.get("required", []), "targets"]


class DrillSpec(FileModel):
    """The scenario: zones, probes, timing, steps, targets and guardrails."""

    model_config = FileModel.model_config | {"json_schema_extra": _needs_targets}

    lab: str | None = Field(
        default=None,
        description="A lab file (relative to this drill) to run on with --target lab.",
    )
    zones: dict[DnsLabel, ZoneSelector] = Field(
        min_length=1, description="The power zones, by name: each a node pool picked by labels."
    )
    probes: list[Probe] = Field(
        description="The health probes sampled for the whole run; at least one.",
        json_schema_extra={"minItems": 1},
    )
    baseline: Duration = Field(
        default=10.0,
        description="The steady-state check before the first step: every probe must pass, "
        "else the run ends not-steady (exit 3) without touching anything.",
    )
    duration: Duration = Field(
        json_schema_extra=duration_bounds(above_zero=True),
        description="The length of the chaos phase, counted from T0 (its start); above 0.",
    )
    steps: list[Step] = Field(
        description="The zone losses and restores, in time order; at least one lose.",
        json_schema_extra={"minItems": 1},
    )
    targets: list[Goal] = Field(
        default_factory=list,
        description="What a passing recovery is: each field of each target is one scored "
        "check; at least one.",
        json_schema_extra={"minItems": 1},
    )
    stop_if: list[StopIf] = Field(
        default_factory=list, description="Guardrails that abort the drill early."
    )
    safety: Safety = Field(
        default_factory=Safety, description="Limits checked before anything is touched."
    )


class Drill(FileModel):
    """A whole drill file."""

    api_version: Literal["zonedrill/v1"] = Field(description="Always zonedrill/v1.")
    kind: Literal["Drill"] = Field(description="Drill.")
    metadata: Metadata = Field(description="The drill's name, description and labels.")
    spec: DrillSpec = Field(description="The scenario.")

    def probe(self, name: str) -> Probe:
        """The probe called ``name`` (validation guarantees it exists)."""
        return next(p for p in self.spec.probes if p.name == name)
