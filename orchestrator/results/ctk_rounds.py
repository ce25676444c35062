"""The rounds of a Chaos Toolkit run: what its samples must show, having no grid.

Chaos Toolkit asks the hypothesis' probes one after another, then sleeps its period, and skips
the rest of a round after a probe out of tolerance. So a Chaos Toolkit run's samples have no
grid for ``verify`` to hold them to, but they have rounds: the period it kept is measured from
them (and written into the drill as run), and no probe goes unasked for longer than a round
unless a probe asked before it was failing then. Samples cut out of an outage leave a hole that
neither explains.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator

from orchestrator.drill.model import Drill
from orchestrator.probes.samples import Sample
from orchestrator.results.document import ResultDoc

MIN_PERIOD = 0.05
FALLBACK_PERIOD = 1.0
"""Chaos Toolkit's default --hypothesis-frequency, when the samples are too few to measure."""
ROUND_SLACK = 1.0
"""Seconds a round may run over its period and its probes' timeouts: the threads Chaos Toolkit
starts and joins for each round, on a busy machine."""
PERIOD_PRECISION = 0.0005
"""The period is written rounded to the millisecond."""


def measured_period(samples: list[Sample], t0: float, chaos_end: float) -> float:
    """The longest median interval between a probe's samples in the chaos phase, in seconds."""
    periods = []
    for name in {s.probe for s in samples}:
        times = sorted(
            s.started for s in samples if s.probe == name and t0 <= s.started < chaos_end
        )
        gaps = [b - a for a, b in itertools.pairwise(times)]
        if gaps:
            periods.append(statistics.median(gaps))
    return round(max(max(periods, default=FALLBACK_PERIOD), MIN_PERIOD), 3)


def _asked(samples: list[Sample], name: str, t0: float, chaos_end: float) -> list[float]:
    """When ``name`` was asked in the chaos phase, in order."""
    return sorted(s.started for s in samples if s.probe == name and t0 <= s.started < chaos_end)


def round_length(drill: Drill) -> float:
    """The longest a round may take: the period, every probe timing out, and slack."""
    probes = drill.spec.probes
    return max(p.every for p in probes) + sum(p.timeout for p in probes) + ROUND_SLACK


def unexplained_gaps(
    drill: Drill, samples: list[Sample], t0: float, chaos_end: float
) -> Iterator[tuple[str, float, float]]:
    """Each (probe, from, to) in the chaos phase longer than a round, no earlier probe failing."""
    longest = round_length(drill)
    names = [p.name for p in drill.spec.probes]
    for position, name in enumerate(names):
        failing = [s.started for s in samples if s.probe in names[:position] and not s.passed]
        times = sorted(
            s.started for s in samples if s.probe == name and t0 <= s.started <= chaos_end
        )
        for start, end in itertools.pairwise([t0, *times, chaos_end]):
            if end - start > longest and not any(start < t < end for t in failing):
                yield name, start, end


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
    """No probe of a Chaos Toolkit run goes unasked longer than a round, unexplained."""
    if doc.runner != "chaostoolkit":
        return []
    t = doc.timeline
    return [
        f"samples: {name} unasked from {start:.3f} to {end:.3f} s, longer than a round "
        f"({round_length(doc.drill_spec):.2f} s) with no probe asked before it failing then"
        for name, start, end in unexplained_gaps(doc.drill_spec, samples, t.t0, t.chaos_end)
    ]
