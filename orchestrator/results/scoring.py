"""Figures and score of a drill (spec §3), derived only from raw samples.

All times are seconds on the run's monotonic clock, as stored in the samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from orchestrator.drill.model import Goal
from orchestrator.probes.samples import Sample, due, in_range

RecoveredBy = Literal["failover", "restore"]


@dataclass(frozen=True)
class LoseWindow:
    """The RTO window of one lose step: from its start to the next lose step or chaos end."""

    step: int
    zone: str
    start: float
    end: float
    restored_at: float | None


@dataclass(frozen=True)
class Recovery:
    """The RTO of one lose step for one probe."""

    step: int
    zone: str
    seconds: float | None
    recovered_by: RecoveredBy | None


@dataclass(frozen=True)
class ProbeFigures:
    """What one probe saw during the chaos phase."""

    name: str
    samples: int
    passed: int
    due: int
    availability: float | None
    downtime: float
    p50: float | None
    p95: float | None
    p99: float | None
    recoveries: tuple[Recovery, ...]

    @property
    def worst_rto(self) -> float | None:
        """The largest RTO over lose steps; None when any step never recovered."""
        values = [r.seconds for r in self.recoveries]
        if any(v is None for v in values):
            return None
        return max((v for v in values if v is not None), default=0.0)


@dataclass(frozen=True)
class Check:
    """One scored check: a target field against what was observed."""

    probe: str
    metric: Literal["rto", "availability", "p99Latency"]
    target: float
    observed: float | None
    credit: float
    weight: float

    @property
    def passed(self) -> bool:
        """A check passes with full credit only."""
        return self.credit >= 1.0


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile of ``values`` (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100.0 * len(ordered)))
    return ordered[rank - 1]


def in_window(samples: Sequence[Sample], start: float, end: float) -> list[Sample]:
    """Samples scheduled in [start, end), in the order they were due (both grids merged)."""
    inside = (s for s in samples if in_range(s.scheduled, start, end))
    return sorted(inside, key=lambda s: (s.scheduled, s.index, s.burst or 0))


def recovery(window: LoseWindow, samples: Sequence[Sample]) -> Recovery:
    """RTO of one lose step: time to the first sample of the window's final passing run."""
    inside = in_window(samples, window.start, window.end)
    if all(s.passed for s in inside):
        return Recovery(window.step, window.zone, 0.0, "failover")
    if not inside[-1].passed:
        return Recovery(window.step, window.zone, None, None)
    first_of_final_run = inside[-1]
    for sample in reversed(inside):
        if not sample.passed:
            break
        first_of_final_run = sample
    back_at = first_of_final_run.scheduled
    restored = window.restored_at is not None and window.restored_at <= back_at
    return Recovery(
        window.step,
        window.zone,
        max(0.0, back_at - window.start),
        "restore" if restored else "failover",
    )


def probe_figures(
    name: str,
    every: float,
    samples: Sequence[Sample],
    *,
    t0: float,
    end: float,
    windows: Sequence[LoseWindow],
    first: float,
    weighted: bool = False,
) -> ProbeFigures:
    """Availability, downtime, latency percentiles and RTOs of one probe over [t0, end).

    ``first`` is the probe's first grid point, from which the samples due in [t0, end) follow.
    ``samples`` and ``passed`` count the every grid (the evidence due is counted on it);
    availability and downtime are ``weighted`` by time when the probe samples while failing.
    """
    chaos = in_window(samples, t0, end)
    grid = [s for s in chaos if s.burst is None]
    passed = [s for s in grid if s.passed]
    latencies = [s.latency for s in chaos if s.passed and s.latency is not None]
    availability = 100.0 * len(passed) / len(grid) if grid else None
    downtime = (len(grid) - len(passed)) * every
    if weighted:
        availability, downtime = time_weighted(chaos, t0, end)
    return ProbeFigures(
        name=name,
        samples=len(grid),
        passed=len(passed),
        due=due(first, every, start=t0, end=end),
        availability=availability,
        downtime=downtime,
        p50=nearest_rank(latencies, 50),
        p95=nearest_rank(latencies, 95),
        p99=nearest_rank(latencies, 99),
        recoveries=tuple(
            recovery(w, samples) for w in windows if in_window(samples, w.start, w.end)
        ),
    )


def time_weighted(chaos: Sequence[Sample], t0: float, end: float) -> tuple[float | None, float]:
    """Availability and downtime when each sample stands for the time until the next is due.

    Spec §3 v1.1: the first sample also stands for [t0, its start), the last one to ``end``;
    ``chaos`` is in the order the samples were due.
    """
    if not chaos or end <= t0:
        return None, 0.0
    starts = [t0, *(s.scheduled for s in chaos[1:])]
    ends = [*starts[1:], end]
    failing = sum(
        later - start for s, start, later in zip(chaos, starts, ends, strict=True) if not s.passed
    )
    failing = min(max(failing, 0.0), end - t0)
    return 100.0 * (1.0 - failing / (end - t0)), failing


def upper_bound_credit(observed: float | None, target: float) -> float:
    """Credit of an upper bound: 1 within target, falling linearly to 0 at twice the target."""
    if observed is None:
        return 0.0
    if observed <= target:
        return 1.0
    if target <= 0:
        return 0.0
    return max(0.0, 2.0 - observed / target)


def availability_credit(observed: float | None, target: float) -> float:
    """Credit of an availability target by error budget: 1 within budget, 0 at twice it."""
    if observed is None:
        return 0.0
    budget, used = 100.0 - target, 100.0 - observed
    if used <= budget + 1e-9:
        return 1.0
    if budget <= 0:
        return 0.0
    return max(0.0, 2.0 - used / budget)


def score(checks: Sequence[Check]) -> float | None:
    """100 x weighted mean credit, rounded half-up to one decimal; None without checks."""
    total_weight = sum(c.weight for c in checks)
    if not checks or total_weight <= 0:
        return None
    raw = 100.0 * sum(c.weight * c.credit for c in checks) / total_weight
    return float(Decimal(repr(raw)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def build_checks(goals: Sequence[Goal], figures: Mapping[str, ProbeFigures]) -> list[Check]:
    """One check per goal field present, in file order."""
    checks = []
    for goal in goals:
        seen = figures[goal.probe]
        if goal.rto is not None:
            rto = seen.worst_rto
            checks.append(
                Check(
                    goal.probe,
                    "rto",
                    goal.rto,
                    rto,
                    upper_bound_credit(rto, goal.rto),
                    goal.weight,
                )
            )
        if goal.availability is not None:
            checks.append(
                Check(
                    goal.probe,
                    "availability",
                    goal.availability,
                    seen.availability,
                    availability_credit(seen.availability, goal.availability),
                    goal.weight,
                )
            )
        if goal.p99_latency is not None:
            checks.append(
                Check(
                    goal.probe,
                    "p99Latency",
                    goal.p99_latency,
                    seen.p99,
                    upper_bound_credit(seen.p99, goal.p99_latency),
                    goal.weight,
                )
            )
    return checks
