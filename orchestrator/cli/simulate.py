"""``zonedrill plan DRILL --simulate``: the drill's likely result on its lab, in virtual time.

The engine runs the drill on the ``sim`` target inside an event loop whose clock jumps to what
is due next (``looptime``): the same figures as a lab run, within one probe period, in well
under a second. ``--as power-cut`` predicts a real power cut instead of the drill's mode, and
``--each-zone`` maps every zone's risk both ways. Predictions are printed, never recorded: ``-o
json`` gives a DrillResult with ``predicted: true``, which report, verify, gate and history
refuse as a run.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click
import looptime
from rich.table import Table

from orchestrator.cli.common import duration_option, print_document, stderr
from orchestrator.cli.outputs import DocumentOut, Form, Output
from orchestrator.drill import Drill, lab_for
from orchestrator.drill.model import FaultMode
from orchestrator.drill.picks import ZonePicks
from orchestrator.errors import InvalidInputError, Problem, ZonedrillError
from orchestrator.outcomes import Outcome
from orchestrator.results import numbers
from orchestrator.results.document import ResultDoc
from orchestrator.run.console import SafeConsole, render_summary, styled
from orchestrator.run.rehearse import as_power_cut, cut_recovery, outages, warnings, zone_drills
from orchestrator.run.simulate import Rehearsal, predict, predictable

T = TypeVar("T")
POWER_CUT = str(FaultMode.POWER_CUT)
"""What --as takes: the mode a prediction simulates instead of the drill's."""
REFUSED = "refused"
PLAN_PREDICTS = 1800.0
"""Seconds of virtual time plain plan follows to warn about a real cut (a second of CPU or so
per ten minutes); longer drills and cuts are left to plan --simulate."""


