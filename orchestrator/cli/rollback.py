"""``zonedrill rollback``: restore what killed runs left changed, leaving live runs alone."""

from __future__ import annotations

import secrets
import sys
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console

from orchestrator.cli.common import run_async, target_options
from orchestrator.errors import ZonedrillError
from orchestrator.faults.journal import (
    Journal,
    OpenRun,
    known_run,
    open_runs,
    state_dir,
    zonedrill_alive,
)
from orchestrator.outcomes import Exit
from orchestrator.results.history import History, default_path
from orchestrator.run.console import SafeConsole, fail
from orchestrator.run.rollback import rollback as rollback_runs
from orchestrator.targets.registry import open_cluster, target_named, target_names, targets_given

ROLLBACK_LOCK_WAIT = 30.0


@click.command()
@click.argument("run_id", required=False)
@click.option("--all", "all_runs", is_flag=True, help="Restore every unrestored run.")
@target_options(cluster_only=True)
def rollback(
    run_id: str | None,
    all_runs: bool,
    **settings: Any,
) -> None:
    """Restore what a killed run left changed.

    Works from the journals under the state directory and, on a cluster, also from the node
    annotations zonedrill leaves (zonedrill.io/cordoned-by, zonedrill.io/tainted-by), so it still
    works when the journal is gone: then pass --kubeconfig/--context.
    """
    console = SafeConsole()
    if bool(run_id) == all_runs:
        console.print("error: give a RUN_ID or --all")
        sys.exit(Exit.INVALID)
    wanted = None if all_runs else run_id
    runs = [r for r in open_runs(state_dir()) if wanted is None or r.run_id == wanted]
    live = _report_open_runs(runs, console)
    _end_abandoned(console)
    runs = [r for r in runs if r not in live]
    # Cluster options alone name a cluster whose journals may be gone: its marks still count.
    clusters = set(targets_given(settings))
    for entry in runs:
        if target_named(entry.target).lives_with_process:
            Journal.reopen(entry.path).close(
                restored=True, note=f"{entry.target} gone with its process"
            )
            console.print(
                f"{entry.run_id}: its {entry.target} lived in process {entry.pid}, which is "
                "gone; nothing is left changed"
            )
        else:
            clusters.add(entry.target)
    if clusters:
        code = run_async(lambda: _rollback_clusters(sorted(clusters), settings, wanted, console))
        sys.exit(code or (Exit.ERROR if live else Exit.OK))
    if run_id and not live and not known_run(state_dir(), run_id):
        console.print(f"error: no run {run_id} in the journals under {state_dir()}")
        sys.exit(Exit.INVALID)
    if not runs and not live:
        console.print("nothing to restore: no unrestored run" + (f" {run_id}" if run_id else ""))
    sys.exit(Exit.ERROR if live else Exit.OK)


def _end_abandoned(console: Console) -> None:
    """Record every run and game day whose process died before its verdict as error.

    Until then the gate already fails on them (no verdict); from then on it says why.
    """
    why = (
        "its process ended before it recorded a verdict (killed, OOM-killed or evicted); "
        f"recorded by zonedrill rollback at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
    )
    try:
        ended = History(default_path(state_dir())).end_abandoned(
            lambda pid: not zonedrill_alive(pid), why=why
        )
    except ZonedrillError as exc:
        console.print(f"warning: killed runs not recorded as error in the history: {exc}")
        return
    for start_id in ended:
        console.print(f"{start_id}: started but never finished; recorded as error in the history")


def _report_open_runs(runs: list[OpenRun], console: Console) -> list[OpenRun]:
    """Report damaged journal lines and the runs left alone (alive, or of an unknown target).

    Returns the runs left alone.
    """
    for run in runs:
        if run.skipped:
            console.print(
                f"{run.run_id}: {run.skipped} torn or damaged line(s) in {run.path} skipped"
            )
    live = [run for run in runs if run.alive]
    for run in live:
        console.print(
            f"{run.run_id}: still running in process {run.pid}; left alone. Stop it with "
            f"kill -INT {run.pid} (it restores on its own), then roll back if needed"
        )
    installed = target_names()
    strange = [run for run in runs if run.target not in installed and run not in live]
    for run in strange:
        console.print(
            f"{run.run_id}: its journal {run.path} names an unknown target {run.target!r}; "
            "left alone: inspect it, restore by hand, then remove it"
        )
    return live + strange


async def _rollback_clusters(
    names: list[str], settings: dict[str, Any], run_id: str | None, console: Console
) -> int:
    """Roll back on each cluster target named; the first failure's exit code, else 0."""
    codes = [await _rollback_on(name, settings, run_id, console) for name in names]
    return next((code for code in codes if code), 0)


async def _rollback_on(
    name: str, settings: dict[str, Any], run_id: str | None, console: Console
) -> int:
    try:
        port = await open_cluster(name, settings)
    except ZonedrillError as exc:
        return fail(console, exc)
    try:
        # A killed drill's lock lapses once nobody renews it; a live drill keeps renewing it.
        # A holder of its own: two rollbacks must never take each other's Lease for theirs.
        holder = f"zonedrill rollback {secrets.token_hex(4)}"
        async with port.lock(holder=holder, wait=ROLLBACK_LOCK_WAIT):
            report = await rollback_runs(port, state_dir=state_dir(), run_id=run_id)
    except ZonedrillError as exc:
        return fail(console, exc)
    finally:
        await port.close()
    for journal in report.journals:
        console.print(f"{journal}: restored from its journal")
    for mark in report.marks_undone:
        console.print(f"undone from node annotations: {mark}")
    if not report.journals and not report.marks_undone:
        if run_id and not known_run(state_dir(), run_id):
            console.print(
                f"error: no run {run_id} in the journals or node marks of {port.identity}"
            )
            return Exit.INVALID
        console.print(f"nothing to restore on {port.identity}")
    return 0
