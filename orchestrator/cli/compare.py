"""``zonedrill history compare A B``: two recorded runs' figures side by side.

Figures of the chaos phase only: a run that was not steady has none (its probes' figures are
of the baseline, where nothing was touched), so its column is empty and no change is shown.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from rich.table import Table

from orchestrator.cli.common import FORM_KEY, OUTPUT_OPTION, print_document, refuse
from orchestrator.cli.outputs import DocumentOut, Output
from orchestrator.errors import ZonedrillError
from orchestrator.outcomes import Outcome
from orchestrator.results import numbers
from orchestrator.results.document import LatencyDoc, ProbeDoc, ResultDoc
from orchestrator.results.history import History
from orchestrator.run.console import SafeConsole
from orchestrator.text import clean

Row = tuple[str, float | None, float | None, Callable[[float | None], str]]


class FigureOut(Output):
    """One figure of both runs, and B minus A when both have it."""

    figure: str
    a: float | None
    b: float | None
    change: float | None


class ComparisonOut(DocumentOut):
    """``history compare -o``: the two runs, their outcomes and figures."""

    kind: str = "RunComparison"
    a: str
    b: str
    outcome_a: str
    outcome_b: str
    figures: list[FigureOut]


@click.command("compare")
@click.argument("run_a")
@click.argument("run_b")
@OUTPUT_OPTION
@click.pass_context
def history_compare(ctx: click.Context, run_a: str, run_b: str, form: str) -> None:
    """Two recorded runs' figures side by side, with the change from A to B.

    \b
      zonedrill history compare <run-a> <run-b>
      zonedrill history compare <run-a> <run-b> -o json | jq '.figures[] | select(.change)'
    A run that was not steady measured no chaos phase: its figures are left empty.
    """
    store: History = ctx.obj
    form = form if form != "text" else ctx.meta.get(FORM_KEY, form)
    try:
        a, b = store.get(run_a).doc, store.get(run_b).doc
    except ZonedrillError as exc:
        refuse(exc)
    rows = comparison_rows(a, b)
    if form != "text":
        figures = [FigureOut(figure=n, a=x, b=y, change=_delta(x, y)) for n, x, y, _ in rows]
        document = ComparisonOut(
            a=a.run_id, b=b.run_id, outcome_a=a.outcome, outcome_b=b.outcome, figures=figures
        )
        print_document(document, form)
        return
    SafeConsole().print(_table(a, b, rows))


def _table(a: ResultDoc, b: ResultDoc, rows: list[Row]) -> Table:
    table = Table(title=clean(f"A = {a.run_id}\nB = {b.run_id}"), title_justify="left")
    for column in ("figure", "A", "B", "change"):
        table.add_column(column)
    for name, value_a, value_b, show in rows:
        delta = _delta(value_a, value_b)
        change = "" if delta is None else _change(show, delta)
        table.add_row(clean(name), show(value_a), show(value_b), change)
    table.add_row("outcome", a.outcome, b.outcome, "" if a.outcome == b.outcome else "changed")
    return table


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _change(show: Callable[[float | None], str], delta: float) -> str:
    """A change in the unit of its figure: ``+9ms``, ``-0.50 %``, ``+44.4``."""
    if delta == 0:
        return "no change"
    text = (numbers.seconds if show is numbers.rto else show)(delta)
    return f"+{text}" if delta > 0 else text


def comparison_rows(a: ResultDoc, b: ResultDoc) -> list[Row]:
    """Score, then per probe availability, downtime, p99 and RTO per zone, in A's order."""
    rows: list[Row] = [("score", a.score, b.score, numbers.score)]
    probes_a, probes_b = _measured(a), _measured(b)
    for probe in a.probes:
        unmeasured = _unmeasured(probe)
        mine = probes_a.get(probe.name, unmeasured)
        rows += _probe_rows(mine, probes_b.get(probe.name, unmeasured))
    return rows


def _measured(doc: ResultDoc) -> dict[str, ProbeDoc]:
    """The probes' chaos-phase figures: none for a run that was not steady."""
    return {} if doc.outcome == Outcome.NOT_STEADY else {p.name: p for p in doc.probes}


def _unmeasured(probe: ProbeDoc) -> ProbeDoc:
    return probe.model_copy(
        update={"availability": None, "downtime": None, "latency": LatencyDoc(), "rto": []}
    )


def _probe_rows(mine: ProbeDoc, theirs: ProbeDoc) -> list[Row]:
    name = mine.name
    rows: list[Row] = [
        (f"{name} availability", mine.availability, theirs.availability, numbers.percent),
        (f"{name} downtime", mine.downtime, theirs.downtime, numbers.seconds),
        (f"{name} p99", mine.latency.p99, theirs.latency.p99, numbers.seconds),
    ]
    for index in range(max(len(mine.rto), len(theirs.rto))):
        zone = (mine.rto if index < len(mine.rto) else theirs.rto)[index].zone
        rows.append(
            (f"{name} RTO after {zone}", _rto(mine, index), _rto(theirs, index), numbers.rto)
        )
    return rows


def _rto(probe: ProbeDoc, index: int) -> float | None:
    return probe.rto[index].seconds if index < len(probe.rto) else None
