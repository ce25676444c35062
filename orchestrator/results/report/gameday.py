"""A game day's one report (spec §6): HTML, Markdown and JUnit XML covering every drill.

The HTML opens on the summary table and the score trend of the last game days of the same name,
then gives each drill its own timelines, drawn as the drill's own report draws them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from orchestrator.results import numbers
from orchestrator.results.document import ResultDoc
from orchestrator.results.gameday_files import FinishedGameDay
from orchestrator.results.gameday_result import GameDayResult, GameDayRunDoc
from orchestrator.results.report import timeline
from orchestrator.results.report.document import FinishedRun
from orchestrator.results.report.render import (
    OUTCOME_ICONS,
    Format,
    junit_cases,
    md,
    templates,
    xml_text,
)

TREND_WIDTH, TREND_HEIGHT, TREND_PAD = 960.0, 140.0, 40.0
TREND_GAME_DAYS = 12


@dataclass(frozen=True)
class GameDayReport:
    """A game day, the drill runs it can still read, and earlier game days of its name."""

    doc: GameDayResult
    folder: Path
    runs: dict[str, FinishedRun]  # by run id; a run whose folder is gone is left out
    earlier: list[GameDayResult]  # newest first, this one excluded


def markdown(report: GameDayReport) -> str:
    """A summary fit for a pull-request comment or a CI step summary."""
    doc = report.doc
    icon = "✅" if doc.outcome == "passed" else "❌" if doc.outcome == "failed" else "⚠️"
    lines = [
        f"## {icon} game day {md(doc.gameday)}: {doc.outcome}, mean score "
        f"{numbers.score(doc.mean_score)}/100",
        "",
    ]
    lines += [f"**Why:** {md(doc.reason)}", ""] if doc.reason else []
    lines += [
        f"Game day {md(doc.game_day_id)} on {md(doc.target)}, {doc.started_at:%Y-%m-%d %H:%M} "
        f"UTC, {numbers.seconds(doc.wall_seconds)} in all; {_rule(doc)}; seed {doc.seed}.",
        "",
        "| # | drill | outcome | score | worst RTO | paused before | run |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [_md_row(r) for r in doc.runs]
    lines += [
        f"| {s.index + 1} | {md(s.drill)} | skipped: {md(s.why)} | | | | |" for s in doc.skipped
    ]
    for run in doc.runs:
        lines += _drill_md(run, report.runs.get(run.run_id))
    return "\n".join(lines) + "\n"


def _drill_md(run: GameDayRunDoc, finished: FinishedRun | None) -> list[str]:
    """A drill's targets against what was seen, and why it ended as it did."""
    lines = ["", f"### {run.index + 1}. {md(run.drill)}: {run.outcome}", ""]
    if finished is None:
        return [*lines, f"Its run folder ({md(run.result)}) cannot be read."]
    doc = finished.doc
    lines += [f"**Why:** {md(doc.reason)}", ""] if doc.reason else []
    if not doc.checks:
        return lines
    lines += ["| target | observed | credit | |", "|---|---|---|---|"]
    for check in doc.checks:
        target = numbers.check_name(check)
        observed = numbers.metric_value(check.metric, check.observed)
        verdict = "✅" if check.passed else "❌"
        lines.append(f"| {md(target)} | {observed} | {check.credit:.2f} | {verdict} |")
    return lines


def _md_row(run: GameDayRunDoc) -> str:
    return (
        f"| {run.index + 1} | {md(run.drill)} | {OUTCOME_ICONS[run.outcome]} {run.outcome} "
        f"| {numbers.score(run.score)} | {numbers.metric_value('rto', run.worst_rto)} "
        f"| {numbers.seconds(run.paused_before)} | {md(run.run_id)} |"
    )


