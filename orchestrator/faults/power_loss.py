"""``power-loss``: the zone's nodes are tainted and every pod on them is deleted at once."""

from __future__ import annotations

from orchestrator.drill.model import FaultMode
from orchestrator.faults.base import (
    FaultContext,
    FaultReport,
    Mode,
    ResolvedZone,
    send,
    touchable,
)
from orchestrator.targets.port import POWER_LOSS_TAINT, AddTaint, DeletePod


async def _cut(context: FaultContext, zone: ResolvedZone, report: FaultReport) -> None:
    # Listed before the taint: every pod on the zone at the moment of the cut is lost with it.
    doomed = await context.port.list_pods(nodes=zone.node_names)
    taints = [
        AddTaint(node=n.name, taint=POWER_LOSS_TAINT)
        for n in zone.nodes
        if POWER_LOSS_TAINT not in n.taints
    ]
    await send(context, taints)
    lost = touchable(context, doomed, drain=False)
    deletes = [DeletePod(pod=p.ref, grace_seconds=0) for p in lost]
    await send(context, deletes, gone_is_done=True)
    report.pods_deleted = len(deletes)


MODE = Mode(
    name=FaultMode.POWER_LOSS,
    lose=_cut,
    displaces=True,
    evicts=False,
    verb="delete",
    severity=2,
)
