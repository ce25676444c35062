"""The end-of-run restore: undo every journaled change, retrying until the cluster answers.

An API server that is down or stalled when the drill ends must not leave zones lost: the restore
retries with backoff until nothing is pending or ``timeout`` has passed, and says what is still
pending while it waits. Past the bound the run reports the exact pending changes, and
``zonedrill rollback`` finishes them later from the same journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from orchestrator import faults
from orchestrator.errors import ZonedrillError
from orchestrator.faults import FaultContext, ResolvedZone
from orchestrator.faults.journal import JournalEntry
from orchestrator.results.result import StepRecord
from orchestrator.targets.port import describe

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0


@dataclass(frozen=True)
class RestoreHooks:
    """How the restore reports: a step record per zone, its end, and notes for the operator."""

    begin: Callable[[ResolvedZone], StepRecord]
    end: Callable[[StepRecord], None]
    note: Callable[[str], None]


async def restore_all(
    context: FaultContext, zones: Iterable[ResolvedZone], hooks: RestoreHooks, *, deadline: float
) -> list[JournalEntry]:
    """Restore every zone with pending changes, retrying until the loop clock passes ``deadline``.

    Returns what is still pending: empty when everything was restored.
    """
    loop = asyncio.get_running_loop()
    records: dict[str, StepRecord] = {}
    delay = BACKOFF_FIRST
    while True:
        failures = [
            failure
            for zone in zones
            if (failure := await _restore_zone(context, zone, records, hooks)) is not None
        ]
        pending = context.journal.pending_restores()
        left = deadline - loop.time()
        if not pending or not failures or left <= 0:
            return pending
        hooks.note(
            f"restore incomplete: {len(pending)} change(s) pending ({failures[0]}); "
            f"retrying in {delay:.1f}s, giving up in {left:.0f}s"
        )
        await asyncio.sleep(min(delay, left))
        delay = min(delay * 2, BACKOFF_MAX)


async def _restore_zone(
    context: FaultContext,
    zone: ResolvedZone,
    records: dict[str, StepRecord],
    hooks: RestoreHooks,
) -> str | None:
    """Restore one zone; None when it is done (or had nothing pending), else why not."""
    if not context.journal.pending_restores(nodes=zone.node_names):
        return None
    record = records.get(zone.name) or records.setdefault(zone.name, hooks.begin(zone))
    try:
        await faults.restore(context, nodes=zone.node_names)
    except ZonedrillError as exc:
        record.note = f"restore failed, retrying: {exc}"
        return f"{zone.name}: {exc}"
    record.note = "automatic restore at end of run"
    hooks.end(record)
    return None


def describe_pending(pending: list[JournalEntry]) -> str:
    """The pending changes, one per line (rollback undoes each)."""
    return "\n".join(f"  - {describe(entry.change)}" for entry in pending)
