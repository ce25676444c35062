"""Every example drill, end to end on the lab, through the real CLI (real time, ~40s)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.probes.samples import in_range
from tests.support import EXAMPLE_OUTCOMES, ZONEDRILL, cli_env, outcome_of, start_until

DRILLS = list(EXAMPLE_OUTCOMES)
pytestmark = pytest.mark.e2e


@dataclass
class Finished:
    """A finished CLI run: exit code, printed output and the result document."""

    code: int
    stdout: str
    stderr: str
    result: dict[str, Any]
    out: Path
    state: Path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    """Run all example drills at once (they are independent labs) and collect the results."""
    base = tmp_path_factory.mktemp("e2e")
    started = {}
    for name in DRILLS:
        out, state = base / name, base / f"{name}-state"
        command = [*ZONEDRILL, "run", f"drills/{name}.yaml", "--out", str(out), "--json"]
        started[name] = (
            subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=cli_env(state),
            ),
            out,
            state,
        )
    finished = {}
    for name, (process, out, state) in started.items():
        stdout, stderr = process.communicate(timeout=180)
        result = json.loads((out / "result.json").read_text())
        finished[name] = Finished(process.returncode, stdout, stderr, result, out, state)
    return finished


def rto(result: dict[str, Any], probe: str) -> dict[str, Any]:
    """The first RTO entry of ``probe``."""
    entry = next(p for p in result["probes"] if p["name"] == probe)
    return dict(entry["rto"][0])


def test_flagship_fails_its_rto_as_predicted(runs: dict[str, Finished]) -> None:
    """talk-api, packed in pangyo, is down for reschedule + startup (2s + 8s) within one period."""
    run = runs["pangyo-battery-fire"]
    assert (run.code, run.result["outcome"]) == (1, "failed")
    talk = rto(run.result, "talk-api")
    assert talk["seconds"] == pytest.approx(10.0, abs=0.25)
    assert talk["recoveredBy"] == "failover"
    assert rto(run.result, "auth-api")["seconds"] == 0.0
    failed = {(c["probe"], c["metric"]) for c in run.result["checks"] if not c["passed"]}
    assert failed == {("talk-api", "rto"), ("talk-api", "availability")}
    assert json.loads(run.stdout) == run.result  # -o json: the document alone on stdout
    assert "predicted outage of messaging/talk-api" in run.stderr  # the plan is progress
    assert run.result["restored"] is True


def test_flagship_result_is_recomputable_from_samples(runs: dict[str, Finished]) -> None:
    """availability in result.json equals passed/samples over the chaos window of samples.jsonl."""
    run = runs["pangyo-battery-fire"]
    lines = (run.out / "samples.jsonl").read_text().splitlines()
    samples = [json.loads(line) for line in lines]
    t0, end = run.result["timeline"]["t0"], run.result["timeline"]["figuresEnd"]
    chaos = [s for s in samples if s["probe"] == "talk-api" and in_range(s["scheduled"], t0, end)]
    talk = next(p for p in run.result["probes"] if p["name"] == "talk-api")
    assert talk["samples"] == len(chaos) == 120
    assert talk["availability"] == pytest.approx(
        100 * sum(s["passed"] for s in chaos) / len(chaos), abs=1e-3
    )


def test_multizone_flagship_passes(runs: dict[str, Finished]) -> None:
    """Spread across three sites, losing pangyo costs nothing: passed, score 100, exit 0."""
    run = runs["pangyo-battery-fire-multizone"]
    assert (run.code, run.result["outcome"], run.result["score"]) == (0, "passed", 100.0)
    assert rto(run.result, "talk-api")["seconds"] == 0.0


def test_drain_is_paced_by_the_pdb(runs: dict[str, Finished]) -> None:
    """Both pangyo pods are evicted, the PDB refuses at least once, the service stays up."""
    run = runs["pangyo-drain-pdb"]
    assert (run.code, run.result["outcome"]) == (0, "passed")
    lose = run.result["steps"][0]
    assert lose["mode"] == "drain"
    assert lose["podsEvicted"] == 2
    assert lose["evictionsBlocked"] >= 1
    assert lose["endedAt"] > lose["startedAt"]


def test_guardrail_aborts_and_restores(runs: dict[str, Finished]) -> None:
    """failingFor 5s trips about 5s into the outage: aborted, exit 3, everything restored."""
    run = runs["pangyo-guardrail-abort"]
    assert (run.code, run.result["outcome"]) == (3, "aborted")
    assert run.result["reason"].startswith("guardrail: probe talk-api failing for")
    assert run.result["restored"] is True
    assert run.result["score"] is None  # its RTO window never ran to its end
    report = (run.out / "report.md").read_text()
    assert ": aborted, score —/100" in report
    assert "**Why:** guardrail: probe talk-api failing for" in report
    timeline = run.result["timeline"]
    assert timeline["figuresEnd"] - timeline["t0"] == pytest.approx(5.25, abs=0.5)
    restore = [s for s in run.result["steps"] if s["action"] == "restore"]
    assert [s["index"] for s in restore] == [None]


@pytest.mark.parametrize("name", DRILLS)
def test_example_ends_as_documented(runs: dict[str, Finished], name: str) -> None:
    """Exit code, outcome and failed checks are the ones the kube versions must match too."""
    run = runs[name]
    assert outcome_of(run.code, run.result) == EXAMPLE_OUTCOMES[name]


def test_every_run_closed_its_journal(runs: dict[str, Finished]) -> None:
    """Each run's journal ends with a restored end record and every undoable change undone."""
    for name, run in runs.items():
        journals = list((run.state / "journal").rglob("*.jsonl"))
        assert len(journals) == 1, name
        records = [json.loads(line) for line in journals[0].read_text().splitlines()]
        assert records[-1] == {**records[-1], "type": "end", "restored": True}
        undoable = {
            r["seq"]
            for r in records
            if r["type"] == "change" and r["change"]["op"] in ("cordon", "add-taint")
        }
        assert undoable
        assert undoable == {r["seq"] for r in records if r["type"] == "restored"}


