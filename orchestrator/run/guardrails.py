"""``stopIf`` guardrails: trip when a probe has kept failing for ``failingFor``.

Samples may complete out of grid order, so "failing since" is worked out on scheduled times:
the earliest failed sample after the latest passed one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.drill.model import Drill
from orchestrator.durations import format_duration
from orchestrator.probes.samples import Sample, before


@dataclass
class _ProbeState:
    every: float
    last_pass: float = float("-inf")
    failed: list[float] = field(default_factory=list)


class Guardrails:
    """Watches chaos-phase samples and says when to abort."""

    def __init__(self, drill: Drill, *, watch_from: float) -> None:
        self._limits = {g.probe: g.failing_for for g in drill.spec.stop_if}
        self._states = {
            p.name: _ProbeState(every=p.every) for p in drill.spec.probes if p.name in self._limits
        }
        self._watch_from = watch_from

    def observe(self, sample: Sample) -> str | None:
        """Feed one sample; return why to abort when a guardrail trips, else None."""
        state = self._states.get(sample.probe)
        if state is None or before(sample.scheduled, self._watch_from):
            return None
        if sample.passed:
            state.last_pass = max(state.last_pass, sample.scheduled)
            state.failed = [t for t in state.failed if t > state.last_pass]
            return None
        if sample.scheduled <= state.last_pass:
            return None
        state.failed.append(sample.scheduled)
        failing_for = max(state.failed) - min(state.failed) + state.every
        limit = self._limits[sample.probe]
        if failing_for >= limit - 1e-9:
            return (
                f"guardrail: probe {sample.probe} failing for {format_duration(failing_for)} "
                f"(stopIf failingFor {format_duration(limit)})"
            )
        return None
