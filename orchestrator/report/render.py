"""Rendering a finished run as HTML, Markdown or JUnit XML, and writing all three next to it."""

from __future__ import annotations

import enum
import xml.etree.ElementTree as ET
from pathlib import Path

import jinja2

from orchestrator.report import numbers, timeline
from orchestrator.report.document import CheckDoc, FinishedRun, ProbeDoc

OUTCOME_ICONS = {"passed": "✅", "failed": "❌", "aborted": "⚠️", "not-steady": "⚠️", "error": "💥"}


class Format(enum.StrEnum):
    """Report formats and the file each is written to next to result.json."""

    HTML = "html"
    MD = "md"
    JUNIT = "junit"

    @property
    def file_name(self) -> str:
        """``report.html``, ``report.md`` or ``junit.xml``."""
        return "junit.xml" if self is Format.JUNIT else f"report.{self.value}"


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("orchestrator.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def html(run: FinishedRun) -> str:
    """One self-contained page: inline CSS and SVG, no script, nothing loaded from elsewhere."""
    axis = timeline.axis_of(run)
    charts = [timeline.chart(run, probe, axis) for probe in run.doc.probes]
    page = _templates.get_template("report.html.j2")
    return page.render(doc=run.doc, charts=charts, n=numbers, g=timeline)


def markdown(run: FinishedRun) -> str:
    """A summary fit for a pull-request comment or a CI step summary."""
    doc = run.doc
    lines = [
        f"## {OUTCOME_ICONS[doc.outcome]} {doc.drill}: {doc.outcome}, "
        f"score {numbers.score(doc.score)}/100",
        "",
    ]
    lines += [f"> {doc.description}", ""] if doc.description else []
    lines += [f"**Why:** {doc.reason}", ""] if doc.reason else []
    restored = "restored" if doc.restored else "**NOT restored**: run `zonedrill rollback`"
    lines += [
        f"Run `{doc.run_id}` on {doc.target}, {doc.started_at:%Y-%m-%d %H:%M} UTC; {restored}."
    ]
    lines += ["", "| check | target | observed | credit | |", "|---|---|---|---|---|"]
    lines += [_check_row(c) for c in doc.checks] or ["| (no targets) | | | | |"]
    lines += [
        "",
        "| probe | availability | downtime | p50 | p99 | RTO |",
        "|---|---|---|---|---|---|",
    ]
    lines += [_probe_row(p) for p in doc.probes]
    lines += [
        "",
        "| at | step | nodes | pods deleted | evicted | refused |",
        "|---|---|---|---|---|---|",
    ]
    for s in doc.steps:
        at = f"T0{s.offset:+.2f}s" if s.offset is not None else "—"
        mode = f" ({s.mode})" if s.mode else ""
        lines.append(
            f"| {at} | {s.action} {s.zone}{mode} | {len(s.nodes)} | {s.pods_deleted} "
            f"| {s.pods_evicted} | {s.evictions_blocked} |"
        )
    if doc.risks:
        lines += ["", "**Risks seen at preflight**", ""] + [f"- {r}" for r in doc.risks]
    return "\n".join(lines) + "\n"


def _check_row(check: CheckDoc) -> str:
    target = numbers.metric_value(check.metric, check.target)
    observed = numbers.metric_value(check.metric, check.observed)
    verdict = "✅" if check.passed else "❌"
    name = f"{check.probe} {numbers.METRIC_NAMES[check.metric]}"
    return f"| {name} | {target} | {observed} | {check.credit:.2f} | {verdict} |"


def _rto_text(probe: ProbeDoc) -> str:
    return (
        ", ".join(f"{r.zone}: {numbers.metric_value('rto', r.seconds)}" for r in probe.rto) or "—"
    )


def _probe_row(probe: ProbeDoc) -> str:
    return (
        f"| {probe.name} | {numbers.percent(probe.availability)} | "
        f"{numbers.seconds(probe.downtime)} | {numbers.seconds(probe.latency.p50)} | "
        f"{numbers.seconds(probe.latency.p99)} | {_rto_text(probe)} |"
    )


def junit(run: FinishedRun) -> str:
    """One testcase per check, one per probe and one for the outcome; failures carry numbers."""
    doc = run.doc
    suite = ET.Element(
        "testsuite", name=f"zonedrill.{doc.drill}", timestamp=doc.started_at.isoformat()
    )
    cases = 0
    failures = 0
    for check in doc.checks:
        failures += _case(
            suite,
            f"{doc.drill}.checks",
            numbers.check_name(check),
            None if check.passed else numbers.check_verdict(check),
        )
        cases += 1
    for probe in doc.probes:
        missed = [c for c in doc.checks if c.probe == probe.name and not c.passed]
        figures = (
            f"availability {numbers.percent(probe.availability)}, downtime "
            f"{numbers.seconds(probe.downtime)}, p99 {numbers.seconds(probe.latency.p99)}, "
            f"RTO {_rto_text(probe)}"
        )
        message = None
        if missed:
            message = f"{figures}; missed: " + "; ".join(numbers.check_name(c) for c in missed)
        failures += _case(suite, f"{doc.drill}.probes", probe.name, message, figures)
        cases += 1
    verdict = (
        None if doc.outcome == "passed" else f"{doc.outcome}: {doc.reason or 'targets missed'}"
    )
    failures += _case(
        suite, f"{doc.drill}.run", "outcome", verdict, f"score {numbers.score(doc.score)}"
    )
    suite.set("tests", str(cases + 1))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    duration = (doc.ended_at - doc.started_at).total_seconds()
    suite.set("time", f"{duration:.3f}")
    root = ET.Element("testsuites", name="zonedrill", tests=str(cases + 1), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _case(suite: ET.Element, classname: str, name: str, failure: str | None, out: str = "") -> int:
    case = ET.SubElement(suite, "testcase", classname=f"zonedrill.{classname}", name=name)
    if out:
        ET.SubElement(case, "system-out").text = out
    if failure is None:
        return 0
    ET.SubElement(case, "failure", message=failure, type="DrillCheckMissed").text = failure
    return 1


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
