"""One format per figure and one name per count, in the terminal summary as in the reports."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from orchestrator.results import numbers
from orchestrator.results.report.document import FinishedRun, parse_result
from orchestrator.results.report.render import Format, render
from orchestrator.run.console import render_summary
from tests.handmade import result_document


def summary_text(document: dict[str, Any]) -> str:
    """The summary as a terminal shows it, wide enough that nothing wraps."""
    console = Console(record=True, width=300, color_system=None)
    console.print(render_summary(parse_result(json.dumps(document), source="handmade")))
    return console.export_text()


def test_the_summary_writes_figures_as_the_reports_do() -> None:
    """Seconds, percentages and the score come from the reports' formatter."""
    text = summary_text(result_document())
    assert "talk-api took 10s to recover, target 5s" in text
    assert "talk-api was available 66.67 %, target 99.00 %" in text
    assert "10s, recovered while pangyo was still down" in text
    assert "24ms" in text
    assert "score 33.3" in text


def test_an_rto_never_recovered_and_one_never_lost_read_plainly() -> None:
    """'did not recover', not 'took not recovered to recover'; 0 is 'no outage'."""
    document = result_document()
    lost = copy.deepcopy(document)
    lost["checks"][0]["observed"] = None
    assert "talk-api did not recover, target 5s" in summary_text(lost)
    assert "took not recovered" not in summary_text(lost)
    calm = copy.deepcopy(document)
    calm["probes"][0]["rto"][0].update(seconds=0.0, recoveredBy=None)
    assert "no outage when pangyo was lost" in summary_text(calm)


def test_one_name_for_evictions_a_pdb_refused() -> None:
    """The terminal, Markdown and HTML name the count the same way."""
    assert numbers.EVICTIONS_REFUSED == "evictions refused by a PDB"
    doc = parse_result(json.dumps(result_document()), source="handmade")
    run = FinishedRun(doc=doc, path=Path("result.json"), samples=[])
    for form in (Format.MD, Format.HTML):
        assert numbers.EVICTIONS_REFUSED in render(run, form)


def test_an_aborted_run_says_why_it_stopped_not_what_it_missed() -> None:
    """No score and no per-check why for an abort: its RTO windows never ran to their end."""
    document = result_document(outcome="aborted", reason="guardrail: probe talk-api failing")
    document["score"] = None
    text = summary_text(document)
    assert "score —" in text
    assert "why: aborted: guardrail: probe talk-api failing" in text
    assert "did not recover" not in text
    assert "took" not in text
