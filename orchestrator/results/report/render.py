"""Rendering a finished run as HTML, Markdown or JUnit XML, and writing all three next to it."""

from __future__ import annotations

import enum
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import jinja2

from orchestrator.outcomes import Outcome
from orchestrator.results import numbers
from orchestrator.results.document import CheckDoc, ProbeDoc, ResultDoc
from orchestrator.results.report import timeline
from orchestrator.results.report.document import FinishedRun
from orchestrator.text import clean

OUTCOME_ICONS = {
    Outcome.PASSED: "✅",
    Outcome.FAILED: "❌",
    Outcome.ABORTED: "⚠️",
    Outcome.NOT_STEADY: "⚠️",
    Outcome.ERROR: "💥",
}


class Format(enum.StrEnum):
    """Report formats and the file each is written to next to result.json."""

    HTML = "html"
    MD = "md"
    JUNIT = "junit"

    @property
    def file_name(self) -> str:
        """``report.html``, ``report.md`` or ``junit.xml``."""
        return "junit.xml" if self is Format.JUNIT else f"report.{self.value}"


templates = jinja2.Environment(
    loader=jinja2.PackageLoader("orchestrator.results.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def html(run: FinishedRun) -> str:
    """One self-contained page: inline CSS and SVG, no script, nothing loaded from elsewhere."""
    axis = timeline.axis_of(run)
    charts = [timeline.chart(run, probe, axis) for probe in run.doc.probes]
    page = templates.get_template("report.html.j2")
    return page.render(doc=run.doc, charts=charts, n=numbers, g=timeline)


def markdown(run: FinishedRun) -> str:
    """A summary fit for a pull-request comment or a CI step summary."""
    doc = run.doc
    lines = [
        f"## {OUTCOME_ICONS[doc.outcome]} {md(doc.drill)}: {doc.outcome}, "
        f"score {numbers.score(doc.score)}/100",
        "",
    ]
    lines += [f"> {md(doc.description)}", ""] if doc.description else []
    lines += [f"**Why:** {md(doc.reason)}", ""] if doc.reason else []
    restored = "restored" if doc.restored else "**NOT restored**: run `zonedrill rollback`"
    lines += [
        f"Run {md(doc.run_id)} on {md(doc.target)}, {doc.started_at:%Y-%m-%d %H:%M} UTC; "
        f"{restored}."
    ]
    lines += _checks_md(doc) + _probes_md(doc) + _steps_md(doc)
    if doc.risks:
        lines += ["", "**Risks seen at preflight**", ""] + [f"- {md(r)}" for r in doc.risks]
    return "\n".join(lines) + "\n"


def _checks_md(doc: ResultDoc) -> list[str]:
    """The checks; none for a run that was not steady, whose targets were never measured."""
    if doc.outcome == Outcome.NOT_STEADY:
        return []
    rows = [_check_row(c) for c in doc.checks] or ["| (no targets) | | | | |"]
    return ["", "| check | target | observed | credit | |", "|---|---|---|---|---|", *rows]


def _probes_md(doc: ResultDoc) -> list[str]:
    phase = "baseline" if doc.outcome == Outcome.NOT_STEADY else "chaos phase"
    return [
        "",
        f"| probe ({phase}) | availability | downtime | p50 | p99 | RTO |",
        "|---|---|---|---|---|---|",
        *(_probe_row(p) for p in doc.probes),
    ]


def _steps_md(doc: ResultDoc) -> list[str]:
    if not doc.steps:
        return []
    lines = [
        "",
        f"| at | step | nodes | pods deleted | evicted | {numbers.EVICTIONS_REFUSED} |",
        "|---|---|---|---|---|---|",
    ]
    for s in doc.steps:
        at = f"T0{s.offset:+.2f}s" if s.offset is not None else "—"
        mode = f" ({md(s.mode)})" if s.mode else ""
        lines.append(
            f"| {at} | {s.action} {md(s.zone)}{mode} | {len(s.nodes)} | {s.pods_deleted} "
            f"| {s.pods_evicted} | {s.evictions_blocked} |"
        )
    return lines


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def md(text: str) -> str:
    """User text as literal Markdown: one line, no raw HTML, no emphasis, links or table cells.

    A description with a newline must not start a heading, ``<script>`` must not pass through,
    and a pipe must not split a table row.
    """
    flat = " ".join(clean(text).split())
    html_safe = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", html_safe)


def xml_text(text: str) -> str:
    """Text with the characters XML 1.0 cannot hold (``\x01``, lone surrogates) removed."""
    return _XML_INVALID.sub("", text)


def _check_row(check: CheckDoc) -> str:
    target = numbers.metric_value(check.metric, check.target)
    observed = numbers.metric_value(check.metric, check.observed)
    verdict = "✅" if check.passed else "❌"
    name = f"{md(check.probe)} {numbers.METRIC_NAMES[check.metric]}"
    return f"| {name} | {target} | {observed} | {check.credit:.2f} | {verdict} |"


def _rto_text(probe: ProbeDoc) -> str:
    return (
        ", ".join(f"{md(r.zone)}: {numbers.metric_value('rto', r.seconds)}" for r in probe.rto)
        or "—"
    )


def _probe_row(probe: ProbeDoc) -> str:
    return (
        f"| {md(probe.name)} | {numbers.percent(probe.availability)} | "
        f"{numbers.seconds(probe.downtime)} | {numbers.seconds(probe.latency.p50)} | "
        f"{numbers.seconds(probe.latency.p99)} | {_rto_text(probe)} |"
    )


@dataclass(frozen=True)
class Case:
    """One JUnit testcase: ``failure`` is None when it passed."""

    group: str
    name: str
    failure: str | None
    out: str = ""


def junit_cases(doc: ResultDoc) -> list[Case]:
    """A case per check, one per probe (failing when any of its checks did), one for the outcome."""
    cases = [
        Case("checks", numbers.check_name(c), None if c.passed else numbers.check_verdict(c))
        for c in doc.checks
    ]
    for probe in doc.probes:
        missed = [
            numbers.check_name(c) for c in doc.checks if c.probe == probe.name and not c.passed
        ]
        figures = (
            f"availability {numbers.percent(probe.availability)}, downtime "
            f"{numbers.seconds(probe.downtime)}, p99 {numbers.seconds(probe.latency.p99)}, "
            f"RTO {_rto_text(probe)}"
        )
        failure = f"{figures}; missed: " + "; ".join(missed) if missed else None
        cases.append(Case("probes", probe.name, failure, figures))
    verdict = (
        None if doc.outcome == "passed" else f"{doc.outcome}: {doc.reason or 'targets missed'}"
    )
    cases.append(Case("run", "outcome", verdict, f"score {numbers.score(doc.score)}"))
    return cases


def junit(run: FinishedRun) -> str:
    """JUnit XML of ``junit_cases``; failure messages carry the numbers."""
    doc = run.doc
    cases = junit_cases(doc)
    counts = {"tests": str(len(cases)), "failures": str(sum(c.failure is not None for c in cases))}
    root = ET.Element("testsuites", {"name": "zonedrill", **counts})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": f"zonedrill.{doc.drill}",
            "timestamp": doc.started_at.isoformat(),
            "time": f"{(doc.ended_at - doc.started_at).total_seconds():.3f}",
            "errors": "0",
            **counts,
        },
    )
    for case in cases:
        element = ET.SubElement(
            suite, "testcase", classname=f"zonedrill.{doc.drill}.{case.group}", name=case.name
        )
        if case.out:
            ET.SubElement(element, "system-out").text = case.out
        if case.failure is not None:
            failure = ET.SubElement(
                element, "failure", message=case.failure, type="DrillCheckMissed"
            )
            failure.text = case.failure
    ET.indent(root)
    # ElementTree escapes markup but passes control characters, which no XML parser accepts.
    return xml_text(ET.tostring(root, encoding="unicode", xml_declaration=True)) + "\n"


RENDERERS = {Format.HTML: html, Format.MD: markdown, Format.JUNIT: junit}


def render(run: FinishedRun, form: Format) -> str:
    """The report of ``run`` in ``form``."""
    return RENDERERS[form](run)


def write_reports(run: FinishedRun) -> list[Path]:
    """Write every format next to the result; return the files."""
    written = []
    for form in Format:
        target = run.path.parent / form.file_name
        target.write_text(render(run, form), encoding="utf-8")
        written.append(target)
    return written
