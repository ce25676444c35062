"""``drain``: every evictable pod of the zone is evicted, PodDisruptionBudgets permitting."""

from __future__ import annotations

import asyncio

from orchestrator.drill.model import FaultMode
from orchestrator.errors import ClusterNotFoundError, EvictionBlockedError
from orchestrator.faults.base import FaultContext, FaultReport, Mode, ResolvedZone, touchable
from orchestrator.targets.port import EvictPod, PodRef

EVICTION_BACKOFF_FIRST = 0.2
EVICTION_BACKOFF_MAX = 2.0
GONE_WITHIN = 60.0
"""Seconds the drain waits for its evicted pods to be gone before it says which are left."""


async def _drain(context: FaultContext, zone: ResolvedZone, report: FaultReport) -> None:
    listed = await context.port.list_pods(nodes=zone.node_names)
    pods = touchable(context, listed, drain=True)
    # One durable batch for the zone: an fsync per pod stalled the loop at thousands of pods.
    context.journal.record([EvictPod(pod=p.ref) for p in pods])
    await asyncio.gather(*(_evict_until_allowed(context, p.ref, report) for p in pods))
    left = await context.port.wait_pods_gone(pods=[p.ref for p in pods], timeout=GONE_WITHIN)
    report.pods_left = sorted(str(p) for p in left)


async def _evict_until_allowed(context: FaultContext, pod: PodRef, report: FaultReport) -> None:
    """Evict ``pod`` (journaled already), retrying a PDB refusal with backoff until it goes."""
    change = EvictPod(pod=pod)
    delay = EVICTION_BACKOFF_FIRST
    while True:
        try:
            await context.port.apply(change, run_id=context.run_id)
        except EvictionBlockedError as blocked:
            report.evictions_blocked += 1
            await asyncio.sleep(blocked.retry_after if blocked.retry_after else delay)
            delay = min(delay * 2, EVICTION_BACKOFF_MAX)
            continue
        except ClusterNotFoundError:
            return
        report.pods_evicted += 1
        return


MODE = Mode(
    name=FaultMode.DRAIN,
    lose=_drain,
    displaces=True,
    evicts=True,
    verb="evict",
    severity=1,
    chaos_toolkit="drain_nodes",
)
