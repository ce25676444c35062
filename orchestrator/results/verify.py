"""``zonedrill verify``: recompute a result from its samples and its drill, field by field.

A result carries the drill as run (``drillSpec``), the phase boundaries and the step times; with
``samples.jsonl`` these give every figure, check, the score and the outcome again (spec §4). A
field that differs is named; so is a digest that does not match the samples.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from orchestrator.drill.model import AnyOf, Step
from orchestrator.drill.picks import pick_zones
from orchestrator.errors import InvalidInputError
from orchestrator.outcomes import GRADED, Outcome
from orchestrator.probes.grid import LATE_LIMIT
from orchestrator.probes.samples import GRID_TOLERANCE, Sample, before, grid_start
from orchestrator.results.ctk_rounds import no_holes, period_follows, steps_as_run
from orchestrator.results.document import ResultDoc, StepDoc
from orchestrator.results.fast_grid import fast_grid_follows
from orchestrator.results.report.document import FinishedRun, read_samples_of
from orchestrator.results.result import Derived, StepRecord, Timeline, derive

SAME_MOMENT = 1e-6
"""Seconds within which two phase boundaries are the same moment (both come from one clock)."""
SHOWN = 5
"""Grid indices named in a finding before the rest are counted."""
STAMP_PRECISION = 0.001
"""Seconds: startedAt and endedAt are written to the millisecond."""
STEP_LATE = 0.5
"""Seconds a step's time may fall after it is due: the event loop's lag in waking for it.

