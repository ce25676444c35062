"""``zonedrill report``, ``verify`` and ``history``: what happens after a run.

Exit codes: 0 fine (the gate passed), 1 the gate failed, 2 unreadable or foreign input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from orchestrator.cli.common import (
    FORM_KEY,
    HISTORY_OPTION,
    MOST_RUNS,
    OUTPUT_OPTION,
    history_at,
    print_document,
    refuse,
    run_async,
    target_options,
)
from orchestrator.cli.compare import history_compare
from orchestrator.cli.outputs import GameDayHistoryOut, HistoryOut, run_out
from orchestrator.errors import InvalidInputError, Problem, ZonedrillError
from orchestrator.results import numbers
from orchestrator.results.cluster_results import cluster_record
from orchestrator.results.gameday_files import (
    gameday_file,
    load_finished_gameday,
)
from orchestrator.results.gameday_result import summary_of
from orchestrator.results.history import History, RunEntry
from orchestrator.results.report.document import FinishedRun, load_result
from orchestrator.results.report.gameday import render_gameday
from orchestrator.results.report.render import Format, markdown, render
from orchestrator.run.console import SafeConsole
from orchestrator.text import clean

SPARKS = "▁▂▃▄▅▆▇█"


@click.command()
@click.argument("result", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "-o",
    "form",
    type=click.Choice([f.value for f in Format]),
    default=Format.MD.value,
    show_default=True,
    help="html: one self-contained page; md: for a PR comment or CI summary; junit: JUnit XML.",
)
@click.option(
    "--output-file",
    "output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write here instead of standard output.",
)
def report(result: Path, form: str, output: Path | None) -> None:
    """Render a finished run or game day (its folder, result.json or gameday.json).

    \b
    run and gameday run already write all three formats; this renders them again, e.g.:
      zonedrill report zonedrill-runs/<run-id> --format md >> "$GITHUB_STEP_SUMMARY"
      zonedrill report zonedrill-runs/<run-id>/result.json -o html --output-file drill.html
      zonedrill report zonedrill-runs/<game-day-id> --format junit --output-file junit.xml
    """
    try:
        day = gameday_file(result)
        if day is None:
            text = render(load_result(result), Format(form))
        else:
            text = render_gameday(load_finished_gameday(day), Format(form))
    except ZonedrillError as exc:
        refuse(exc)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        refuse(InvalidInputError([Problem(str(output), None, None, "--output-file", _why(exc))]))


def _why(exc: OSError) -> str:
    return f"cannot write there: {exc.strerror or exc}"


@click.group(invoke_without_command=True)
@click.option("--drill", help="Only this drill's runs.")
@click.option(
    "--last",
    type=click.IntRange(min=1, max=MOST_RUNS, clamp=True),
    default=20,
    show_default=True,
    help="How many of the newest runs to list.",
)
@click.option("--gameday", help="List this game day's runs instead of drill runs.")
@click.option(
    "--from-cluster",
    is_flag=True,
    help="With --gameday: read the summaries kept in the cluster (zonedrill-results).",
)
@target_options(cluster_only=True)
@HISTORY_OPTION
@OUTPUT_OPTION
@click.pass_context
def history(
    ctx: click.Context,
    /,
    drill: str | None,
    last: int,
    gameday: str | None,
    from_cluster: bool,
    history_path: Path | None,
    form: str,
    **settings: Any,
) -> None:
    """List recorded runs with outcome, score and worst RTO, and the trend per drill.

    \b
      zonedrill history --drill pangyo-battery-fire
      zonedrill history --gameday weekly-dc-loss [--from-cluster]   game days
      zonedrill history show <run-id>          one run in full
      zonedrill history compare <run-a> <run-b>  figures side by side
    """
    ctx.obj = history_at(history_path)
    ctx.meta[FORM_KEY] = form  # history -o json show ID means the same as history show ID -o json
    if ctx.invoked_subcommand is not None:
        return
    if gameday is not None or from_cluster:
        _gameday_history(ctx.obj, gameday, settings if from_cluster else None, last, form)
        return
    try:
        entries = ctx.obj.runs(drill=drill, last=last)
    except ZonedrillError as exc:
        refuse(exc)
    if form != "text":
        print_document(HistoryOut(runs=[run_out(e) for e in entries]), form)
        return
    console = SafeConsole()
    if not entries:
        console.print("no runs recorded" + (f" for drill {drill}" if drill else ""))
        return
    _print_runs(console, entries)
    for name in sorted({e.doc.drill for e in entries}):
        console.print(
            trend_line(name, [e for e in entries if e.doc.drill == name]), highlight=False
        )


def _gameday_history(
    history: History, name: str | None, settings: dict[str, Any] | None, last: int, form: str
) -> None:
    """Game days, newest first, from the history or (with settings) from the cluster."""
    try:
        if name is None:
            raise InvalidInputError(
                [Problem("history", None, None, "", "--from-cluster needs --gameday NAME")]
            )
        if settings is not None:
            days = run_async(lambda: cluster_record(settings, name)).summaries[:last]
        else:
            days = [summary_of(d) for d in history.gamedays(name=name, last=last)]
    except ZonedrillError as exc:
        refuse(exc)
    if form != "text":
        print_document(GameDayHistoryOut(gamedays=days), form)
        return
    console = SafeConsole()
    if not days:
        console.print(
            f"no game day {name} recorded" + (" in the cluster" if settings is not None else "")
        )
        return
    table = Table(title=f"game day {name}, newest first", title_justify="left")
    for column in ("ended (UTC)", "game day", "trigger", "outcome", "mean score", "drills"):
        table.add_column(column, no_wrap=column == "game day")
    for day in days:
        ran = ", ".join(f"{r.drill} {r.outcome}" for r in day.runs)
        skipped = f"; {day.skipped} skipped" if day.skipped else ""
        table.add_row(
            f"{day.ended_at:%Y-%m-%d %H:%M}",
            day.game_day_id,
            day.trigger,
            day.outcome,
            numbers.score(day.mean_score),
            ran + skipped,
        )
    console.print(table)


def _print_runs(console: Console, entries: list[RunEntry]) -> None:
    """The runs as a table, or, on a terminal too narrow for it, one short block per run.

    A table cut to 80 columns leaves every column but the id unreadable; a block keeps the id
    whole on its own line (history show takes it) and every figure under it.
    """
    table = _runs_table(entries)
    if not console.is_terminal or measure(console, table) <= console.width:
        console.print(table)
        return
    console.print("runs, newest first")
    for entry in entries:
        doc = entry.doc
        console.print(doc.run_id, style="bold", soft_wrap=True)
        console.print(
            f"  ended {doc.ended_at:%Y-%m-%d %H:%M} UTC · {doc.drill} on {doc.target} · "
            f"trigger {entry.trigger}"
        )
        score = numbers.score(doc.score)
        console.print(f"  {doc.outcome} · score {score} · worst RTO {_worst_rto(entry)}")


def measure(console: Console, table: Table) -> int:
    """The width ``table`` takes when nothing in it is wrapped."""
    return Measurement.get(console, console.options.update_width(10_000), table).maximum


def _runs_table(entries: list[RunEntry]) -> Table:
    table = Table(title="runs, newest first", title_justify="left")
    longest = max(len(e.doc.run_id) for e in entries)
    for column in ("ended (UTC)", "run", "drill", "target", "trigger", "outcome", "score"):
        if column == "run":  # fed to history show: never cut; the other columns wrap instead
            table.add_column(column, no_wrap=True, min_width=longest)
        else:
            table.add_column(column)
    table.add_column("worst RTO")
    for entry in entries:
        doc = entry.doc
        rto = _worst_rto(entry)
        table.add_row(
            f"{doc.ended_at:%Y-%m-%d %H:%M}",
            doc.run_id,
            doc.drill,
            doc.target,
            entry.trigger,
            doc.outcome,
            numbers.score(doc.score),
            rto,
        )
    return table


def _worst_rto(entry: RunEntry) -> str:
    if entry.unrecovered:
        return numbers.rto(None)
    return "—" if entry.worst_rto is None else numbers.rto(entry.worst_rto)


def trend_line(drill: str, newest_first: list[RunEntry]) -> str:
    """``drill: score ▁▅█ 55.6 → 100.0 (+44.4) over 3 run(s); worst RTO 10.24s → —``."""
    runs = list(reversed(newest_first))
    scores = [e.doc.score for e in runs if e.doc.score is not None]
    if not scores:
        return f"{drill}: no scored runs"
    low, high = min(scores), max(scores)
    top = len(SPARKS) - 1
    spark = "".join(SPARKS[int((s - low) / (high - low or 1) * top)] for s in scores)
    change = f"{scores[0]:.1f} → {scores[-1]:.1f} ({scores[-1] - scores[0]:+.1f})"
    rto = f"worst RTO {_worst_rto(runs[0])} → {_worst_rto(runs[-1])}"
    return f"{drill}: score {spark} {change} over {len(runs)} run(s); {rto}"


@history.command("show")
@click.argument("run_id")
@OUTPUT_OPTION
@click.pass_context
def history_show(ctx: click.Context, run_id: str, form: str) -> None:
    """One recorded run in full: as Markdown, or its result document with -o json|yaml."""
    store: History = ctx.obj
    form = form if form != "text" else ctx.meta.get(FORM_KEY, form)
    try:
        entry = store.get(run_id)
    except ZonedrillError as exc:
        refuse(exc)
    if form != "text":
        print_document(entry.doc, form)
        return
    click.echo(clean(f"trigger: {entry.trigger}; result: {entry.result_path}\n"))
    click.echo(markdown(FinishedRun(doc=entry.doc, path=Path(entry.result_path), samples=[])))


history.add_command(history_compare)
