"""What a person sees: the plan, live progress while running, and the final summary."""

from __future__ import annotations

import asyncio
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from orchestrator.durations import format_duration
from orchestrator.errors import InvalidInputError, ZonedrillError
from orchestrator.faults import mode_of
from orchestrator.outcomes import Exit, Outcome, exit_for
from orchestrator.probes.samples import Sample
from orchestrator.results import numbers
from orchestrator.results.document import CheckDoc, ResultDoc, RtoDoc
from orchestrator.results.result import StepRecord
from orchestrator.run.preflight import Plan, StepPlan
from orchestrator.text import clean

OUTCOME_STYLE = {
    Outcome.PASSED: "bold green",
    Outcome.FAILED: "bold red",
    Outcome.ABORTED: "bold yellow",
    Outcome.NOT_STEADY: "bold yellow",
    Outcome.ERROR: "bold red",
}


PIPED_WIDTH = 10_000
HEARTBEAT_SECONDS = 5.0  # piped output says where the run is at least this often


TRAILING_BLANKS = re.compile(r"[ \t]+$", re.MULTILINE)


class SafeConsole(Console):
    """A console that never reads text as markup or emoji codes and cleans every string.

    File names, drill names and error messages come from users: ``[bold]prod.yaml`` must print
    as written, and an ESC in a description must not reach the terminal.
    """

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, markup=False, emoji=False, highlight=False)
        if not self.is_terminal:
            # Piped or redirected: lines are read by programs and grep, so nothing is wrapped
            # or cut to a width, whatever COLUMNS says; tables take their natural width.
            self.soft_wrap = True
            self.width = PIPED_WIDTH

    def print(self, *objects: Any, **options: Any) -> None:
        """Print as Console does, with every plain string cleaned; piped, plain columns.

        Piped, tables lose their boxes and every line its padding to the column's width, so a
        row ends at its last cell for awk and diff.
        """
        cleaned = [clean(o) if isinstance(o, str) else o for o in objects]
        if self.is_terminal:
            super().print(*cleaned, **options)
            return
        for thing in objects:
            _unboxed(thing)
        with self.capture() as captured:
            super().print(*cleaned, **options)
        self.file.write(TRAILING_BLANKS.sub("", captured.get()))
        self.file.flush()


