"""The geometry of a probe's timeline chart, computed from the raw samples.

Samples are grouped into at most ``columns`` buckets for drawing only: a 1-hour drill at 100 ms
has 36,000 samples per probe and a browser should not draw each. A bucket with any failed sample
is drawn failed, so no outage disappears at any zoom. Every figure printed in a report comes from
the result document, never from these buckets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from orchestrator.probes.samples import Sample
from orchestrator.results.document import ProbeDoc
from orchestrator.results.numbers import seconds
from orchestrator.results.report.document import FinishedRun

WIDTH, LEFT, RIGHT = 960.0, 56.0, 16.0
BAND_TOP, BAND_HEIGHT = 36.0, 18.0
PLOT_TOP, PLOT_HEIGHT = 64.0, 90.0
LABEL_ROWS, LABEL_ROOM = (12.0, 26.0), 90.0
HEIGHT = PLOT_TOP + PLOT_HEIGHT + 24.0
MAX_COLUMNS = 480


@dataclass(frozen=True)
class Bucket:
    """Samples scheduled in [start, end)."""

    start: float
    end: float
    samples: int
    failed: int
    slowest: float | None


@dataclass(frozen=True)
class Mark:
    """A vertical marker (step, abort) at ``x`` with a label."""

    x: float
    label: str
    kind: str
    label_y: float = LABEL_ROWS[0]


@dataclass(frozen=True)
class Span:
    """A shaded recovery interval from ``x`` to ``x + width``."""

    x: float
    width: float
    label: str


@dataclass
class Chart:
    """Everything the template needs to draw one probe."""

    probe: ProbeDoc
    rects: list[tuple[float, float, str]] = field(default_factory=list)  # x, width, css class
    latency_lines: list[str] = field(default_factory=list)
    """The latency line's pieces: it breaks where no sample passed, never dips to a failure's."""
    latency_ceiling: float = 0.0
    marks: list[Mark] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)


def buckets(samples: Sequence[Sample], *, start: float, end: float, columns: int) -> list[Bucket]:
    """Group samples by scheduled time into ``columns`` equal buckets over [start, end)."""
    width = (end - start) / columns
    counts = [[0, 0] for _ in range(columns)]
    slowest: list[float | None] = [None] * columns
    for sample in samples:
        index = min(columns - 1, max(0, int((sample.scheduled - start) / width)))
        counts[index][0] += 1
        counts[index][1] += not sample.passed
        if sample.passed and sample.latency is not None:  # a failure's answer is no latency
            slowest[index] = max(slowest[index] or 0.0, sample.latency)
    return [
        Bucket(start + i * width, start + (i + 1) * width, n, failed, slowest[i])
        for i, (n, failed) in enumerate(counts)
        if n
    ]


@dataclass(frozen=True)
class Axis:
    """Seconds on the samples' clock mapped to x, labelled relative to T0."""

    start: float
    end: float
    t0: float

    def x(self, moment: float) -> float:
        """The x coordinate of ``moment``."""
        span = self.end - self.start or 1.0
        return LEFT + (moment - self.start) / span * (WIDTH - LEFT - RIGHT)

    def ticks(self) -> list[tuple[float, str]]:
        """About eight round ticks, labelled in seconds from T0."""
        step = _round_step((self.end - self.start) / 8)
        first = math.ceil((self.start - self.t0) / step) * step
        found = []
        value = first
        while self.t0 + value <= self.end:
            found.append((self.x(self.t0 + value), f"{value:+g}s" if value else "T0"))
            value += step
        return found


def _round_step(raw: float) -> float:
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def chart(run: FinishedRun, probe: ProbeDoc, axis: Axis) -> Chart:
    """The drawing of one probe: pass/fail band, latency line, steps, abort and recovery."""
    mine = [s for s in run.samples if s.probe == probe.name]
    columns = max(1, min(MAX_COLUMNS, len(mine)))
    drawn = Chart(probe=probe, ticks=axis.ticks())
    groups = buckets(mine, start=axis.start, end=axis.end, columns=columns)
    for group in groups:
        css = "fail" if group.failed else "pass"
        x = axis.x(group.start)
        drawn.rects.append((x, max(0.5, axis.x(group.end) - x), css))
    _latency(drawn, groups, axis)
    drawn.marks = _marks(run, axis)
    drawn.spans = _spans(run, probe, axis)
    return drawn


def _latency(drawn: Chart, groups: list[Bucket], axis: Axis) -> None:
    timed = [g for g in groups if g.slowest is not None]
    if not timed:
        return
    ceiling = max(g.slowest or 0.0 for g in timed) * 1.1 or 1.0
    drawn.latency_ceiling = ceiling
    points: list[str] = []
    for group in groups:
        if group.slowest is None:  # nothing passed here: a gap in the line
            drawn.latency_lines += [" ".join(points)] if points else []
            points = []
            continue
        x = axis.x((group.start + group.end) / 2)
        y = PLOT_TOP + PLOT_HEIGHT * (1 - group.slowest / ceiling)
        points.append(f"{x:.1f},{y:.1f}")
    drawn.latency_lines += [" ".join(points)] if points else []


def _step_start(run: FinishedRun, index: int | None, axis: Axis) -> float | None:
    step = next((s for s in run.doc.steps if s.index == index and s.action == "lose"), None)
    return None if step is None or step.offset is None else axis.t0 + step.offset


def _marks(run: FinishedRun, axis: Axis) -> list[Mark]:
    marks = [
        Mark(axis.x(axis.t0 + s.offset), f"{s.action} {s.zone}", s.action)
        for s in run.doc.steps
        if s.offset is not None
    ]
    timeline = run.doc.timeline
    if run.doc.outcome == "aborted" and timeline is not None:
        marks.append(Mark(axis.x(timeline.figures_end), "abort", "abort"))
    return _stagger(sorted(marks, key=lambda m: m.x))


def _stagger(marks: list[Mark]) -> list[Mark]:
    """Put a label on the second row when the previous one would overlap it."""
    placed: list[Mark] = []
    for mark in marks:
        crowded = bool(placed) and mark.x - placed[-1].x < LABEL_ROOM
        row = LABEL_ROWS[1] if crowded and placed[-1].label_y == LABEL_ROWS[0] else LABEL_ROWS[0]
        placed.append(Mark(mark.x, mark.label, mark.kind, row))
    return placed


def _spans(run: FinishedRun, probe: ProbeDoc, axis: Axis) -> list[Span]:
    spans = []
    timeline = run.doc.timeline
    for rto in probe.rto:
        start = _step_start(run, rto.step, axis)
        if start is None or rto.seconds == 0:
            continue
        if rto.seconds is None:
            end = timeline.figures_end if timeline else axis.end
            label = "not recovered"
        else:
            end, label = start + rto.seconds, f"RTO {seconds(rto.seconds)}"
        spans.append(Span(axis.x(start), max(1.0, axis.x(end) - axis.x(start)), label))
    return spans


def axis_of(run: FinishedRun) -> Axis:
    """An axis spanning the timeline (or the samples when the result has no timeline)."""
    times = [s.scheduled for s in run.samples]
    timeline = run.doc.timeline
    if timeline is not None:
        start = min([timeline.baseline_start, *times])
        end = max([timeline.chaos_end if run.doc.outcome != "aborted" else 0.0, *times])
        end = max(end, timeline.figures_end)
        return Axis(start=start, end=end, t0=timeline.t0)
    start, end = (min(times), max(times)) if times else (0.0, 1.0)
    return Axis(start=start, end=end, t0=start)
