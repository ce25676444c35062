"""Reports (HTML, Markdown, JUnit) from hand-built results carry exactly the right numbers."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from orchestrator.results.report.document import load_result
from orchestrator.results.report.render import Format, render
from orchestrator.results.report.timeline import MAX_COLUMNS
from orchestrator.results.scoring import LoseWindow, probe_figures
from tests.handmade import (
    BASELINE_START,
    CHAOS,
    T0,
    hour_long_document,
    result_document,
    talk_samples,
    write_run,
)
from tests.support import ZONEDRILL, cli_env


@pytest.fixture
def flagship(tmp_path: Path) -> Path:
    """The hand-built flagship-like run on disk."""
    return write_run(tmp_path / "run", result_document())


def test_handmade_figures_are_what_the_samples_say() -> None:
    """The hand-built document agrees with scoring over the hand-built samples."""
    window = LoseWindow(step=0, zone="pangyo", start=T0, end=T0 + CHAOS, restored_at=T0 + 20)
    figures = probe_figures(
        "talk-api",
        0.25,
        talk_samples(),
        t0=T0,
        end=T0 + CHAOS,
        windows=[window],
        first=BASELINE_START,
    )
    probe = result_document()["probes"][0]
    assert (figures.samples, figures.passed) == (probe["samples"], probe["passed"])
    assert figures.availability == pytest.approx(probe["availability"], abs=1e-3)
    assert figures.downtime == probe["downtime"]
    assert (figures.p50, figures.p99) == (probe["latency"]["p50"], probe["latency"]["p99"])
    assert figures.recoveries[0].seconds == pytest.approx(probe["rto"][0]["seconds"])


def test_markdown_carries_outcome_checks_probes_steps_and_risks(flagship: Path) -> None:
    """Every figure appears once, formatted as the other reports do."""
    text = render(load_result(flagship), Format.MD)
    assert text.startswith("## ❌ handmade: failed, score 33.3/100\n")
    assert "| talk-api RTO | 5s | 10s | 0.00 | ❌ |" in text
    assert "| talk-api availability | 99.00 % | 66.67 % | 0.00 | ❌ |" in text
    assert "| talk-api p99 latency | 200ms | 24ms | 1.00 | ✅ |" in text
    assert "| talk-api | 66.67 % | 10s | 22ms | 24ms | pangyo: 10s |" in text
    assert "| T0+0.00s | lose pangyo (power-loss) | 3 | 4 | 0 | 0 |" in text
    assert "- step 0 (power-loss pangyo): predicted outage of messaging/talk-api" in text


def test_junit_has_a_case_per_check_and_probe_with_numbers_on_failures(flagship: Path) -> None:
    """3 checks + 1 probe + the outcome: 5 cases; 2 missed checks, the probe and outcome fail."""
    root = ET.fromstring(render(load_result(flagship), Format.JUNIT).split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("5", "4")
    failures = {
        str(case.get("name")): str(failure.get("message"))
        for case in suite.iter("testcase")
        if (failure := case.find("failure")) is not None
    }
    assert failures["talk-api RTO ≤ 5s"] == "observed 10s, target 5s, credit 0.00"
    assert failures["talk-api availability ≥ 99.00 %"].startswith("observed 66.67 %")
    assert failures["talk-api"].startswith("availability 66.67 %, downtime 10s, p99 24ms")
    assert failures["outcome"] == "failed: targets missed"
    assert "talk-api p99 latency ≤ 200ms" not in failures


def test_junit_passing_run_has_no_failures(tmp_path: Path) -> None:
    """A passed run with only passed checks reports zero failures."""
    checks = [{**c, "credit": 1.0, "passed": True} for c in result_document()["checks"]]
    path = write_run(tmp_path, result_document(outcome="passed", score=100.0, checks=checks))
    root = ET.fromstring(render(load_result(path), Format.JUNIT).split("\n", 1)[1])
    assert root.get("failures") == "0"


def test_html_shows_numbers_and_draws_the_recovery(flagship: Path) -> None:
    """Score, availability and RTO are in the page; the recovery interval is shaded and labelled."""
    page = render(load_result(flagship), Format.HTML)
    assert 'id="score">score 33.3 / 100' in page
    assert "availability <strong>66.67 %</strong>" in page
    assert "RTO after pangyo: <strong>10s</strong>" in page
    assert ">RTO 10s</text>" in page
    assert ">lose pangyo</text>" in page
    assert ">restore pangyo</text>" in page
    assert "<script" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_html_marks_the_guardrail_abort(tmp_path: Path) -> None:
    """An aborted run gets an abort marker and 'not recovered' over the rest of the window."""
    document = result_document(outcome="aborted", reason="guardrail: probe talk-api failing")
    document["score"] = None  # an abort is never scored
    document["probes"][0]["rto"][0].update(seconds=None, recoveredBy=None)
    document["timeline"]["figuresEnd"] = T0 + 5.25
    page = render(load_result(write_run(tmp_path, document)), Format.HTML)
    assert ">abort</text>" in page
    assert ">not recovered</text>" in page
    assert "guardrail: probe talk-api failing" in page


def test_hour_long_run_is_drawn_downsampled_but_keeps_every_outage(tmp_path: Path) -> None:
    """36,000 samples become at most MAX_COLUMNS rects; a single failed sample still shows red."""
    samples = talk_samples(every=0.1, chaos=3600.0, failing=1)
    document = hour_long_document()
    page = render(load_result(write_run(tmp_path, document, samples)), Format.HTML)
    rects = re.findall(r'<rect class="(pass|fail)"', page)
    assert len(rects) <= MAX_COLUMNS
    assert rects.count("fail") == 1
    assert len(page) < 400_000


def test_report_command_writes_each_format_and_refuses_foreign_files(
    flagship: Path, tmp_path: Path
) -> None:
    """zonedrill report renders a run folder; a non-result file exits 2 naming the problem."""
    env = cli_env(tmp_path / "state")
    done = subprocess.run(
        [*ZONEDRILL, "report", str(flagship.parent), "--format", "md"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0
    assert "score 33.3/100" in done.stdout
    foreign = tmp_path / "drill.json"
    foreign.write_text('{"kind": "Drill"}')
    refused = subprocess.run(
        [*ZONEDRILL, "report", str(foreign)], capture_output=True, text=True, env=env, check=False
    )
    assert refused.returncode == 2
    assert "not a zonedrill result: expected kind DrillResult, got 'Drill'" in refused.stderr


def test_run_writes_all_reports_next_to_the_result(tmp_path: Path) -> None:
    """A lab run leaves report.html, report.md and junit.xml beside result.json."""
    out = tmp_path / "out"
    done = subprocess.run(
        [*ZONEDRILL, "run", "drills/pangyo-guardrail-abort.yaml", "--out", str(out)],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "state"),
        check=False,
        timeout=120,
    )
    assert done.returncode == 3
    assert {p.name for p in out.iterdir()} >= {
        "result.json",
        "report.html",
        "report.md",
        "junit.xml",
    }
    assert "## ⚠️ pangyo-guardrail-abort: aborted" in (out / "report.md").read_text()
