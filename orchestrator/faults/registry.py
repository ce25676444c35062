"""Every fault mode, by name: a new mode is one module and one line here."""

from __future__ import annotations

from orchestrator.drill.model import FaultMode
from orchestrator.faults import cordon, drain, power_cut, power_loss
from orchestrator.faults.base import FaultContext, FaultReport, Mode, ResolvedZone, send
from orchestrator.targets.port import Cordon

MODES: dict[FaultMode, Mode] = {
    mode.name: mode
    for mode in (
        cordon.MODE,
        drain.MODE,
        power_loss.MODE,
        power_cut.MODE,
    )
}


def mode_of(name: FaultMode | str) -> Mode:
    """The mode called ``name`` (as drills spell it)."""
    return MODES[FaultMode(name)]


async def lose_zone(
    context: FaultContext, zone: ResolvedZone, mode: FaultMode, report: FaultReport
) -> None:
    """Cordon every node of ``zone``, then do what ``mode`` does, counting into ``report``.

    The caller owns ``report``, so the counts survive when a long drain is cancelled. The nodes
    are as preflight saw them: adapters skip a change that has become a no-op since, and undo
    only what carries this run's mark, so nothing here needs a fresh read.
    """
    await send(context, [Cordon(node=n.name) for n in zone.nodes if not n.unschedulable])
    await MODES[mode].lose(context, zone, report)
