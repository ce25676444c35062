"""Restore what earlier runs left changed: from their journals, or from the cluster's own marks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestrator import faults
from orchestrator.faults import FaultContext
from orchestrator.faults.journal import Journal, open_runs
from orchestrator.targets.port import ClusterPort, describe, inverse, marks_of


@dataclass
class RollbackReport:
    """What a rollback did."""

    journals: list[str] = field(default_factory=list)
    changes_undone: int = 0
    marks_undone: list[str] = field(default_factory=list)


async def rollback(port: ClusterPort, *, state_dir: Path, run_id: str | None) -> RollbackReport:
    """Undo ``run_id``'s changes (all runs' when None) on ``port``; journals first, then marks."""
    report = RollbackReport()
    for run in open_runs(state_dir, identity=port.identity):
        if run_id is not None and run.run_id != run_id:
            continue
        journal = Journal.reopen(run.path)
        context = FaultContext(port, journal, run.run_id, frozenset())
        report.changes_undone += await faults.restore(context)
        journal.close(restored=True, note="restored by zonedrill rollback")
        report.journals.append(run.run_id)
    for mark in marks_of(await port.list_nodes()):
        undo = inverse(mark.change)
        if undo is not None and (run_id is None or mark.owner == run_id):
            await port.apply(undo, run_id=mark.owner)
            report.marks_undone.append(f"{describe(mark.change)} by {mark.owner}")
    return report
