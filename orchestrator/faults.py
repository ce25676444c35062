"""The fault modes of spec §2, carried out through the cluster port.

Every change goes to the journal before it is sent. Batches are journaled with one fsync and
then sent concurrently, so a zone of many nodes is lost in one round of API calls, not one node
at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from orchestrator.drill.model import FaultMode
from orchestrator.errors import ClusterNotFoundError, EvictionBlockedError
from orchestrator.journal import Journal, JournalEntry
from orchestrator.port import (
    POWER_LOSS_TAINT,
    AddTaint,
    Change,
    ClusterPort,
    Cordon,
    DeletePod,
    EvictPod,
    NodeInfo,
    PodInfo,
    PodRef,
    inverse,
    scope,
)

EVICTION_BACKOFF_FIRST = 0.2
EVICTION_BACKOFF_MAX = 2.0


@dataclass(frozen=True)
class ResolvedZone:
    """A power zone and the nodes its selector picked at preflight."""

    name: str
    nodes: tuple[NodeInfo, ...]

    @property
    def node_names(self) -> list[str]:
        """Names of the zone's nodes."""
        return [n.name for n in self.nodes]


@dataclass
class FaultReport:
    """What losing a zone did."""

    nodes: list[str]
    pods_deleted: int = 0
    pods_evicted: int = 0
    evictions_blocked: int = 0
    pods_left: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FaultContext:
    """What every fault needs: the port, the journal, the run and the safety settings."""

    port: ClusterPort
    journal: Journal
    run_id: str
    exclude_namespaces: frozenset[str]


async def send(
    context: FaultContext, changes: Sequence[Change], *, gone_is_done: bool = False
) -> None:
    """Journal ``changes`` durably, then make them concurrently.

    Every change is attempted before the first error is raised. With ``gone_is_done``, an object
    that vanished on its own (a pod already deleted) counts as done.
    """
    if not changes:
        return
    context.journal.record(changes)
    results = await asyncio.gather(
        *(context.port.apply(c, run_id=context.run_id) for c in changes), return_exceptions=True
    )
    _raise_first(results, ignore=(ClusterNotFoundError,) if gone_is_done else ())


def _raise_first(results: Sequence[object], *, ignore: tuple[type[Exception], ...] = ()) -> None:
    """Raise the first exception in ``results`` that is not of an ``ignore`` type."""
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, ignore):
            raise result


async def lose_zone(
    context: FaultContext, zone: ResolvedZone, mode: FaultMode, report: FaultReport
) -> None:
    """Cordon, drain or power-cut every node of ``zone``, counting into ``report`` as it goes.

    The caller owns ``report``, so the counts survive when a long drain is cancelled.
    """
    # The nodes as preflight saw them: adapters skip a change that has become a no-op since, and
    # undo only what carries this run's mark, so nothing here needs a fresh read.
    await send(context, [Cordon(node=n.name) for n in zone.nodes if not n.unschedulable])
    if mode is FaultMode.POWER_LOSS:
        # Listed before the taint: every pod on the zone at the moment of the cut is lost with it.
        doomed = await context.port.list_pods(nodes=zone.node_names)
        taints = [
            AddTaint(node=n.name, taint=POWER_LOSS_TAINT)
            for n in zone.nodes
            if POWER_LOSS_TAINT not in n.taints
        ]
        await send(context, taints)
        await _power_cut(context, _touchable(context, doomed, drain=False), report)
    elif mode is FaultMode.DRAIN:
        await _drain(context, zone, report)


def _touchable(context: FaultContext, pods: list[PodInfo], *, drain: bool) -> list[PodInfo]:
    kept = [p for p in pods if p.ref.namespace not in context.exclude_namespaces]
    if drain:
        kept = [p for p in kept if p.evictable]
    return kept


async def _power_cut(context: FaultContext, pods: list[PodInfo], report: FaultReport) -> None:
    changes = [DeletePod(pod=p.ref, grace_seconds=0) for p in pods]
    await send(context, changes, gone_is_done=True)
    report.pods_deleted = len(changes)


async def _drain(context: FaultContext, zone: ResolvedZone, report: FaultReport) -> None:
    pods = _touchable(context, await context.port.list_pods(nodes=zone.node_names), drain=True)
    # One durable batch for the zone: an fsync per pod stalled the loop at thousands of pods.
    context.journal.record([EvictPod(pod=p.ref) for p in pods])
    await asyncio.gather(*(_evict_until_allowed(context, p.ref, report) for p in pods))
    left = await context.port.wait_pods_gone(pods=[p.ref for p in pods], timeout=60.0)
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


async def restore(context: FaultContext, *, nodes: Sequence[str] | None = None) -> int:
    """Undo what this run changed (on ``nodes``, or everywhere); return how many changes.

    Objects are restored concurrently, each one's changes newest first (``port.scope``). A
    failure on one does not stop the others: everything that can be restored is, then the first
    error is raised.
    """
    entries = context.journal.pending_restores(nodes=nodes)
    by_scope: dict[tuple[str, str], list[JournalEntry]] = {}
    for entry in entries:
        by_scope.setdefault(scope(entry.change), []).append(entry)
    results = await asyncio.gather(
        *(_restore_one(context, scoped) for scoped in by_scope.values()),
        return_exceptions=True,
    )
    _raise_first(results)
    return len(entries)


async def _restore_one(context: FaultContext, entries: list[JournalEntry]) -> None:
    for entry in entries:
        undo = inverse(entry.change)
        if undo is not None:
            await context.port.apply(undo, run_id=context.run_id)
        context.journal.mark_restored([entry.seq])
