"""The result document (spec §4): one model, for writing ``result.json`` and for reading it back.

The model is strict and checks that a result is self-consistent, so a forged or damaged result is
refused wherever it is read (report, gate, history, verify): numbers are finite, times carry a
zone and do not run backwards, the score is in [0, 100] and agrees with the checks, and a
``passed`` run has checks and probes and every check passed. Fields zonedrill may add later are
ignored by older readers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from orchestrator.drill.model import MAX_WEIGHT, Drill
from orchestrator.outcomes import Outcome

SCORE_SLACK = 0.1
"""Credits are stored to four places; the score they give back may differ by this much."""


class ResultModel(BaseModel):
    """camelCase keys, strict types (``"100"`` is not a number), finite numbers only."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        strict=True,
        allow_inf_nan=False,
    )


Seconds = float


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plausible(moment: datetime) -> datetime:
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("a time that cannot be expressed in UTC") from None
    if not FIRST_YEAR <= utc.year <= LAST_YEAR:
        raise ValueError(f"a time in the year {utc.year}: expected {FIRST_YEAR} to {LAST_YEAR}")
    return moment


FIRST_YEAR, LAST_YEAR = 2000, 9998
Stamp = Annotated[
    AwareDatetime, AfterValidator(_plausible), PlainSerializer(_stamp, when_used="json")
]
"""RFC 3339 UTC with milliseconds; a time without a zone, or out of any run's reach, is refused."""
Metric = Literal["rto", "availability", "p99Latency"]


class CheckDoc(ResultModel):
    """One scored check."""

    probe: str
    metric: Metric
    target: float
    observed: float | None
    credit: float = Field(ge=0, le=1)
    weight: float = Field(gt=0, le=MAX_WEIGHT)
    passed: bool

    @model_validator(mode="after")
    def _agrees(self) -> Self:
        if self.passed != (self.credit >= 1):
            raise ValueError(f"passed is {self.passed} with credit {self.credit}")
        return self


class RtoDoc(ResultModel):
    """A probe's recovery after one lose step."""

    step: int
    zone: str
    seconds: Seconds | None = Field(ge=0)
    recovered_by: Literal["failover", "restore"] | None = None


class LatencyDoc(ResultModel):
    """Nearest-rank latency percentiles over passed samples, in seconds."""

    p50: Seconds | None = Field(default=None, ge=0)
    p95: Seconds | None = Field(default=None, ge=0)
    p99: Seconds | None = Field(default=None, ge=0)


class ProbeDoc(ResultModel):
    """A probe's figures over the chaos phase; ``due`` is how many samples the grid scheduled."""

    name: str
    samples: int = Field(ge=0)
    passed: int = Field(ge=0)
    due: int = Field(ge=0)
    availability: float | None = Field(ge=0, le=100)
    downtime: Seconds | None = Field(ge=0)
    latency: LatencyDoc
    rto: list[RtoDoc]
    every: Seconds = Field(gt=0)
    timeout: Seconds = Field(gt=0)

    @model_validator(mode="after")
    def _counts(self) -> Self:
        if self.passed > self.samples:
            raise ValueError(f"{self.passed} passed of {self.samples} samples")
        return self


class StepDoc(ResultModel):
    """A lose or restore step as it happened; ``offset`` is seconds after T0."""

    index: int | None
    action: Literal["lose", "restore"]
    zone: str
    mode: str | None = None
    nodes: list[str] = []
    pods_deleted: int = Field(default=0, ge=0)
    pods_evicted: int = Field(default=0, ge=0)
    evictions_blocked: int = Field(default=0, ge=0)
    started_at: Stamp | None = None
    ended_at: Stamp | None = None
    offset: Seconds | None = None
    note: str = ""
    picked_from: list[str] = []
    """The candidates of a random lose step (``anyOf``); ``zone`` is the one picked."""


class ClusterDoc(ResultModel):
    """The cluster a run touched, as the target names it."""

    identity: str = Field(min_length=1)
    """``kube/<API server URL>`` or ``lab/<lab name>``: where journals and the lock are kept."""
    uid: str | None = None
    """kube-system's UID: tells apart two clusters behind one address. None for a lab."""

    def shown(self) -> str:
        """``kube/https://10.0.0.1:6443 (kube-system 5b1f…)`` or ``lab/pangyo``."""
        return self.identity + (f" (kube-system {self.uid})" if self.uid else "")

    def matches(self, wanted: str) -> bool:
        """``wanted`` names this cluster: its uid, or its identity with or without the target.

        The history's query (``history.Place``) applies the same rule in SQL.
        """
        return wanted in (self.uid, self.identity, self.identity.partition("/")[2])


class TimelineDoc(ResultModel):
    """Phase boundaries in seconds on the samples' clock (full precision, for verify)."""

    baseline_start: Seconds
    baseline_end: Seconds
    t0: Seconds
    chaos_end: Seconds
    figures_end: Seconds