def _unboxed(thing: object) -> None:
    """Tables (in a group too) as plain columns, for awk and grep: no box characters."""
    if isinstance(thing, Table):
        thing.box, thing.pad_edge, thing.show_edge = None, False, False
    elif isinstance(thing, Group):
        for part in thing.renderables:
            _unboxed(part)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line from plain parts and (text, style) parts, every part cleaned."""
    line = Text()
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        line.append(clean(text), style)
    return line


@dataclass
class _ProbeView:
    samples: int = 0
    passed: int = 0
    up: bool | None = None
    last: str = ""


class ConsoleObserver:
    """Prints progress; with a terminal, also keeps a live status panel."""

    def __init__(self, console: Console, *, label: str = "") -> None:
        self.console = console
        self.label = label
        """Which run this is, in a game day (``drill 2 of 3: NAME``); shown with the progress."""
        self._probes: dict[str, _ProbeView] = {}
        self._phase = "preflight"
        self._until: float | None = None
        self._t0: float | None = None
        self._live: Live | None = None
        # The run's loop clock, captured on the loop thread; the live panel reads it from its own.
        self._clock: Callable[[], float] = time.monotonic
        self._beat: asyncio.TimerHandle | None = None

    def __enter__(self) -> ConsoleObserver:
        if self.console.is_terminal:
            self._live = Live(
                get_renderable=self._panel,
                console=self.console,
                refresh_per_second=4,
                transient=True,
            )
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
        if self._beat is not None:
            self._beat.cancel()

    def planned(self, plan: Plan) -> None:
        """Print the plan and its risks."""
        self._clock = asyncio.get_running_loop().time
        self.console.print(render_plan(plan))

    def phase(self, name: str, *, until: float | None) -> None:
        """Announce a phase."""
        self._phase, self._until = name, until
        self._probes = {probe: _ProbeView(up=view.up) for probe, view in self._probes.items()}
        left = f" ({format_duration(round(until - self._clock(), 1))})" if until else ""
        if name == "baseline" and until:  # the baseline, then its last answers settle: to T0
            left = f" (T0 in {format_duration(round(until - self._clock(), 1))})"
        if name == "chaos":
            self._t0 = self._clock()
            left += f"; T0 = {wall_clock_now()}"
        self.console.print(styled((f"▶ {name}", "bold"), left))
        if self._live is None and self._beat is None:
            self._beat = asyncio.get_running_loop().call_later(HEARTBEAT_SECONDS, self._heartbeat)

    def step(self, record: StepRecord) -> None:
        """Print a step as it starts and as it ends."""
        what = f"{record.action} {record.zone}" + (f" ({record.mode})" if record.mode else "")
        if record.ended is None:
            self.console.print(f"  {self._stamp()} {what}: {len(record.nodes)} nodes")
        else:
            done = [
                f"{n} {label}"
                for n, label in (
                    (record.pods_deleted, "pods deleted"),
                    (record.pods_evicted, "pods evicted"),
                    (record.evictions_blocked, numbers.EVICTIONS_REFUSED),
                )
                if n
            ]
            self.console.print(
                f"  {self._stamp()} {what} done" + (": " + ", ".join(done) if done else "")
            )

    def sample(self, sample: Sample) -> None:
        """Track each probe's state; print when it flips."""
        view = self._probes.setdefault(sample.probe, _ProbeView())
        if sample.burst is None:  # the share passed is of the every grid, as in the result
            view.samples += 1
            view.passed += sample.passed
        view.last = str(sample.status or sample.error or "")
        if view.up is not None and view.up != sample.passed:
            state = ("UP", "green") if sample.passed else ("DOWN", "red")
            why = "" if sample.passed else f" ({sample.error})"
            self.console.print(styled(f"  {self._stamp()} probe {sample.probe} ", state, why))
        view.up = sample.passed

    def _heartbeat(self) -> None:
        """When piped, a line every few seconds: phase, time left, each probe's state."""
        self._beat = asyncio.get_running_loop().call_later(HEARTBEAT_SECONDS, self._heartbeat)
        left = f", {max(0.0, self._until - self._clock()):.0f}s left" if self._until else ""
        states = ", ".join(
            f"{name} {'up' if view.up else 'DOWN'} {_share(view)} passed"
            for name, view in self._probes.items()
        )
        where = f"{self.label}, " if self.label else ""
        self.console.print(f"  {self._stamp()} {where}{self._phase}{left}: {states}")

    def note(self, message: str) -> None:
        """Print a warning, stamped with the time into the run (a guardrail trip, say)."""
        self.console.print(styled((f"! {self._stamp()} {message}", "yellow")))

    def _stamp(self) -> str:
        if self._t0 is None:
            return "T-"
        return f"T+{self._clock() - self._t0:6.1f}s"

    def _panel(self) -> Any:
        left = f"{max(0.0, self._until - self._clock()):.0f}s left" if self._until else ""
        table = Table(box=None, show_header=True, header_style="dim")
        for column in ("probe", "state", f"passed ({self._phase})", "last"):
            table.add_column(column)
        for name, view in self._probes.items():
            state = Text("up", "green") if view.up else Text("DOWN", "bold red")
            table.add_row(name, state, _share(view), view.last)
        where = f"{self.label} · " if self.label else ""
        return Group(Text(f"{where}{self._phase} {left}", style="bold cyan"), table)


def _share(view: _ProbeView) -> str:
    """Passed samples of this phase only: the chaos figure matches the result's availability."""
    return numbers.percent(100 * view.passed / view.samples) if view.samples else "—"


