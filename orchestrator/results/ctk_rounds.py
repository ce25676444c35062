"""The rounds of a Chaos Toolkit run: what its samples must show, having no grid.

Chaos Toolkit asks the hypothesis' probes one after another, then sleeps its period, and skips
the rest of a round after a probe out of tolerance. So a Chaos Toolkit run's samples have no
grid for ``verify`` to hold them to, but they have rounds: the period it kept is measured from
them (and written into the drill as run), and a probe unasked for longer than a round is a
probe without evidence for that time, whatever the reason (skipped behind a failing probe, or
samples cut out of an outage). No evidence, no pass: such a run is scored ``error``, and a
graded Chaos Toolkit run with such a hole does not verify. The round is measured from the
samples too, never taken from the drill's timeouts, which a forger could raise.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass

from orchestrator.drill.model import Drill
from orchestrator.outcomes import Outcome
from orchestrator.probes.samples import Sample
from orchestrator.results.document import ResultDoc

MIN_PERIOD = 0.05
FALLBACK_PERIOD = 1.0
"""Chaos Toolkit's default --hypothesis-frequency, when the samples are too few to measure."""
ROUND_SLACK = 1.0
"""Seconds a round may run over its period: the threads Chaos Toolkit starts and joins for each
round, and a probe answering slowly, on a busy machine."""
ROUNDS_MISSED = 2
"""Periods a probe may go unasked before the time between is a hole: one round late."""
PERIOD_PRECISION = 0.0005
"""The period is written rounded to the millisecond."""


def measured_period(samples: list[Sample], t0: float, chaos_end: float) -> float:
    """The longest median interval between a probe's samples in the chaos phase, in seconds."""
    periods = []
    for name in {s.probe for s in samples}:
        gaps = [b - a for a, b in itertools.pairwise(_asked(samples, name, t0, chaos_end))]
        if gaps:
            periods.append(statistics.median(gaps))
    return round(max(max(periods, default=FALLBACK_PERIOD), MIN_PERIOD), 3)


def _asked(samples: list[Sample], name: str, t0: float, chaos_end: float) -> list[float]:
    """When ``name`` was asked in the chaos phase, in order."""
    return sorted(s.started for s in samples if s.probe == name and t0 <= s.started < chaos_end)


def round_length(period: float) -> float:
    """The longest a probe may go unasked in a run that kept ``period``."""
    return ROUNDS_MISSED * period + ROUND_SLACK


def holes(
    drill: Drill, samples: list[Sample], t0: float, chaos_end: float
) -> tuple[list[Hole], float]:
    """The holes in the evidence, and the length of a round they are held to.

    Each is a time in the chaos phase that a probe a target judges went unasked for longer
    than a round.
    """
    longest = round_length(measured_period(samples, t0, chaos_end))
    judged = sorted({t.probe for t in drill.spec.targets})
    return [
        Hole(name, start, end)
        for name in judged
        for start, end in itertools.pairwise([t0, *_asked(samples, name, t0, chaos_end), chaos_end])
        if end - start > longest
    ], longest


@dataclass(frozen=True)
class Hole:
    """A probe unasked from ``start`` to ``end`` (seconds on the run's clock)."""

    probe: str
    start: float
    end: float

    def __str__(self) -> str:
        return f"{self.probe} unasked from {self.start:.3f} to {self.end:.3f} s"


def unscorable(drill: Drill, samples: list[Sample], t0: float, chaos_end: float) -> str:
    """Why a Chaos Toolkit run cannot be scored for want of evidence; empty when it can."""
    found, longest = holes(drill, samples, t0, chaos_end)
    if not found:
        return ""
    return (
        f"no evidence: {'; '.join(map(str, found))}, longer than a round ({longest:.2f} s). "
        "Chaos Toolkit skips the probes after one out of tolerance: list the probe likely to "
        "fail last (an export asks them in the drill's order), or run the drill with "
        "zonedrill run"
    )


def period_follows(doc: ResultDoc, samples: list[Sample]) -> list[str]:
    """A Chaos Toolkit run's drill as run has each probe's period, and its baseline, measured."""
    if doc.runner != "chaostoolkit":
        return []
    t = doc.timeline
    period = measured_period(samples, t.t0, t.chaos_end)
    spec = doc.drill_spec.spec
    stored = [(f"drillSpec.spec.probes[{i}].every", p.every) for i, p in enumerate(spec.probes)]
    stored.append(("drillSpec.spec.baseline", spec.baseline))
    return [
        f"{field}: stored {value!r}, the samples' period is {period!r}"
        for field, value in stored
        if abs(value - period) > PERIOD_PRECISION
    ]


def no_holes(doc: ResultDoc, samples: list[Sample]) -> list[str]:
    """A graded Chaos Toolkit run has evidence all through: no probe judged went unasked."""
    if doc.runner != "chaostoolkit" or doc.outcome not in (Outcome.PASSED, Outcome.FAILED):
        return []
    t = doc.timeline
    found, longest = holes(doc.drill_spec, samples, t.t0, t.chaos_end)
    return [
        f"samples: {hole}, longer than a round ({longest:.2f} s), in a graded run" for hole in found
    ]


def steps_as_run(doc: ResultDoc, _: list[Sample]) -> list[str]:
    """A Chaos Toolkit run's drill as run takes each step when the run's steps say it was taken."""
    if doc.runner != "chaostoolkit":
        return []
    taken = [s for s in doc.steps if s.index is not None]
    planned = doc.drill_spec.spec.steps
    if len(taken) != len(planned):
        return [f"steps: {len(taken)} taken, the drill as run has {len(planned)}"]
    return [
        f"steps[{i}].offset: {step.offset!r}, the drill as run takes it at {plan.at!r}"
        for i, (step, plan) in enumerate(zip(taken, planned, strict=True))
        if step.offset is None or abs(step.offset - plan.at) > PERIOD_PRECISION
    ]