def junit(report: GameDayReport) -> str:
    """One test suite per drill (its checks, probes and outcome) and one for the game day.

    A game day that passed has no failed case: a drill that failed within ``passWhen`` is a
    passed case with its misses in ``system-out``, so a CI test view agrees with the gate.
    """
    doc = report.doc
    tolerated = (
        f"tolerated, the game day passed ({_rule(doc)}): " if doc.outcome == "passed" else ""
    )
    root = ET.Element("testsuites", {"name": f"zonedrill.gameday.{doc.gameday}"})
    for run in doc.runs:
        finished = report.runs.get(run.run_id)
        if finished is None:  # no evidence is never tolerated: the gate fails on it too
            missing = f"its run folder {run.result} cannot be read: no evidence, no pass"
            _suite(root, f"zonedrill.{run.drill}", [("run folder", missing)], "")
            continue
        cases = junit_cases(finished.doc)
        _suite(root, f"zonedrill.{run.drill}", [(c.name, c.failure) for c in cases], tolerated)
    verdicts = [(f"{r.index + 1} {r.drill}", _failure(r)) for r in doc.runs]
    verdicts += [(f"{s.index + 1} {s.drill}", f"skipped: {s.why}") for s in doc.skipped]
    game = None if doc.outcome == "passed" else f"{doc.outcome}: {doc.reason}"
    summary = [*verdicts, ("outcome", game)]
    _suite(root, f"zonedrill.gameday.{doc.gameday}", summary, tolerated)
    ET.indent(root)
    return xml_text(ET.tostring(root, encoding="unicode", xml_declaration=True)) + "\n"


def _rule(doc: GameDayResult) -> str:
    """The game day's passWhen in words."""
    if doc.min_score is None:
        return "passes when every drill passed"
    return f"passes when the mean score is at least {doc.min_score:g}"


def _failure(run: GameDayRunDoc) -> str | None:
    return None if run.outcome == "passed" else f"{run.outcome}, score {numbers.score(run.score)}"


def _suite(
    root: ET.Element, name: str, cases: list[tuple[str, str | None]], tolerated: str
) -> None:
    failed = [f for _, f in cases if f is not None and not tolerated]
    suite = ET.SubElement(
        root, "testsuite", name=name, tests=str(len(cases)), failures=str(len(failed)), errors="0"
    )
    for case, failure in cases:
        element = ET.SubElement(suite, "testcase", classname=name, name=case)
        if failure is not None and tolerated:
            ET.SubElement(element, "system-out").text = tolerated + failure
        elif failure is not None:
            ET.SubElement(element, "failure", message=failure, type="GameDayMissed").text = failure


@dataclass(frozen=True)
class TrendPoint:
    """One game day on the trend chart."""

    x: float
    y: float
    when: str
    score: str
    outcome: str
    anchor: str  # where the date sits: the first and last points keep it inside the chart


def trend(report: GameDayReport) -> list[TrendPoint]:
    """The mean scores of the last game days of this name, oldest first (this one last)."""
    days = [*reversed(report.earlier[: TREND_GAME_DAYS - 1]), report.doc]
    step = (TREND_WIDTH - 2 * TREND_PAD) / max(1, len(days) - 1)
    height = TREND_HEIGHT - 2 * TREND_PAD
    last = len(days) - 1
    return [
        TrendPoint(
            x=TREND_PAD + i * step,
            y=TREND_PAD + height * (1 - (day.mean_score or 0.0) / 100),
            when=f"{day.started_at:%m-%d %H:%M}",
            score=numbers.score(day.mean_score),
            outcome=day.outcome,
            anchor="start" if i == 0 and last else "end" if i == last and last else "middle",
        )
        for i, day in enumerate(days)
    ]


def html(report: GameDayReport) -> str:
    """One self-contained page: summary, trend, then each drill's timelines."""
    drills: list[tuple[GameDayRunDoc, ResultDoc | None, list[timeline.Chart]]] = []
    for run in report.doc.runs:
        finished = report.runs.get(run.run_id)
        if finished is None:
            drills.append((run, None, []))
            continue
        axis = timeline.axis_of(finished)
        charts = [timeline.chart(finished, probe, axis) for probe in finished.doc.probes]
        drills.append((run, finished.doc, charts))
    page = templates.get_template("gameday.html.j2")
    return page.render(
        doc=report.doc,
        drills=drills,
        trend=trend(report),
        size=(TREND_WIDTH, TREND_HEIGHT, TREND_PAD),
        n=numbers,
        g=timeline,
    )


RENDERERS = {Format.HTML: html, Format.MD: markdown, Format.JUNIT: junit}


def render_gameday(day: FinishedGameDay, form: Format) -> str:
    """The report of a game day read back from its folder (no trend: no history is read)."""
    report = GameDayReport(doc=day.doc, folder=day.folder, runs=day.runs, earlier=[])
    return RENDERERS[form](report)


def write_gameday_reports(report: GameDayReport) -> list[Path]:
    """Write every format into the game day's folder; return the files."""
    written = []
    for form, render in RENDERERS.items():
        target = report.folder / form.file_name
        target.write_text(render(report), encoding="utf-8")
        written.append(target)
    return written