def wall_clock_now() -> str:
    """Now on the wall clock, local time with its zone: ``2026-11-26 19:41:02 KST (+0900)``."""
    return datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z (%z)")


def print_error(console: Console, exc: ZonedrillError) -> None:
    """An error as the CLI prints it: each located problem on its own line, else the message."""
    problems = exc.problems if isinstance(exc, InvalidInputError) else []
    for problem in problems:
        console.print(styled(("error:", "red"), f" {problem}"), soft_wrap=True)
    if not problems:
        console.print(styled(("error:", "red"), f" {exc}"), soft_wrap=True)


def fail(console: Console, exc: ZonedrillError) -> Exit:
    """Print ``exc``; return its exit code (``outcomes.exit_for``)."""
    print_error(console, exc)
    if isinstance(exc, InvalidInputError):
        console.print(f"{len(exc.problems)} error(s); nothing was touched.")
    return exit_for(exc)


def print_exception(console: Console, exc: BaseException) -> None:
    """A defect as the CLI prints it: what happened first, then the traceback to report."""
    console.print(
        styled(("error:", "red"), f" unexpected {type(exc).__name__}: {exc}"),
        soft_wrap=True,
        highlight=False,
    )
    console.print("This is a zonedrill defect; please report it with the traceback below.")
    console.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)


def render_plan(plan: Plan, *, pods_listed: int = 0) -> Group:
    """The plan as printed by ``run`` and ``plan``, naming up to ``pods_listed`` pods a step."""
    table = Table(title=f"plan: {plan.drill} on {plan.target}", title_justify="left")
    for column in ("zone", "nodes", "pods", "workloads"):
        table.add_column(column)
    for name, zone in plan.zones.items():
        pods = plan.pods_by_zone.get(name, [])
        workloads = sorted({p.workload for p in pods if p.workload})
        table.add_row(name, str(len(zone.nodes)), str(len(pods)), ", ".join(workloads))
    lines: list[Any] = [table]
    for step in plan.steps:
        moved = f" ({step.moved_in} expected to have moved here)" if step.moved_in else ""
        lines.append(
            Text(
                f"  step {step.index}: {step.mode} {step.zone}: {step.nodes} nodes, "
                f"{step.pods} pods{moved}"
            )
        )
        lines += _pod_lines(plan, step, pods_listed)
    lines += [styled((f"  risk: {risk}", "yellow")) for risk in plan.risks]
    lines += [styled((f"  note: {note}", "dim")) for note in plan.notes]
    lines += _schedule_lines(plan)
    lines += [styled(("  refused: ", "bold red"), reason) for reason in plan.refused]
    return Group(*lines)


def _schedule_lines(plan: Plan) -> list[Text]:
    """Every moment of the drill, the probes, and how long it runs."""
    lines = [Text("timeline (T0 = start of the chaos phase):", "bold")]
    for moment in plan.moments:
        sign = "-" if moment.at < 0 else "+"
        lines.append(styled(f"  T{sign}{format_duration(abs(moment.at)):>6}  {moment.what}"))
    lines.append(Text("probes:", "bold"))
    for probe in plan.probes:
        held = "; ".join(probe.goals) or "no target"
        every = format_duration(probe.every)
        lines.append(styled(f"  {probe.name}: {probe.where} every {every}; {held}"))
    length = format_duration(plan.run_seconds)
    lines.append(styled(f"expected length: {length} (baseline and chaos phase), then restore"))
    return lines


def _pod_lines(plan: Plan, step: StepPlan, limit: int) -> list[Text]:
    """The pods the step is expected to hit, those moved there by earlier steps marked."""
    mode = mode_of(step.mode)
    if limit <= 0 or not mode.verb:
        return []
    nodes = set(plan.zones[step.zone].node_names)
    pods = sorted((p for p in step.lost_pods if p.node in nodes), key=lambda p: p.ref)
    if mode.evicts:
        pods = [p for p in pods if p.evictable]
    verb = mode.verb
    before = plan.pods_by_zone[step.zone]
    lines = [
        Text(
            f"    {verb} {pod.ref} on {pod.node}"
            + ("" if pod in before else " (a replacement expected here)"),
            style="dim",
        )
        for pod in pods[:limit]
    ]
    if len(pods) > limit:
        lines.append(Text(f"    … and {len(pods) - limit} more (--pods N lists more)", "dim"))
    return lines


