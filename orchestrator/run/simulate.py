"""A drill predicted: the whole engine run on the ``sim`` target, in virtual time.

Nothing is copied from the engine: the same preflight, phases, probe grids, steps, restore and
scoring run against the drill's lab, whose services are answered in process. The caller runs
``predict`` on an event loop whose clock jumps to the next thing due (``looptime``), so minutes
of drill take a fraction of a second and no clock but the loop's is read. Journals and the run
folder go to a scratch directory that is gone afterwards; nothing is recorded in the history.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.drill import Drill, Lab
from orchestrator.drill.picks import ZonePicks
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.probes.samples import Sample
from orchestrator.results.document import ResultDoc
from orchestrator.results.report.document import PREDICTED_ON
from orchestrator.results.result import StepRecord
from orchestrator.run.engine import DrillRun, RunSettings
from orchestrator.run.preflight import Plan
from orchestrator.targets.registry import Where, prepare_cluster


class Unwatched:
    """A run nobody watches: a prediction prints only its result."""

    def planned(self, plan: Plan) -> None:
        """Nothing to show."""

    def phase(self, name: str, *, until: float | None) -> None:
        """Nothing to show."""

    def step(self, record: StepRecord) -> None:
        """Nothing to show."""

    def sample(self, sample: Sample) -> None:
        """Nothing to show."""

    def note(self, message: str) -> None:
        """Nothing to show."""


@dataclass(frozen=True)
class Rehearsal:
    """What a prediction runs: the drill (its zones picked), its file, and its lab."""

    drill: Drill
    drill_path: Path
    lab: Lab
    picks: ZonePicks = field(default_factory=ZonePicks)
    node_grace: float | None = None
    """--node-grace: instead of the lab's nodeGrace (a power cut's endpoints stay that long)."""
    out_of_service_after: float | None = None
    """--out-of-service-after: when an operator applies the out-of-service taint after a cut."""
    left_out: tuple[str, ...] = ()
    """Probes of the drill file a prediction cannot take (``predictable``)."""

    def settings(self) -> dict[str, Any]:
        """What the sim target reads: the lab itself, and the power cut's rules."""
        return {
            "lab": self.lab,
            "node_grace": self.node_grace,
            "out_of_service_after": self.out_of_service_after,
        }


def predictable(drill: Drill) -> tuple[Drill, tuple[str, ...]]:
    """``drill`` without the probes a lab cannot answer (their targets and guardrails too).

    A prometheus probe asks a server the simulation does not have: predicting it would dial
    the real one in virtual time. What is left out is named, so that the prediction says so.
    """
    spec = drill.spec
    left = tuple(p.name for p in spec.probes if not p.simulated)
    if not left:
        return drill, ()
    if len(left) == len(spec.probes):
        message = (
            f"no probe of {drill.metadata.name} can be predicted ({', '.join(left)}: a "
            "simulation has no Prometheus); run the drill on its lab instead"
        )
        raise InvalidInputError([Problem("spec.probes", None, None, "", message)])
    targets = [t for t in spec.targets if t.probe not in left]
    if not targets:  # nothing would be scored: a prediction must not read as a pass
        message = (
            f"every target of {drill.metadata.name} is on a probe a simulation cannot ask "
            f"({', '.join(left)}); run the drill on its lab instead"
        )
        raise InvalidInputError([Problem("spec.targets", None, None, "", message)])
    kept = spec.model_copy(
        update={
            "probes": [p for p in spec.probes if p.simulated],
            "targets": targets,
            "stop_if": [g for g in spec.stop_if if g.probe not in left],
        }
    )
    return drill.model_copy(update={"spec": kept}), left


async def predict(rehearsal: Rehearsal, drill: Drill | None = None) -> ResultDoc:
    """The result ``drill`` (default: the rehearsal's) would have on the lab: ``predicted``."""
    drill = drill or rehearsal.drill
    settings, drill_path, picks = rehearsal.settings(), rehearsal.drill_path, rehearsal.picks
    with tempfile.TemporaryDirectory(prefix="zonedrill-predict-") as scratch:
        where = Where(settings, state_dir=Path(scratch), drill=drill, drill_path=drill_path)
        port = await prepare_cluster(PREDICTED_ON, where)(serve=False)
        run_id = f"predicted-{drill.metadata.name}"
        run_settings = RunSettings(
            run_id=run_id, out_dir=Path(scratch) / run_id, state_dir=Path(scratch), picks=picks
        )
        try:
            outcome = await DrillRun(
                drill=drill, port=port, settings=run_settings, observer=Unwatched()
            ).execute()
        finally:
            await port.close()
    return outcome.document.model_copy(update={"predicted": True})
