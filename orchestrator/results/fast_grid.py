"""``verify`` of the second grid: samples taken while failing (spec §1.1 and §3, v1.1).

A probe with ``whileFailing`` stands each sample for the time until the next one is due, so a
passing sample slipped into an outage, or failing ones left out, would buy availability and a
shorter RTO. What the runner does is checked here: a fast grid follows a failed sample of the
every grid, its points run without a hole from where it was joined, it was joined no later than
that failure could be known, and it ends only at a pass (or the end of the phase).
"""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.outcomes import Outcome
from orchestrator.probes.samples import GRID_TOLERANCE, Sample
from orchestrator.results.document import ResultDoc

LOOP_SLACK = 0.5
"""Seconds the event loop may take to act on an answer (as verify allows a step's start)."""


def fast_grid_follows(doc: ResultDoc, samples: list[Sample]) -> list[str]:
    """Every fast grid where the runner would have run it, and nowhere else."""
    if doc.runner == "chaostoolkit":
        return []
    found: list[str] = []
    graded = doc.outcome in (Outcome.PASSED, Outcome.FAILED)
    for probe in doc.drill_spec.spec.probes:
        mine = [s for s in samples if s.probe == probe.name]
        bursts = _bursts(mine)
        if bursts and probe.while_failing is None:
            found.append(f"samples: {probe.name} has fast-grid samples but no whileFailing")
            continue
        grid = {s.index: s for s in mine if s.burst is None}
        fast = probe.while_failing or 0.0
        for index, taken in bursts.items():
            where = f"{probe.name}[{index}]"
            faults = _burst_faults(grid.get(index), taken, probe.timeout + fast, whole=graded)
            found += [f"samples: {where}: {why}" for why in faults]
            if graded:
                found += _ends_at_a_pass(doc, fast, where, mine, taken)
    return found


def _bursts(samples: list[Sample]) -> dict[int, list[Sample]]:
    """The fast-grid samples by the every-grid sample that started them, in burst order."""
    found: dict[int, list[Sample]] = {}
    for sample in sorted(samples, key=lambda s: (s.index, s.burst or 0)):
        if sample.burst is not None:
            found.setdefault(sample.index, []).append(sample)
    return found


def _burst_faults(
    anchor: Sample | None, taken: list[Sample], within: float, *, whole: bool
) -> Iterator[str]:
    """What is wrong with one fast grid; ``within``: the timeout and one fast period.

    ``whole``: the run went to its end (passed or failed), so its fast grids have no holes; an
    abort or an error cancels them mid-way.
    """
    if anchor is None or anchor.passed:
        yield "a fast grid follows a sample that did not fail"
        return
    numbers = [s.burst or 0 for s in taken]
    if whole and numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        yield f"the fast grid has holes (points {numbers[:5]}…)"
    # Joined at the first point not yet past when the failure was known: by its timeout, so
    # the first point is at most one fast period after that.
    known_by = anchor.started - anchor.scheduled + within
    if taken[0].scheduled - anchor.scheduled > known_by + LOOP_SLACK:
        yield f"the fast grid starts at point {numbers[0]}, later than the failure was known"


def _ends_at_a_pass(
    doc: ResultDoc, every: float, where: str, mine: list[Sample], taken: list[Sample]
) -> list[str]:
    """The fast grid runs until a pass due after its start is answered, or the phase ends."""
    anchor_at = taken[0].scheduled - (taken[0].burst or 0) * every
    passes = [
        s.started + (s.latency or 0.0)
        for s in mine
        if s.passed and s.scheduled > anchor_at + GRID_TOLERANCE
    ]
    passed_at = min(passes, default=float("inf"))
    last = taken[-1].scheduled
    found = []
    if last > passed_at + LOOP_SLACK:
        found.append(f"samples: {where}: the fast grid runs on after a pass was answered")
    next_point = last + every
    ended = next_point >= doc.timeline.figures_end - GRID_TOLERANCE
    if not ended and passed_at > next_point + LOOP_SLACK:
        found.append(f"samples: {where}: the fast grid stops before a pass or the phase's end")
    return found
