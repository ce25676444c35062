"""``power-cut``: what a real power cut does, for ``plan --simulate --as power-cut`` only.

The zone's nodes stop answering. Nothing else is done to them: what follows is the cluster's
own doing, which the simulated lab plays out (endpoints kept for the node grace period, pods
evicted after their unreachable toleration, StatefulSet pods Terminating until the
out-of-service taint). The taint is how the simulation is told; no drill file can name it.
"""

from __future__ import annotations

from orchestrator.drill.model import FaultMode
from orchestrator.faults.base import FaultContext, FaultReport, Mode, ResolvedZone, send
from orchestrator.targets.port import POWER_CUT_TAINT, AddTaint


async def _cut(context: FaultContext, zone: ResolvedZone, report: FaultReport) -> None:
    del report  # no pod is touched: the cluster does the rest
    dark = [n.name for n in zone.nodes if POWER_CUT_TAINT not in n.taints]
    await send(context, [AddTaint(node=name, taint=POWER_CUT_TAINT) for name in dark])


MODE = Mode(
    name=FaultMode.POWER_CUT,
    lose=_cut,
    displaces=True,
    evicts=False,
    verb="cut power under",
    severity=3,
)
