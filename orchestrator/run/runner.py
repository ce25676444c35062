"""Running one drill from the command line: the port, the console, the reports, the history.

``zonedrill run`` runs one; ``zonedrill gameday run`` runs several through the same path, so a
game day's drill is recorded and reported exactly as a lone run would be.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Console
from securesystemslib.signer import Signer

from orchestrator.drill import Drill
from orchestrator.errors import ZonedrillError
from orchestrator.results.history import History, RunEntry, Start
from orchestrator.results.report.document import load_result
from orchestrator.results.report.render import write_reports
from orchestrator.results.signing import sign
from orchestrator.run.console import ConsoleObserver, fail, render_summary, styled
from orchestrator.run.engine import DrillRun, RunOutcome, RunSettings
from orchestrator.targets.port import ClusterPort

PortOpener = Callable[[], Awaitable[ClusterPort]]


@dataclass(frozen=True)
class Aftermath:
    """Where a finished run is recorded, and what started it."""

    history: History
    trigger: str
    signer: Signer | None = None
    """Signs each result as it is recorded (``--sign-key``); None leaves results unsigned."""


@dataclass(frozen=True)
class DrillJob:
    """One drill to run: what, against which port, how, and what to call it on screen."""

    drill: Drill
    open_port: PortOpener
    settings: RunSettings
    label: str = ""


async def run_and_report(
    job: DrillJob,
    console: Console,
    after: Aftermath,
    started: Callable[[DrillRun], None],
    summary: Console | None = None,
) -> RunOutcome | int:
    """Run ``job``, print its summary, write its reports and record it.

    ``console`` takes progress, warnings and errors (standard error); ``summary`` takes the
    final tables and the result's path (standard output), or nothing when the caller prints the
    result as a document. ``started`` receives the run as soon as it exists, so that a signal
    can abort it. Returns the outcome, or the exit code of an error that kept the drill from
    running.
    """
    try:
        port = await job.open_port()
    except ZonedrillError as exc:
        return fail(console, exc)
    start = Start(
        job.settings.run_id,
        "run",
        job.drill.metadata.name,
        port.target,
        port.identity,
        after.trigger,
        datetime.now(UTC),
        os.getpid(),
    )
    try:
        after.history.start(start)  # before anything changes: a kill leaves this trace
        with ConsoleObserver(console, label=job.label) as observer:
            drill_run = DrillRun(
                drill=job.drill, port=port, settings=job.settings, observer=observer
            )
            started(drill_run)
            outcome = await drill_run.execute()
    except ZonedrillError as exc:
        _forget(after.history, start)  # refused before any change: it never ran
        return fail(console, exc)
    finally:
        await port.close()
    if summary is not None:
        summary.print(render_summary(outcome.document))
        summary.print(f"result: {outcome.out_dir / 'result.json'}", highlight=False)
    report_and_record(outcome, after, console)
    return outcome


def _forget(history: History, start: Start) -> None:
    with suppress(ZonedrillError):  # else the start stays, and the gate fails on it: safe
        history.drop_start(start.id)


def report_and_record(outcome: RunOutcome, after: Aftermath, console: Console) -> None:
    """Write the reports and record the run; a failure here is reported, never fatal."""
    try:
        finished = load_result(outcome.out_dir)
        if after.signer is not None:
            samples = finished.path.parent / finished.doc.samples_file
            claims = {"trigger": after.trigger}
            signed = sign(finished.path, [samples], after.signer, claims=claims)
            console.print(f"signed: {signed}", highlight=False)
        written = write_reports(finished)
        document = finished.path.read_text(encoding="utf-8")
        path = str(finished.path.resolve())  # read back from anywhere: history -o json, the gate
        entry = RunEntry(doc=finished.doc, trigger=after.trigger, result_path=path)
        after.history.record(entry, document=document)
    except (ZonedrillError, OSError) as exc:
        console.print(styled(("warning:", "yellow"), f" reports or history not written: {exc}"))
        return
    console.print("reports: " + ", ".join(p.name for p in written), highlight=False)


@contextmanager
def signals_stop(stop: Callable[[str], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call ``stop(reason)`` on the loop; after the block, they are ignored.

    Plain ``signal.signal`` handlers, not the loop's: the loop's are taken down when the loop
    closes, and a second Ctrl-C arriving then would kill the process (exit 130) while it writes
    the result. The handler hands the stop to the loop thread-safely.
    """
    loop = asyncio.get_running_loop()

    def handler(signum: int, _frame: object) -> None:
        loop.call_soon_threadsafe(stop, f"{signal.Signals(signum).name} received")

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
