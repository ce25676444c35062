"""``cordon``: the zone takes no new pods; the running ones stay (spec §2)."""

from __future__ import annotations

from orchestrator.drill.model import FaultMode
from orchestrator.faults.base import FaultContext, FaultReport, Mode, ResolvedZone


async def _nothing_more(context: FaultContext, zone: ResolvedZone, report: FaultReport) -> None:
    """The cordon every mode starts with is the whole of this one."""


MODE = Mode(
    name=FaultMode.CORDON,
    lose=_nothing_more,
    displaces=False,
    evicts=False,
    verb="",
    severity=0,
    chaos_toolkit="cordon_node",
)
