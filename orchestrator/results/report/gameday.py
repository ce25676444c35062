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
    rule = f"mean score ≥ {doc.min_score:g}" if doc.min_score is not None else "every drill passed"
    lines += [
        f"Game day {md(doc.game_day_id)} on {md(doc.target)}, {doc.started_at:%Y-%m-%d %H:%M} "
        f"UTC, {numbers.seconds(doc.wall_seconds)} in all; passes when {rule}; seed {doc.seed}.",
        "",
        "| # | drill | outcome | score | worst RTO | paused before | run |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [_md_row(r) for r in doc.runs]
    lines += [
        f"| {s.index + 1} | {md(s.drill)} | skipped: {md(s.why)} | | | | |" for s in doc.skipped
    ]
    return "\n".join(lines) + "\n"


def _md_row(run: GameDayRunDoc) -> str:
    return (
        f"| {run.index + 1} | {md(run.drill)} | {OUTCOME_ICONS[run.outcome]} {run.outcome} "
        f"| {numbers.score(run.score)} | {numbers.metric_value('rto', run.worst_rto)} "
        f"| {numbers.seconds(run.paused_before)} | {md(run.run_id)} |"
    )


def junit(report: GameDayReport) -> str:
    """One test suite per drill (its checks, probes and outcome) and one for the game day."""
    doc = report.doc
    root = ET.Element("testsuites", {"name": f"zonedrill.gameday.{doc.gameday}"})
    for run in doc.runs:
        finished = report.runs.get(run.run_id)
        cases = junit_cases(finished.doc) if finished else []
        _suite(root, f"zonedrill.{run.drill}", [(c.name, c.failure) for c in cases])
    verdicts = [(f"{r.index + 1} {r.drill}", _failure(r)) for r in doc.runs]
    verdicts += [(f"{s.index + 1} {s.drill}", f"skipped: {s.why}") for s in doc.skipped]
    game = None if doc.outcome == "passed" else f"{doc.outcome}: {doc.reason}"
    _suite(root, f"zonedrill.gameday.{doc.gameday}", [*verdicts, ("outcome", game)])
    ET.indent(root)
    return xml_text(ET.tostring(root, encoding="unicode", xml_declaration=True)) + "\n"


def _failure(run: GameDayRunDoc) -> str | None:
    return None if run.outcome == "passed" else f"{run.outcome}, score {numbers.score(run.score)}"


def _suite(root: ET.Element, name: str, cases: list[tuple[str, str | None]]) -> None:
    failures = sum(f is not None for _, f in cases)
    suite = ET.SubElement(
        root, "testsuite", name=name, tests=str(len(cases)), failures=str(failures), errors="0"
    )
    for case, failure in cases:
        element = ET.SubElement(suite, "testcase", classname=name, name=case)
        if failure is not None:
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


def write_gameday_reports(report: GameDayReport) -> list[Path]:
    """Write every format into the game day's folder; return the files."""
    written = []
    for form, render in RENDERERS.items():
        target = report.folder / form.file_name
        target.write_text(render(report), encoding="utf-8")
        written.append(target)
    return written
