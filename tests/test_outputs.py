"""-o json|yaml everywhere, as kubectl: the documents scripts read, and -o never a file name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from orchestrator.cli import main
from tests.handmade import write_run
from tests.support import REPO
from tests.test_gate import RESULTS
from tests.test_history import seeded

FLAGSHIP = str(REPO / "drills" / "pangyo-battery-fire.yaml")


def invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run a zonedrill command in process with the test's state directory; code and stdout."""
    done = CliRunner().invoke(main, list(args), env={"ZONEDRILL_STATE_DIR": str(tmp_path)})
    return done.exit_code, done.stdout


def parsed(text: str, form: str) -> Any:
    """The printed document, read back as JSON or YAML."""
    return json.loads(text) if form == "json" else YAML(typ="safe").load(text)


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_validate_reports_every_file_and_problem(tmp_path: Path, form: str) -> None:
    """Valid files name their kind; a broken one carries each located problem; exit 2."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: zonedrill/v1\nkind: Drill\nmetadata: {name: Bad_Name}\n")
    code, out = invoke(tmp_path, "validate", FLAGSHIP, str(broken), "-o", form)
    assert code == 2
    document = parsed(out, form)
    assert document["kind"] == "ValidateResult"
    assert document["valid"] is False
    good, bad = document["files"]
    assert (good["valid"], good["kind"], good["name"]) == (True, "Drill", "pangyo-battery-fire")
    assert bad["valid"] is False
    assert {"metadata.name", "spec"} <= {p["path"] for p in bad["problems"]}
    assert all(p["line"] for p in bad["problems"] if p["path"] == "metadata.name")


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_plan_prints_the_resolved_drill(tmp_path: Path, form: str) -> None:
    """The lab plan of the flagship: its zones with their nodes, the step, the risk."""
    code, out = invoke(tmp_path, "plan", FLAGSHIP, "-o", form)
    assert code == 0, out
    document = parsed(out, form)
    assert document["kind"] == "DrillPlan"
    assert set(document["zones"]) == {"pangyo", "ansan", "gasan"}
    assert document["zones"]["pangyo"]["nodes"]
    assert [(s["zone"], s["mode"]) for s in document["steps"]] == [("pangyo", "power-loss")]
    assert any("talk-api" in risk for risk in document["risks"])


def test_gate_prints_each_verdict(tmp_path: Path) -> None:
    """Every result with its reasons, and the gate's own verdict; the exit code is unchanged."""
    runs = [str(write_run(tmp_path / n, RESULTS[n])) for n in ("passed", "failed")]
    code, out = invoke(tmp_path, "gate", *runs, "-o", "json")
    assert code == 1
    document = json.loads(out)
    assert document["passed"] is False
    verdicts = {r["runId"]: r for r in document["results"]}
    assert verdicts["run-passed"]["passed"] is True
    assert verdicts["run-failed"]["reasons"] == ["outcome failed, required passed"]


def test_history_and_show_print_documents(tmp_path: Path) -> None:
    """The listing has whole run ids; show prints the stored result as it was written."""
    seeded(tmp_path)
    code, out = invoke(tmp_path, "history", "-o", "json")
    assert code == 0
    runs = json.loads(out)["runs"]
    assert [r["runId"] for r in runs] == ["r3", "r2", "r1"]
    assert runs[0]["score"] == 100.0
    code, out = invoke(tmp_path, "history", "show", "r2", "-o", "yaml")
    assert code == 0
    shown = YAML(typ="safe").load(out)
    assert (shown["kind"], shown["runId"], shown["score"]) == ("DrillResult", "r2", 80.0)


@pytest.mark.parametrize(
    "args",
    [
        ["validate", FLAGSHIP, "-o", "out.txt"],
        ["plan", FLAGSHIP, "-o", "plan.json"],
        ["history", "-o", "runs.yaml"],
        ["report", FLAGSHIP, "-o", "json"],
    ],
    ids=["validate", "plan", "history", "report"],
)
def test_an_o_that_is_not_a_format_is_refused(tmp_path: Path, args: list[str]) -> None:
    """-o never names a file: a value that is not a format is a usage error; nothing is written.

    report RUN -o json once wrote Markdown to a file named json.
    """
    done = CliRunner().invoke(main, args, env={"ZONEDRILL_STATE_DIR": str(tmp_path)})
    assert done.exit_code == 2
    assert "is not one of" in done.output
    assert not list(Path.cwd().glob(args[-1]))


def test_report_writes_a_file_only_with_output_file(tmp_path: Path) -> None:
    """--output-file names the file; -o picks the format."""
    run = write_run(tmp_path / "run", RESULTS["passed"])
    target = tmp_path / "report.xml"
    code, out = invoke(tmp_path, "report", str(run), "-o", "junit", "--output-file", str(target))
    assert code == 0
    assert out == ""
    assert target.read_text().startswith("<?xml")