def test_sigint_mid_run_aborts_restores_and_writes_the_result(tmp_path: Path) -> None:
    """SIGINT during the chaos phase: exit 3, outcome aborted, lab restored, journal closed."""
    out, state = tmp_path / "out", tmp_path / "state"
    process = start_until(
        [*ZONEDRILL, "run", "drills/pangyo-battery-fire.yaml", "--out", str(out)],
        env=cli_env(state),
        marker="lose pangyo (power-loss) done",
    )
    process.send_signal(2)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 3, rest
    result = json.loads((out / "result.json").read_text())
    assert (result["outcome"], result["reason"], result["restored"]) == (
        "aborted",
        "SIGINT received",
        True,
    )
    records = [
        json.loads(x) for x in next((state / "journal").rglob("*.jsonl")).read_text().splitlines()
    ]
    changed = {
        r["seq"] for r in records if r["type"] == "change" and r["change"]["op"] != "delete-pod"
    }
    assert changed == {r["seq"] for r in records if r["type"] == "restored"}
    assert records[-1]["type"] == "end"


@pytest.mark.parametrize("name", DRILLS)
def test_simulate_predicts_the_lab_run_within_one_probe_period(
    runs: dict[str, Finished], name: str, tmp_path: Path
) -> None:
    """plan --simulate agrees with the real-time lab run of the same drill and seed.

    The outcome and failed checks are the same, RTO and downtime within one probe period; the
    document is predicted, on the sim target, and refused by verify as a run.
    """
    real = runs[name].result
    seed = [] if real.get("seed") is None else ["--seed", str(real["seed"])]
    done = subprocess.run(
        [*ZONEDRILL, "plan", f"drills/{name}.yaml", "--simulate", "-o", "json", *seed],
        capture_output=True, text=True, env=cli_env(tmp_path / "state"), timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    guess = json.loads(done.stdout)
    assert (guess["predicted"], guess["target"], guess["outcome"]) == (True, "sim", real["outcome"])
    failed = {(c["probe"], c["metric"]) for c in real["checks"] if not c["passed"]}
    assert {(c["probe"], c["metric"]) for c in guess["checks"] if not c["passed"]} == failed
    for measured, predicted in zip(real["probes"], guess["probes"], strict=True):
        every = measured["every"]
        assert predicted["downtime"] == pytest.approx(measured["downtime"], abs=every)
        for a, b in zip(measured["rto"], predicted["rto"], strict=True):
            assert (a["seconds"] is None) == (b["seconds"] is None)
            if a["seconds"] is not None:
                assert b["seconds"] == pytest.approx(a["seconds"], abs=every), (a, b)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "result.json").write_text(done.stdout)
    verified = subprocess.run(
        [*ZONEDRILL, "verify", str(tmp_path / "run")],
        capture_output=True, text=True, env=cli_env(tmp_path / "state"), timeout=60, check=False,
    )  # fmt: skip
    assert verified.returncode == 2
    assert "a prediction of zonedrill plan --simulate, not a run" in verified.stderr
