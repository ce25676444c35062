"""zonedrill gate: exit codes and reasons (passed, failed, aborted, stale, low, mixed, corrupt)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.durations import parse_age, parse_duration
from orchestrator.results.history import History, RunEntry
from orchestrator.results.report.document import parse_result
from tests.handmade import graded_document, write_run


def stamp(age: timedelta) -> str:
    """An RFC 3339 time ``age`` ago."""
    return (datetime.now(UTC) - age).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def made(
    run_id: str,
    rto: str,
    *,
    aborted: bool = False,
    age: timedelta = timedelta(hours=1),
    **changes: Any,
) -> dict[str, Any]:
    """The hand-built 10 s outage judged by an RTO target of ``rto``, ended ``age`` ago."""
    return graded_document(
        run_id,
        rto,
        outcome="aborted" if aborted else "",
        startedAt=stamp(age + timedelta(minutes=1)),
        endedAt=stamp(age),
        reason="guardrail: talk-api failing" if aborted else None,
        **changes,
    )


RESULTS = {
    "passed": made("run-passed", "10s"),
    "failed": made("run-failed", "8s"),
    "aborted": made("run-aborted", "10s", aborted=True),
    "stale": made("run-stale", "10s", age=timedelta(days=9)),
    "low": made("run-low", "9s"),
}
"""Scores: passed and stale 100.0, failed 75.0, low 88.9."""


ANY_GRADE = ["--require-outcome", "passed", "--require-outcome", "failed"]


def gate(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run ``zonedrill gate`` in process; return exit code and all output."""
    runner = CliRunner()
    done = runner.invoke(
        main, ["gate", *args], env={"ZONEDRILL_STATE_DIR": str(tmp_path / "state")}
    )
    return done.exit_code, done.output


def files(tmp_path: Path, *names: str) -> list[str]:
    """Write the named hand-built results; return their paths."""
    return [str(write_run(tmp_path / name, RESULTS[name])) for name in names]


@pytest.mark.parametrize(
    ("names", "options", "code", "expected"),
    [
        (
            ["passed"],
            [],
            0,
            "ok   run-passed (handmade) on lab (no cluster recorded): passed, score 100.0",
        ),
        (
            ["failed"],
            [],
            1,
            "FAIL run-failed (handmade) on lab (no cluster recorded): outcome failed, required",
        ),
        (["aborted"], [], 1, "outcome aborted (guardrail: talk-api failing), required passed"),
        (["stale"], ["--max-age", "7d"], 1, "ended 9d ago, older than the maximum age 7d"),
        (["stale"], ["--max-age", "10d"], 0, "gate passed: 1 of 1"),
        (["low"], ["--min-score", "90", *ANY_GRADE], 1, "score 88.9 below the minimum 90"),
        (["low"], ["--min-score", "80", *ANY_GRADE], 0, "gate passed: 1 of 1"),
        (
            ["passed", "failed", "low"],
            ["--min-score", "90"],
            1,
            "gate failed: 1 of 3 result(s) pass",
        ),
        (["aborted"], ["--require-outcome", "aborted"], 0, "gate passed"),
    ],
    ids=[
        "passed",
        "failed",
        "aborted",
        "stale",
        "fresh-enough",
        "low",
        "high-enough",
        "mixed",
        "allowed",
    ],
)
def test_gate_matrix(
    tmp_path: Path, names: list[str], options: list[str], code: int, expected: str
) -> None:
    """Each case exits as a pipeline expects and says why in one line per failing result."""
    exit_code, output = gate(tmp_path, *files(tmp_path, *names), *options)
    assert exit_code == code, output
    assert expected in output


def test_every_reason_of_one_result_is_on_its_line(tmp_path: Path) -> None:
    """A failed, low, stale result gets one line naming all three problems."""
    old_failure = made("run-old", "6s", age=timedelta(days=30))
    path = write_run(tmp_path / "old", old_failure)
    code, output = gate(tmp_path, str(path), "--min-score", "90", "--max-age", "7d")
    line = next(x for x in output.splitlines() if x.startswith("FAIL"))
    assert code == 1
    assert "outcome failed" in line
    assert "score 33.3 below" in line
    assert "older than the maximum age 7d" in line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"kind": "Drill"}', "not a zonedrill result"),
        ('{"kind": "DrillResult", "apiVersion": "zonedrill/v1"}', "runId: Field required"),
    ],
    ids=["corrupt", "foreign", "incomplete"],
)
def test_unreadable_input_exits_2(tmp_path: Path, content: str, message: str) -> None:
    """Damaged or foreign files are input errors (exit 2), never a pass or a plain fail."""
    bad = tmp_path / "result.json"
    bad.write_text(content)
    code, output = gate(tmp_path, str(bad), *files(tmp_path, "passed"))
    assert code == 2
    assert message in output


def record(history: History, document: dict[str, Any], trigger: str) -> None:
    """Put a hand-built result into the history, its run folder beside the history file."""
    path = write_run(history.path.parent / document["runId"], document)
    text = json.dumps(document)
    doc = parse_result(text, source="test")
    history.record(RunEntry(doc=doc, trigger=trigger, result_path=str(path)), document=text)


