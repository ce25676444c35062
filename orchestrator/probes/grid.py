"""The deadline grid every probe kind samples on.

Sample k of a probe starts at ``start + k·every`` on the loop's monotonic clock, whatever
happened to earlier samples: a slow or dead endpoint never shifts the grid, and samples overlap
up to their timeout. The grid knows nothing of what a sample asks: an ``Asker`` of the probe's
kind does that. Any exception an asker lets out is a failed sample with its reason, never an
exception of the run or a lost sample; a sample zonedrill itself started too late is failed too.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Callable
from typing import Protocol

from orchestrator.drill.model import Probe
from orchestrator.probes.samples import GRID_TOLERANCE, Sample, grid_start
from orchestrator.probes.samples import before as is_before

LATE_LIMIT = 1.0
"""Seconds: a sample starting later than this (or its timeout) after its slot is not measured."""
MAX_DETAIL = 200

SampleOf = Callable[..., Sample]
"""Makes this sample's record from its outcome (passed, latency, status, error, detail)."""


class Asker(Protocol):
    """One probe, ready to be asked: what a probe kind's ``prepare`` returns."""

    @property
    def probe(self) -> Probe:
        """The probe as the drill declares it (name, every, timeout)."""
        ...

    async def ask(self, sample: SampleOf, started: float) -> Sample:
        """Take one sample started at ``started`` (loop clock), within the probe's timeout."""
        ...


def why(exc: BaseException) -> str:
    """An exception as a sample's ``detail``."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:MAX_DETAIL]


class ProbeRunner:
    """Samples every probe on its grid between ``start`` and ``until``."""

    def __init__(
        self, *, askers: list[Asker], on_sample: Callable[[Sample], None], origin: float
    ) -> None:
        self._askers = askers
        self._on_sample = on_sample
        self._origin = origin
        self._in_flight: dict[asyncio.Task[None], float] = {}
        self._fast = FastGrids(self)
        self._until = math.inf

    async def run(self, *, start: float, until: float) -> None:
        """Schedule samples in [start, until); return when the last one is started.

        Probe i of N runs on its own grid, offset by i/N of its period, so that N probes do not
        all fire in the same loop tick and queue behind each other.
        """
        count = len(self._askers)
        self._until = until
        async with asyncio.TaskGroup() as group:
            for position, asker in enumerate(self._askers):
                first = grid_start(start, asker.probe.every, position=position, count=count)
                group.create_task(self._grid(asker, start=first, until=until))

    async def drain(self) -> None:
        """Wait for samples still in flight (each is bounded by its timeout), fast grids too."""
        while self._in_flight or self._fast.running:
            await asyncio.gather(*self._in_flight, *self._fast.running, return_exceptions=True)

    async def settle(self, *, before: float) -> None:
        """Wait for the samples scheduled before ``before`` (on the loop clock) to answer."""
        waiting = [t for t, moment in self._in_flight.items() if is_before(moment, before)]
        if waiting:
            await asyncio.gather(*waiting, return_exceptions=True)

    def stop_fast_grids(self) -> None:
        """Start no more samples while failing (their samples in flight still answer)."""
        for task in list(self._fast.running):
            task.cancel()

    def cancel(self) -> None:
        """Abandon samples in flight (used when the run is aborted)."""
        for task in [*self._in_flight, *self._fast.running]:
            task.cancel()

    async def _grid(self, asker: Asker, *, start: float, until: float) -> None:
        loop = asyncio.get_running_loop()
        every = asker.probe.every
        index = 0
        while is_before(deadline := start + index * every, until):
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.start(asker, index, deadline)
            index += 1

    def start(self, asker: Asker, index: int, deadline: float, burst: int | None = None) -> None:
        """Take sample ``index`` (of the fast grid's ``burst``) due at ``deadline``, now."""
        task = asyncio.get_running_loop().create_task(self._sample(asker, index, deadline, burst))
        self._in_flight[task] = deadline
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)

    async def _sample(self, asker: Asker, index: int, scheduled: float, burst: int | None) -> None:
        started = asyncio.get_running_loop().time()
        probe = asker.probe
        sample = functools.partial(
            Sample,
            probe.name,
            index,
            scheduled - self._origin,
            started - self._origin,
            burst=burst,
        )
        late = started - scheduled
        if late > max(probe.timeout, LATE_LIMIT):
            # zonedrill itself was stalled (a stopped process, a starved host): this moment was
            # never measured, and a measurement that did not happen must not count as a pass.
            detail = f"started {late:.2f}s after its slot: zonedrill was stalled"
            self._record(asker, sample(passed=False, error="late", detail=detail), scheduled)
            return
        try:
            taken = await asker.ask(sample, started)
        except Exception as exc:  # noqa: BLE001 - no evidence is lost: any failure is a failed sample
            taken = sample(passed=False, error="error", detail=why(exc))
        self._record(asker, taken, scheduled)

    def _record(self, asker: Asker, sample: Sample, scheduled: float) -> None:
        self._on_sample(sample)
        self._fast.follow(asker, sample, scheduled, until=self._until)


class FastGrids:
    """Sampling while failing (spec §1.1 v1.1): a fast grid per failure, until a sample passes.

    A failed sample of the every grid, due at ``d``, starts a fast grid ``d + k·whileFailing``
    (k ≥ 1, deadline-scheduled as the every grid is, joined at the first point not yet past when
    the failure is known); the first passing sample due after ``d`` ends it. Only one fast grid a
    probe runs at a time: a failure while one runs is already being followed.
    """

    def __init__(self, runner: ProbeRunner) -> None:
        self._runner = runner
        self._by_probe: dict[str, asyncio.Task[None]] = {}
        self._passed_at: dict[str, float] = {}
        self.running: set[asyncio.Task[None]] = set()

    def follow(self, asker: Asker, sample: Sample, scheduled: float, *, until: float) -> None:
        """Start or end ``asker``'s fast grid on the answer of one of its samples."""
        probe = asker.probe
        if probe.while_failing is None:
            return
        name = probe.name
        if sample.passed:
            self._passed_at[name] = max(self._passed_at.get(name, -math.inf), scheduled)
            return
        newer = scheduled > self._passed_at.get(name, -math.inf)
        if sample.burst is None and name not in self._by_probe and newer:
            task = asyncio.get_running_loop().create_task(
                self._fast_grid(asker, sample.index, scheduled, until)
            )
            self._by_probe[name] = task
            self.running.add(task)
            task.add_done_callback(lambda done: self._ended(name, done))

    def _ended(self, name: str, task: asyncio.Task[None]) -> None:
        self.running.discard(task)
        if self._by_probe.get(name) is task:
            del self._by_probe[name]

    async def _fast_grid(self, asker: Asker, index: int, anchor: float, until: float) -> None:
        loop = asyncio.get_running_loop()
        every = asker.probe.while_failing
        assert every is not None  # only probes with whileFailing get here
        k = max(1, math.ceil((loop.time() - anchor) / every - GRID_TOLERANCE))
        name = asker.probe.name
        while is_before(deadline := anchor + k * every, until):
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._passed_at.get(name, -math.inf) > anchor:
                return
            self._runner.start(asker, index, deadline, burst=k)
            k += 1