class ResultDoc(ResultModel):
    """A DrillResult (spec §4) with zonedrill's additions."""

    api_version: Literal["zonedrill/v1"]
    kind: Literal["DrillResult"]
    run_id: str = Field(min_length=1)
    drill: str
    description: str = ""
    target: str
    started_at: Stamp
    ended_at: Stamp
    outcome: Outcome
    reason: str | None = None
    score: float | None = Field(ge=0, le=100)
    checks: list[CheckDoc]
    probes: list[ProbeDoc]
    steps: list[StepDoc]
    restored: bool
    risks: list[str] = []
    seed: int | None = None
    """The seed that picked the random zones (spec §1.1); null when the drill has none."""
    cluster: ClusterDoc | None = None
    """The cluster the run touched; None when it never reached one (then its outcome is error)."""
    runner: Literal["zonedrill", "chaostoolkit"] = "zonedrill"
    """What sampled the probes: zonedrill's own grid, or a Chaos Toolkit run's hypothesis."""
    limits: list[str] = []
    """Figures the runner's sampling limits, in words (a Chaos Toolkit run's RTO resolution)."""
    predicted: bool = False
    """A prediction of ``zonedrill plan --simulate``, in virtual time: never read as a run."""
    timeline: TimelineDoc
    samples_file: Literal["samples.jsonl"] = "samples.jsonl"
    samples_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    drill_spec: Drill
    zonedrill_version: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = [check(self) for check in CONSISTENCY]
        found = [p for p in problems if p]
        if found:
            raise ValueError("; ".join(found))
        return self


def _times(doc: ResultDoc) -> str:
    return "endedAt is before startedAt" if doc.ended_at < doc.started_at else ""


def _score_scope(doc: ResultDoc) -> str:
    if not doc.outcome.scored and doc.score is not None:
        return f"score {doc.score} with outcome {doc.outcome}, which is never scored"
    if doc.outcome.scored and doc.checks and doc.score is None:
        return f"no score with outcome {doc.outcome} and checks"
    return ""


def _score_agrees(doc: ResultDoc) -> str:
    weight = sum(c.weight for c in doc.checks)
    if doc.score is None or not doc.checks:
        return ""
    expected = 100 * sum(c.weight * c.credit for c in doc.checks) / weight
    if abs(expected - doc.score) > SCORE_SLACK:
        return f"score {doc.score} does not follow from the checks ({expected:.1f})"
    return ""


def expected_checks(drill: Drill) -> list[tuple[str, str]]:
    """(probe, metric) of every check the drill's targets ask for, in the order they are made."""
    fields = (("rto", "rto"), ("availability", "availability"), ("p99_latency", "p99Latency"))
    return [
        (target.probe, metric)
        for target in drill.spec.targets
        for field, metric in fields
        if getattr(target, field) is not None
    ]


def _checks_follow_targets(doc: ResultDoc) -> str:
    made = [(c.probe, c.metric) for c in doc.checks]
    wanted = expected_checks(doc.drill_spec)
    graded = doc.outcome in (Outcome.PASSED, Outcome.FAILED)
    if (made or graded) and made != wanted:
        return f"the checks {made} are not the ones the drill's targets ask for {wanted}"
    return ""


def _probes_follow_drill(doc: ResultDoc) -> str:
    made = [p.name for p in doc.probes]
    wanted = [p.name for p in doc.drill_spec.spec.probes]
    return "" if made == wanted else f"the probes {made} are not the drill's {wanted}"


def _passed_has_evidence(doc: ResultDoc) -> str:
    if doc.outcome is not Outcome.PASSED:
        return ""
    if not doc.checks or not doc.probes:
        return "passed with no checks or no probes"
    failed = [f"{c.probe} {c.metric}" for c in doc.checks if not c.passed]
    return "passed with failed checks: " + ", ".join(failed) if failed else ""


def short_of_evidence(recorded: int, due: int) -> bool:
    """Spec §3, no evidence, no pass: fewer than half the due samples were recorded."""
    return 2 * recorded < due


def _enough_samples(doc: ResultDoc) -> str:
    if not doc.checks or doc.outcome is Outcome.ERROR:
        return ""
    short = [p.name for p in doc.probes if short_of_evidence(p.samples, p.due)]
    return f"scored with fewer than half the due samples of {short}" if short else ""


TIMELINE_SLACK = 1e-6


def _timeline_follows_drill(doc: ResultDoc) -> str:
    t, spec = doc.timeline, doc.drill_spec.spec
    settle = max((p.timeout for p in spec.probes), default=0.0)  # no probe: refused elsewhere
    spans = (
        ("baselineEnd - baselineStart", t.baseline_end - t.baseline_start, spec.baseline),
        ("t0 - baselineEnd", t.t0 - t.baseline_end, settle),
        ("chaosEnd - t0", t.chaos_end - t.t0, spec.duration),
    )
    wrong = [
        f"{name} is {found:g}s, the drill says {wanted:g}s"
        for name, found, wanted in spans
        if abs(found - wanted) > TIMELINE_SLACK * max(1.0, wanted)
    ]
    if not t.baseline_start <= t.figures_end <= t.chaos_end + TIMELINE_SLACK:
        wrong.append("figuresEnd is outside the run")
    return "; ".join(wrong)


CONSISTENCY = (
    _times,
    _score_scope,
    _score_agrees,
    _checks_follow_targets,
    _probes_follow_drill,
    _passed_has_evidence,
    _enough_samples,
    _timeline_follows_drill,
)