The engine takes a step's time as it wakes, before it confirms the lock or changes anything,
so only a loop stalled this long (or a forger moving the step to shorten its RTO) is later."""


def differences(doc: ResultDoc, samples: list[Sample], found_digest: str) -> list[str]:
    """``field: stored X, recomputed Y`` for every field that does not follow from the samples."""
    found = []
    if found_digest != doc.samples_digest:
        found.append(f"samplesDigest: stored {doc.samples_digest}, samples hash to {found_digest}")
    for check in FRAMING:
        found += check(doc, samples)
    again = recompute(doc, samples)
    stored = doc.model_dump(mode="json", by_alias=True)
    for key, value in _derived_json(again).items():
        found += _compare(key, stored[key], value)
    return found


def against_samples(run: FinishedRun) -> list[str]:
    """What ``verify`` finds in ``run`` (its samples read from beside it): none when it verifies.

    Samples that cannot be read are a finding too: a result without its evidence verifies nothing.
    Samples already read with ``run`` were checked against its digest then.
    """
    if run.samples:
        return differences(run.doc, run.samples, run.doc.samples_digest)
    try:
        samples, found = read_samples_of(run)
    except InvalidInputError as exc:
        return [problem.message for problem in exc.problems]
    return differences(run.doc, samples, found)


def _off_grid(doc: ResultDoc, samples: list[Sample]) -> list[str]:
    """Samples of probes the drill lacks, or scheduled off the drill's grid.

    The grid (baseline start, each probe's phase and period) pins the timeline to the samples,
    so a timeline moved to hide an outage shows here.
    """
    first = _grids(doc)
    strangers = sorted({s.probe for s in samples} - first.keys())
    found = [f"samples: probe {name} is not in the drill" for name in strangers]
    if doc.runner == "chaostoolkit":
        return found  # Chaos Toolkit asks when it gets round to it: there is no grid to check
    off = [s for s in samples if s.probe in first and not _on_grid(s, *first[s.probe])]
    if off:
        s = off[0]
        found.append(
            f"samples: {len(off)} scheduled off the drill's grid, first {s.probe}[{s.index}] "
            f"at {s.scheduled!r}"
        )
    return found


def _on_grid(sample: Sample, start: float, every: float, fast: float | None) -> bool:
    """Due at its grid point: ``start + index·every``, plus ``burst·whileFailing`` if fast."""
    if sample.burst is not None and fast is None:
        return False
    due = start + sample.index * every + (sample.burst or 0) * (fast or 0.0)
    return abs(sample.scheduled - due) <= GRID_TOLERANCE


def _grids(doc: ResultDoc) -> dict[str, tuple[float, float, float | None]]:
    """Each probe's grid: where sample 0 is due, the period and the period while failing."""
    probes = doc.drill_spec.spec.probes
    return {
        p.name: (
            grid_start(doc.timeline.baseline_start, p.every, position=i, count=len(probes)),
            p.every,
            p.while_failing,
        )
        for i, p in enumerate(probes)
    }


def _named(doc: ResultDoc, _: list[Sample]) -> list[str]:
    """The run is of the drill it carries."""
    name = doc.drill_spec.metadata.name
    return [] if doc.drill == name else [f"drill: stored {doc.drill!r}, drillSpec is {name!r}"]


def _cluster_of_target(doc: ResultDoc, _: list[Sample]) -> list[str]:
    """A cluster's identity names its own target."""
    if doc.cluster is not None and not doc.cluster.identity.startswith(f"{doc.target}/"):
        return [f"cluster.identity: {doc.cluster.identity!r} is not a {doc.target} cluster"]
    return []


def _steady_baseline(doc: ResultDoc, samples: list[Sample]) -> list[str]:
    """A graded run's baseline passed: one failed sample there ends a run not steady."""
    if doc.outcome not in (Outcome.PASSED, Outcome.FAILED) or doc.runner == "chaostoolkit":
        return []
    failed = [s for s in samples if not s.passed and before(s.scheduled, doc.timeline.baseline_end)]
    if not failed:
        return []
    first = failed[0]
    return [
        f"samples: {len(failed)} failed in the baseline of a {doc.outcome} run, first "
        f"{first.probe}[{first.index}] (a run that fails its baseline ends not-steady)"
    ]


def _figures_end(doc: ResultDoc, _: list[Sample]) -> list[str]:
    """A drill that ran to its end is scored over its whole chaos phase."""
    t = doc.timeline
    moved = abs(t.figures_end - t.chaos_end) > SAME_MOMENT
    if doc.outcome in (Outcome.PASSED, Outcome.FAILED) and moved:
        return [f"timeline.figuresEnd: stored {t.figures_end!r}, chaosEnd is {t.chaos_end!r}"]
    return []


def _whole_grid(doc: ResultDoc, samples: list[Sample]) -> list[str]:
    """One sample per grid index: none twice, and none missing from a graded run."""
    if doc.runner == "chaostoolkit":
        return []  # Chaos Toolkit asks when it gets round to it: there is no grid
    found = []
    for name, (start, every, _) in _grids(doc).items():
        indices = Counter(s.index for s in samples if s.probe == name and s.burst is None)
        fast = Counter((s.index, s.burst) for s in samples if s.probe == name and s.burst)
        if any(n > 1 for n in fast.values()):
            found.append(f"samples: {name} has fast-grid points recorded twice")
        twice = sorted(i for i, n in indices.items() if n > 1)
        if twice:
            found.append(f"samples: {name} has indices recorded twice: {_few(twice)}")
        # Every sample due before the figures end, and any taken after it, leaves no hole.
        due = math.ceil((doc.timeline.figures_end - GRID_TOLERANCE - start) / every)
        missing = sorted(set(range(max(due, max(indices, default=-1) + 1))) - indices.keys())
        if missing and doc.outcome in (Outcome.PASSED, Outcome.FAILED):
            found.append(f"samples: {name} lacks indices {_few(missing)}")
    return found


def _passed_follows(doc: ResultDoc, samples: list[Sample]) -> list[str]:
    """A sample passes only on its own answer: no failure class, an expected status, in time.

    Chaos Toolkit's samples carry no status or latency: its probe's own tolerance judged them.
    """
    if doc.runner == "chaostoolkit":
        return []
    probes = {p.name: p for p in doc.drill_spec.spec.probes}
    wrong = [s for s in samples if s.passed and s.probe in probes and not _earned(s, probes)]
    if not wrong:
        return []
    first = wrong[0]
    return [
        f"samples: {len(wrong)} marked passed on a failed answer, first {first.probe}"
        f"[{first.index}] (status {first.status}, error {first.error})"
    ]


def _earned(sample: Sample, probes: dict[str, Any]) -> bool:
    if sample.error is not None or sample.latency is None or sample.status is None:
        return False
    probe = probes[sample.probe]
    # An answer after the timeout is a timeout: a pass cannot claim a longer latency (one that
    # would also hide where a fast grid had to stop).
    in_time = sample.latency <= probe.timeout + LATE_LIMIT
    return in_time and bool(probe.could_pass(sample.status, sample.latency))


def _inside_run(doc: ResultDoc, samples: list[Sample]) -> list[str]:
    """Every sample lies between the run's start and its end.

    A Chaos Toolkit run's probes are asked when Chaos Toolkit gets round to them, before and
    after the method too, so this is all that pins them; a sample outside the run was not
    taken by it.
    """
    length = (doc.ended_at - doc.started_at).total_seconds() + STAMP_PRECISION
    outside = [s for s in samples if not -STAMP_PRECISION <= s.started <= length]
    if not outside:
        return []
    first = outside[0]
    return [
        f"samples: {len(outside)} outside the run (0 to {length:.3f} s), first "
        f"{first.probe}[{first.index}] at {first.started!r}"
    ]


def _steps_follow(doc: ResultDoc, _: list[Sample]) -> list[str]:
    """The steps as run are the drill's steps, in order, at their times, with the seed's zones.

    Chaos Toolkit's method decides its own steps; a zonedrill run takes each step at T0 plus
    its ``at``, late only by STEP_LATE or by the restore step before it, never early. A step
    moved later would shorten every RTO measured from it; one deleted would hide its outage.
    """
    if doc.runner == "chaostoolkit":
        return []
    planned = _replanned(doc)
    taken = [s for s in doc.steps if s.index is not None]
    found = [f"steps[{i}]: {w}" for i, s in enumerate(taken) if (w := _unlike(s, planned))]
    order = [s.index for s in taken]
    if order != list(range(len(taken))):
        found.append(f"steps: taken as {order}, not the drill's steps from 0 in order")
    graded = doc.outcome in (Outcome.PASSED, Outcome.FAILED)
    if graded and len(taken) < len(planned):
        found.append(f"steps: {len(taken)} taken of the drill's {len(planned)} in a graded run")
    return found + _late(doc, taken, planned)


def _replanned(doc: ResultDoc) -> list[Step]:
    """The drill's steps with each random zone picked again from its candidates and the seed."""
    steps = list(doc.drill_spec.spec.steps)
    for record in doc.steps:
        if record.picked_from and record.index is not None and record.index < len(steps):
            steps[record.index] = steps[record.index].model_copy(
                update={"lose": AnyOf(any_of=record.picked_from)}
            )
    spec = doc.drill_spec.spec.model_copy(update={"steps": steps})
    picked, _ = pick_zones(doc.drill_spec.model_copy(update={"spec": spec}), doc.seed)
    return list(picked.spec.steps)


def _unlike(record: StepDoc, planned: list[Step]) -> str:
    position = record.index if record.index is not None else -1
    if not 0 <= position < len(planned):
        return f"index {record.index} is not a step of the drill"
    step = planned[position]
    action, mode = ("lose", str(step.fault_mode)) if step.is_lose else ("restore", None)
    if (record.action, record.zone, record.mode) != (action, step.zone, mode):
        return (
            f"{record.action} {record.zone} ({record.mode}) where the drill's step "
            f"{position} is {action} {step.zone} ({mode})"
        )
    return ""


def _late(doc: ResultDoc, taken: list[StepDoc], planned: list[Step]) -> list[str]:
    found = []
    free_at = 0.0  # when the step before let the next one start (a restore is waited for)
    for record in taken:
        if record.index is None or record.index >= len(planned) or record.offset is None:
            continue
        due = planned[record.index].at
        latest = max(due, free_at) + STEP_LATE
        if not due - SAME_MOMENT <= record.offset <= latest:
            found.append(
                f"steps[{record.index}].offset: {record.offset!r}, due at {due!r} and taken "
                f"by {latest!r} at the latest"
            )
        if record.action == "restore" and record.started_at and record.ended_at:
            free_at = record.offset + (record.ended_at - record.started_at).total_seconds()
    return found


def _few(indices: list[int]) -> str:
    shown = ", ".join(str(i) for i in indices[:SHOWN])
    return shown + (f" and {len(indices) - SHOWN} more" if len(indices) > SHOWN else "")


def recompute(doc: ResultDoc, samples: list[Sample]) -> Derived:
    """What the result's derived fields must be, given its samples."""
    t = doc.timeline
    timeline = Timeline(
        doc.started_at, t.baseline_start, t.baseline_end, t.t0, t.chaos_end, t.figures_end, 0.0
    )
    steps = [
        StepRecord(s.index, s.action, s.zone, s.mode, t.t0 + (s.offset or 0.0), nodes=s.nodes)
        for s in doc.steps
    ]
    ended = GRADED if doc.outcome in (Outcome.PASSED, Outcome.FAILED) else doc.outcome
    return derive(doc.drill_spec, samples, steps, timeline, outcome=ended, reason=doc.reason or "")


FRAMING: tuple[Callable[[ResultDoc, list[Sample]], list[str]], ...] = (
    _named,
    _cluster_of_target,
    period_follows,
    no_holes,
    steps_as_run,
    _figures_end,
    _off_grid,
    _whole_grid,
    fast_grid_follows,
    _passed_follows,
    _steps_follow,
    _inside_run,
    _steady_baseline,
)
"""What must hold of a result's framing and samples before its figures are recomputed."""


def _derived_json(derived: Derived) -> dict[str, Any]:
    return {
        "probes": [p.model_dump(mode="json", by_alias=True) for p in derived.probes],
        "checks": [c.model_dump(mode="json", by_alias=True) for c in derived.checks],
        "score": derived.score,
        "outcome": str(derived.outcome),
    }


def _compare(path: str, stored: Any, again: Any) -> list[str]:
    if isinstance(stored, dict) and isinstance(again, dict):
        keys = list(dict.fromkeys([*again, *stored]))
        return [d for k in keys for d in _compare(f"{path}.{k}", stored.get(k), again.get(k))]
    if isinstance(stored, list) and isinstance(again, list) and len(stored) == len(again):
        return [
            d
            for i, pair in enumerate(zip(stored, again, strict=True))
            for d in _compare(f"{path}[{i}]", *pair)
        ]
    if stored != again:
        return [f"{path}: stored {stored!r}, recomputed {again!r}"]
    return []