def render_summary(document: ResultDoc) -> Group:
    """The final tables: probes, checks, then score and outcome with the reasons.

    A run that was not steady touched nothing: its probes are shown over the baseline, and it has
    no checks to show.
    """
    steady = document.outcome != Outcome.NOT_STEADY
    phase = "chaos phase" if steady else "baseline: nothing was touched"
    probes = Table(title=f"probes ({phase})", title_justify="left")
    for column in ("probe", "availability", "downtime", "RTO", "p99"):
        probes.add_column(column, justify="left" if column in ("probe", "RTO") else "right")
    for probe in document.probes:
        rtos = ", ".join(_rto_cell(r) for r in probe.rto) or "—"
        probes.add_row(
            probe.name,
            numbers.percent(probe.availability),
            numbers.seconds(probe.downtime),
            rtos,
            numbers.seconds(probe.latency.p99),
        )
    if not steady or not document.checks:
        return Group(probes, *_verdict(document))
    checks = Table(title="checks", title_justify="left")
    for column in ("probe", "metric", "target", "observed", "credit"):
        checks.add_column(column)
    for check in document.checks:
        style = "green" if check.passed else "red"
        checks.add_row(
            check.probe,
            numbers.METRIC_NAMES[check.metric],
            numbers.metric_value(check.metric, check.target),
            numbers.metric_value(check.metric, check.observed),
            Text(f"{check.credit:.2f}", style),
        )
    return Group(probes, checks, *_verdict(document))


def _rto_cell(rto: RtoDoc) -> str:
    """In plain words: when the service came back after the zone was lost (see the Terms)."""
    if rto.seconds == 0:
        return f"{numbers.rto(0)} when {rto.zone} was lost"
    if rto.seconds is None:
        return f"{numbers.rto(None)} after {rto.zone} was lost"
    how = {"failover": "while {} was still down", "restore": "when {} was restored"}
    when = how.get(rto.recovered_by or "", "after {} was lost").format(rto.zone)
    return f"{numbers.rto(rto.seconds)}, recovered {when}"


def _verdict(document: ResultDoc) -> list[Text]:
    head = Text(f"score {numbers.score(document.score)}   outcome ")
    head.append(document.outcome.upper(), OUTCOME_STYLE[document.outcome])
    lines = [head]
    if document.outcome.scored:
        lines += [Text(f"  why: {_why(c)}", "red") for c in document.checks if not c.passed]
    elif document.reason:
        lines.append(styled((f"  why: {document.outcome}: {document.reason}", "yellow")))
    lines += [styled((f"  risk seen at preflight: {risk}", "yellow")) for risk in document.risks]
    if document.reason and document.outcome.scored:
        lines.append(styled((f"  reason: {document.reason}", "yellow")))
    restored = document.restored
    lines.append(
        Text(
            "  cluster restored" if restored else "  NOT RESTORED: run zonedrill rollback",
            "green" if restored else "bold red",
        )
    )
    return lines


def _why(check: CheckDoc) -> str:
    metric, probe, target = check.metric, check.probe, check.target
    if metric == "rto":
        return (
            f"{probe} did not recover, target {numbers.seconds(target)}"
            if check.observed is None
            else f"{probe} took {numbers.seconds(check.observed)} to recover, "
            f"target {numbers.seconds(target)}"
        )
    if metric == "availability":
        return (
            f"{probe} was available {numbers.percent(check.observed)}, "
            f"target {numbers.percent(target)}"
        )
    return (
        f"{probe} p99 latency {numbers.seconds(check.observed)}, target {numbers.seconds(target)}"
    )