def test_last_scheduled_run_within_7_days_from_history(tmp_path: Path) -> None:
    """--drill/--trigger/--last judge the newest scheduled run, not a newer manual one."""
    history = History(tmp_path / "h.sqlite")
    record(history, made("sched-old", "10s", age=timedelta(days=2)), "schedule")
    record(history, made("manual-new", "5s", age=timedelta(hours=1)), "manual")
    common = ["--drill", "handmade", "--history", str(tmp_path / "h.sqlite"), "--max-age", "7d"]
    code, output = gate(tmp_path, *common, "--trigger", "schedule")
    assert (code, "ok   sched-old" in output) == (0, True)
    code, output = gate(tmp_path, *common)
    assert (code, "FAIL manual-new" in output) == (1, True)


def test_no_recorded_run_fails_the_gate(tmp_path: Path) -> None:
    """A gate over an empty history fails closed and says so."""
    code, output = gate(tmp_path, "--drill", "never-ran", "--history", str(tmp_path / "h.sqlite"))
    assert code == 1
    assert "no run of drill 'never-ran' is recorded" in output


def test_bad_age_and_corrupt_history_exit_2(tmp_path: Path) -> None:
    """A malformed --max-age and a history file that is not SQLite are input errors."""
    code, output = gate(tmp_path, *files(tmp_path, "passed"), "--max-age", "7x")
    assert (code, "is not an age" in output) == (2, True)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    code, output = gate(tmp_path, "--drill", "handmade", "--history", str(junk))
    assert (code, "not a usable zonedrill history" in output) == (2, True)


def test_ages_accept_days_and_weeks() -> None:
    """--max-age takes d and w on top of Go durations."""
    assert parse_age("7d") == 7 * 86400
    assert parse_age("1w2d") == 9 * 86400
    assert parse_age("2d12h") == 2.5 * 86400
    assert parse_age("90m") == 5400


@pytest.mark.parametrize("text", ["2d", "1d12h", "1w", "1m30s", "250ms"])
def test_drills_and_max_age_read_one_grammar(text: str) -> None:
    """A duration a drill takes, --max-age takes, and the other way round (within a week)."""
    assert parse_duration(text) == parse_age(text)


@pytest.mark.parametrize("text", ["7x", "1 d", "d", "", "30"])
def test_drills_and_max_age_refuse_alike(text: str) -> None:
    """What one refuses the other refuses, with the same examples."""
    with pytest.raises(ValueError, match="not a duration") as in_drill:
        parse_duration(text)
    with pytest.raises(ValueError, match="not an age") as as_age:
        parse_age(text)
    assert str(in_drill.value).replace("a duration", "") == str(as_age.value).replace("an age", "")


@pytest.mark.parametrize(
    "args",
    [
        ["history", "--last", "99999999999999999999"],
        ["gate", "--drill", "d", "--last", "99999999999999999999"],
        ["gate", "--gameday", "g", "--last", "99999999999999999999"],
    ],
)
def test_a_huge_last_reads_as_all_runs_not_a_crash(tmp_path: Path, args: list[str]) -> None:
    """--last beyond SQLite's 64-bit LIMIT raised OverflowError with a traceback."""
    history = History(tmp_path / "h.sqlite")
    record(history, made("one", "10s"), "manual")
    done = CliRunner().invoke(main, [*args, "--history", str(tmp_path / "h.sqlite")])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    assert done.exit_code in (0, 1), done.output


LAB_PLACE = {"identity": "lab/handmade", "uid": None}
PROD = {"identity": "kube/https://127.0.0.1:6443", "uid": "5b1f0c3e-prod"}


def test_runs_on_two_clusters_are_not_judged_together(tmp_path: Path) -> None:
    """A lab pass must not stand in for the production cluster's run: choose, or exit 2."""
    history = History(tmp_path / "h.sqlite")
    record(history, made("lab-new", "10s", target="lab", cluster=LAB_PLACE), "ci")
    failed_prod = made("prod-old", "5s", age=timedelta(hours=2), target="kube", cluster=PROD)
    record(history, failed_prod, "ci")
    common = ["--drill", "handmade", "--history", str(tmp_path / "h.sqlite")]
    code, output = gate(tmp_path, *common)
    assert code == 2, output
    assert "these runs were on 2 clusters or targets" in output
    assert "kube/https://127.0.0.1:6443 (kube-system 5b1f0c3e-prod)" in output
    for chosen in (["--cluster", "5b1f0c3e-prod"], ["--cluster", "https://127.0.0.1:6443"]):
        code, output = gate(tmp_path, *common, *chosen)
        assert code == 1, output
        assert "FAIL prod-old (handmade) on kube/https://127.0.0.1:6443" in output
    code, output = gate(tmp_path, *common, "--target", "lab")
    assert (code, "ok   lab-new (handmade) on lab/handmade:" in output) == (0, True)


def test_a_file_from_another_cluster_fails_a_gate_for_this_one(tmp_path: Path) -> None:
    """Result files: mixed places are refused; a --cluster the file did not run on fails it."""
    lab = str(write_run(tmp_path / "lab", made("lab-new", "10s", cluster=LAB_PLACE)))
    prod = str(write_run(tmp_path / "prod", made("prod", "10s", target="kube", cluster=PROD)))
    code, output = gate(tmp_path, lab, prod)
    assert (code, "choose one with --target" in output.lower()) == (2, True)
    code, output = gate(tmp_path, lab, "--cluster", "5b1f0c3e-prod")
    assert code == 1, output
    assert "ran on lab/handmade, the gate asks for cluster 5b1f0c3e-prod" in output
