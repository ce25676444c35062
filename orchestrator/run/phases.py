"""The run's phase boundaries on the one loop clock, and the small waits the run loop is made of."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from orchestrator.drill.model import Drill
from orchestrator.results.result import Timeline


class RunClock:
    """The run's phase boundaries on the loop clock."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.baseline_start = self.baseline_end = self.t0 = self.chaos_end = self.origin
        self.figures_end = 0.0

    def start(self, at: float, drill: Drill, *, settle: float) -> None:
        """Fix the phases: baseline from ``at``, then ``settle`` for its last answers, then T0."""
        self.baseline_start = at
        self.baseline_end = at + drill.spec.baseline
        self.t0 = self.baseline_end + settle
        self.chaos_end = self.t0 + drill.spec.duration

    def now(self) -> float:
        """Seconds since the origin."""
        return asyncio.get_running_loop().time() - self.origin

    def end_figures(self) -> None:
        """The figures end now, held within the phases.

        A stop that lands before the baseline's first slot (in its start lead) ends them where
        the baseline starts, and one after the chaos phase where it ends: a result is never
        framed outside its own run.
        """
        o = self.origin
        self.figures_end = min(max(self.now(), self.baseline_start - o), self.chaos_end - o)

    def timeline(self, wall_origin: datetime) -> Timeline:
        """The boundaries relative to the origin, for the result."""
        o = self.origin
        return Timeline(
            wall_origin,
            self.baseline_start - o,
            self.baseline_end - o,
            self.t0 - o,
            self.chaos_end - o,
            self.figures_end,
            self.now(),
        )


async def sleep_until(deadline: float) -> None:
    """Sleep until ``deadline`` on the loop clock (at once if it has passed)."""
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


async def finished(task: asyncio.Task[None]) -> None:
    """Wait until ``task`` is done, without taking its result or its exception."""
    await asyncio.wait({task})


async def wait_first(*waits: Any) -> int:
    """Run the awaitables; return the index of the first to finish and cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return min(tasks.index(t) for t in done)


async def stop(task: asyncio.Task[None]) -> None:
    """Stop a lose step that may still be draining, keeping its errors."""
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    """The first exception in a (nested) exception group."""
    first = group.exceptions[0]
    return first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
