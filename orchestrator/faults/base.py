"""What every fault mode shares: the context, journaled batches of changes, and the restore.

Every change goes to the journal before it is sent. Batches are journaled with one fsync and
then sent concurrently, so a zone of many nodes is lost in one round of API calls, not one node
at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from orchestrator.drill.model import FaultMode
from orchestrator.errors import ClusterNotFoundError
from orchestrator.faults.journal import Journal, JournalEntry
from orchestrator.targets.port import (
    Change,
    ClusterPort,
    NodeInfo,
    PodInfo,
    inverse,
    scope,
)


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


@dataclass(frozen=True)
class Mode:
    """One fault mode (spec §2): what it does to a lost zone, and what follows from that.

    Plans, forecasts, the console and the Chaos Toolkit import read these facts instead of
    asking which mode it is; ``faults.registry`` lists every mode.
    """

    name: FaultMode
    lose: Callable[[FaultContext, ResolvedZone, FaultReport], Awaitable[None]]
    """What the mode does to the zone once its nodes are cordoned."""
    displaces: bool
    """Pods leave the zone and their controllers recreate them elsewhere."""
    evicts: bool
    """Through the Eviction API: only evictable pods, and PodDisruptionBudgets apply."""
    verb: str
    """What ``plan`` says it does to each pod ("evict", "delete"); empty when it touches none."""
    severity: int
    """A zone lost twice in an imported experiment keeps the more severe mode."""
    chaos_toolkit: str | None = None
    """The ``chaosk8s.node.actions`` function that does the same, for ``zonedrill import``."""


def touchable(context: FaultContext, pods: list[PodInfo], *, drain: bool) -> list[PodInfo]:
    """The pods a mode may touch: outside excluded namespaces, and evictable for a drain."""
    kept = [p for p in pods if p.ref.namespace not in context.exclude_namespaces]
    if drain:
        kept = [p for p in kept if p.evictable]
    return kept


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