def in_virtual_time(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine on an event loop of its own whose clock jumps to what is due."""
    # Nothing in a prediction waits on real I/O: looptime's default of 42 idle cycles before
    # each jump in time was most of a prediction's CPU.
    loop = looptime.new_event_loop(start=0.0, noop_cycles=1)
    try:
        return loop.run_until_complete(factory())
    finally:
        loop.close()


def simulate(rehearsal: Rehearsal, *, as_mode: str | None, form: str) -> None:
    """Predict the drill and a real cut of its zones; print one, warn where they differ."""
    drilled, cut = in_virtual_time(lambda: _both(rehearsal))
    shown = cut if as_mode == POWER_CUT else drilled
    if form != Form.TEXT:
        print_document(shown, form)
    else:
        _show(shown, as_mode)
    _warn(rehearsal, drilled, cut)


def _warn(rehearsal: Rehearsal, drilled: ResultDoc, cut: ResultDoc) -> None:
    if rehearsal.left_out:
        stderr().print(
            styled(
                ("note:", "yellow"),
                f" not predicted: {', '.join(rehearsal.left_out)} (a simulation has no "
                "Prometheus to ask); their targets are left out of the predicted score",
            )
        )
    for warning in warnings(rehearsal, drilled, cut):
        stderr().print(styled(("warning:", "yellow"), f" {warning}"))


async def _both(rehearsal: Rehearsal) -> tuple[ResultDoc, ResultDoc]:
    return await predict(rehearsal), await predict(rehearsal, as_power_cut(rehearsal))


def _show(document: ResultDoc, as_mode: str | None) -> None:
    console = SafeConsole()
    lab = document.cluster.identity if document.cluster else "its lab"
    what = "as a real power cut" if as_mode == POWER_CUT else "as drilled"
    console.print(
        styled(
            ("predicted", "bold"),
            f" {what}, in virtual time on {lab}: nothing was touched; run the drill to have a "
            "result",
        )
    )
    console.print(render_summary(document))


class ZoneRiskOut(Output):
    """One probe with one zone lost, as drilled and as a power cut.

    RTO in seconds (null: never back) and the probe's own outcome (its checks all passed).
    """

    zone: str
    probe: str
    rto_seconds: float | None
    outcome: str
    power_cut_rto_seconds: float | None
    power_cut_outcome: str
    note: str = ""
    """Why a zone's loss was refused (outcome "refused"): preflight's reason."""


class RiskMapOut(DocumentOut):
    """``plan --simulate --each-zone -o``: every zone's risk, worst first."""

    kind: str = "ZoneRiskMap"
    drill: str
    rows: list[ZoneRiskOut]


@dataclass(frozen=True)
class _Lost:
    zone: str
    drilled: ResultDoc | None
    cut: ResultDoc | None
    refused: str = ""
    """Why preflight refused to lose this zone (its predictions are then None)."""


def risk_map(rehearsal: Rehearsal, *, form: str) -> None:
    """Each zone lost alone, as drilled and as a power cut: the table a team reads first."""
    lost = in_virtual_time(lambda: _each_zone(rehearsal))
    probes = [p.name for p in rehearsal.drill.spec.probes]
    rows = sorted((row for one in lost for row in _rows(one, probes)), key=_worst_first)
    document = RiskMapOut(drill=rehearsal.drill.metadata.name, rows=rows)
    if form != Form.TEXT:
        print_document(document, form)
        return
    table = Table(title=f"zone risk map of {document.drill} (predicted)", title_justify="left")
    for column in ("zone", "probe", "RTO drilled", "outcome", "RTO power cut", "outcome"):
        table.add_column(column)
    for zone, note in {r.zone: r.note for r in rows if r.note}.items():
        stderr().print(styled(("warning:", "yellow"), f" zone {zone} not predicted: {note}"))
    for row in rows:
        table.add_row(
            row.zone,
            row.probe,
            _rto(row.rto_seconds),
            row.outcome,
            _rto(row.power_cut_rto_seconds),
            row.power_cut_outcome,
        )
    SafeConsole().print(table)


async def _each_zone(rehearsal: Rehearsal) -> list[_Lost]:
    found = []
    for zone, drill in zone_drills(rehearsal).items():
        alone = replace(rehearsal, drill=drill)
        try:
            drilled, cut = await predict(alone), await predict(alone, as_power_cut(alone))
        except ZonedrillError as exc:  # this zone's loss is refused: the others still map
            found.append(_Lost(zone, None, None, refused=str(exc)))
            continue
        found.append(_Lost(zone, drilled, cut))
    return found


def _rows(lost: _Lost, probes: list[str]) -> list[ZoneRiskOut]:
    if lost.drilled is None or lost.cut is None:
        return [
            ZoneRiskOut(
                zone=lost.zone,
                probe=probe,
                rto_seconds=None,
                outcome=REFUSED,
                power_cut_rto_seconds=None,
                power_cut_outcome=REFUSED,
                note=lost.refused,
            )
            for probe in probes
        ]
    return [
        ZoneRiskOut(
            zone=lost.zone,
            probe=outage.probe,
            rto_seconds=outage.drilled,
            outcome=_probe_outcome(lost.drilled, outage.probe),
            power_cut_rto_seconds=outage.cut,
            power_cut_outcome=_probe_outcome(lost.cut, outage.probe),
        )
        for outage in outages(lost.drilled, lost.cut)
    ]


def _probe_outcome(document: ResultDoc, probe: str) -> str:
    """The probe's own verdict: its checks all passed, or not; a run not graded says why."""
    if document.outcome not in (Outcome.PASSED, Outcome.FAILED):
        return str(document.outcome)
    checks = [c for c in document.checks if c.probe == probe]
    return str(Outcome.PASSED if all(c.passed for c in checks) else Outcome.FAILED)


def _worst_first(row: ZoneRiskOut) -> tuple[bool, float, float, str, str]:
    """Never back first, then the longest; refused zones, which predict nothing, last."""
    never = float("inf")
    cut = never if row.power_cut_rto_seconds is None else row.power_cut_rto_seconds
    drilled = never if row.rto_seconds is None else row.rto_seconds
    return (row.outcome == REFUSED, -cut, -drilled, row.zone, row.probe)


def _rto(seconds: float | None) -> str:
    return "never back" if seconds is None else numbers.rto(seconds)


@dataclass(frozen=True)
class Rehearsing:
    """What ``plan`` was asked to simulate, taken out of its options."""

    simulate: bool
    as_mode: str | None
    each_zone: bool
    node_grace: float | None
    out_of_service_after: float | None

    @classmethod
    def take(cls, options: dict[str, Any]) -> Rehearsing:
        """Pop plan's simulation options; --as and --each-zone mean --simulate."""
        as_mode, each_zone = options.pop("as_mode"), options.pop("each_zone")
        return cls(
            simulate=options.pop("simulate") or as_mode is not None or each_zone,
            as_mode=as_mode,
            each_zone=each_zone,
            node_grace=_positive(
                "--node-grace", _duration("--node-grace", options.pop("node_grace"))
            ),
            out_of_service_after=_duration(
                "--out-of-service-after", options.pop("out_of_service_after")
            ),
        )

    def rehearsal(
        self, drill: Drill, drill_file: Path, picks: ZonePicks, settings: dict[str, Any]
    ) -> Rehearsal:
        """The drill on its lab (--lab, else spec.lab), with the power cut's settings."""
        given = settings.get("lab")
        lab = lab_for(drill_file, drill, Path(given) if given else None)
        drill, left_out = predictable(drill)
        return Rehearsal(
            drill, drill_file, lab, picks, self.node_grace, self.out_of_service_after, left_out
        )

    def warnings(
        self, drill: Drill, drill_file: Path, picks: ZonePicks, settings: dict[str, Any]
    ) -> list[str]:
        """Where a real cut differs from the drill by more than a target, for plain plan.

        Plain plan stays quick: a drill or a cut longer than PLAN_PREDICTS in virtual time is
        left to plan --simulate, and plan says so.
        """
        rehearsal = self.rehearsal(drill, drill_file, picks, settings)
        spec = drill.spec
        followed = max(spec.duration, cut_recovery(rehearsal)) + spec.baseline
        if followed > PLAN_PREDICTS:
            return [
                f"a real power cut is not predicted here ({numbers.seconds(followed)} of "
                "virtual time): plan --simulate --as power-cut predicts it"
            ]
        try:
            return list(warnings(rehearsal, *in_virtual_time(lambda: _both(rehearsal))))
        except ZonedrillError as exc:  # the plan stands; only the prediction is missing
            return [f"a real power cut could not be predicted: {exc}"]

    def run(
        self,
        drill: Drill,
        drill_file: Path,
        picks: ZonePicks,
        settings: dict[str, Any],
        *,
        form: str,
        target: str | None,
    ) -> None:
        """Predict on the drill's lab and print it: the drill, the cut, or every zone."""
        if target not in (None, "lab", "sim"):
            message = "--simulate predicts on the drill's lab: give --lab FILE, not --target"
            raise InvalidInputError([Problem("--target", None, None, "", message)])
        rehearsal = self.rehearsal(drill, drill_file, picks, settings)
        if self.each_zone:
            risk_map(rehearsal, form=form)
        else:
            simulate(rehearsal, as_mode=self.as_mode, form=form)


def _positive(flag: str, seconds: float | None) -> float | None:
    if seconds is not None and seconds <= 0:
        raise click.BadParameter("expected a duration above 0s", param_hint=flag)
    return seconds


def _duration(flag: str, text: str | None) -> float | None:
    return None if text is None else duration_option(flag, text)
