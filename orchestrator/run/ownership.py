"""Whose changes a cluster still holds: a run refuses to start over another run's leftovers.

Both checks run under the drill lock, on what preflight listed under it, before the journal of
the new run is opened.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import UnrestoredRunError
from orchestrator.faults.journal import Journal, open_runs
from orchestrator.targets.port import ClusterPort, Mark, describe


def refuse_unrestored(state_dir: Path, port: ClusterPort) -> None:
    """Refuse while a local journal says an earlier run left this cluster changed."""
    for run in open_runs(state_dir, identity=port.identity):
        if not port.persistent:
            # The lab of that run died with its process: nothing there is left changed. A
            # journal naming another target is not this lab's to close (rollback names it).
            if run.target == port.target:
                note = f"{run.target} gone with its process"
                Journal.reopen(run.path).close(restored=True, note=note)
            continue
        raise UnrestoredRunError(
            f"run {run.run_id} of drill {run.drill} left changes on {run.identity}; "
            f"restore them first with: zonedrill rollback {run.run_id}"
        )


def refuse_marked(marks: list[Mark], identity: str, run_id: str) -> None:
    """Refuse while the cluster itself marks a change as another run's, live or dead.

    Its journal may be on another machine, and its lock may have lapsed (a stalled drill):
    neither makes it safe to lose a second zone while that one is still down.
    """
    for mark in marks:
        if mark.owner != run_id:
            raise UnrestoredRunError(
                f"{describe(mark.change)} is still marked as made by zonedrill run {mark.owner} "
                f"on {identity}; if that run is over, restore it first with: "
                f"zonedrill rollback {mark.owner} (with the same cluster options)"
            )
