"""Run history: recording, listing with trends, show, compare, and concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.errors import InvalidInputError
from orchestrator.results.history import History, RunEntry
from orchestrator.results.report.document import parse_result
from tests.handmade import scored_document

WRITERS, RUNS_EACH = 6, 25


def entry_for(
    run_id: str, score: float, minutes_ago: float, rto: float | None = 10.0
) -> tuple[RunEntry, str]:
    """A hand-built run with its document text."""
    ended = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    document = scored_document(run_id, "failed", score, endedAt=ended.isoformat())
    document["probes"][0]["rto"][0]["seconds"] = rto
    text = json.dumps(document)
    return RunEntry(doc=parse_result(text, source=run_id), trigger="ci", result_path="/r"), text


def write_many(path: str, writer: int) -> None:
    """One writer process: record RUNS_EACH runs, each its own transaction."""
    history = History(Path(path))
    for index in range(RUNS_EACH):
        entry, text = entry_for(f"w{writer}-{index:02d}", 50.0 + index, minutes_ago=index)
        history.record(entry, document=text)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    """Six processes recording at once: every run is there and the database is not locked out."""
    path = str(tmp_path / "history.sqlite")
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=write_many, args=(path, w)) for w in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
    assert [p.exitcode for p in writers] == [0] * WRITERS
    runs = History(Path(path)).runs()
    assert len(runs) == WRITERS * RUNS_EACH
    assert len({r.doc.run_id for r in runs}) == WRITERS * RUNS_EACH


def test_runs_come_newest_first_filtered_and_limited(tmp_path: Path) -> None:
    """runs() orders by end time, filters by drill and trigger, and stops at last."""
    history = History(tmp_path / "h.sqlite")
    for run_id, minutes in (("a", 30), ("b", 10), ("c", 20)):
        entry, text = entry_for(run_id, 60.0, minutes)
        history.record(entry, document=text)
    assert [r.doc.run_id for r in history.runs()] == ["b", "c", "a"]
    assert [r.doc.run_id for r in history.runs(last=2)] == ["b", "c"]
    assert history.runs(drill="other") == []
    assert history.runs(trigger="schedule") == []


def invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run a zonedrill command in process; the default history is the test's."""
    done = CliRunner().invoke(
        main, list(args), env={"ZONEDRILL_STATE_DIR": str(tmp_path), "COLUMNS": "200"}
    )
    return done.exit_code, done.output


def seeded(tmp_path: Path) -> History:
    """Three runs of one drill: score 55.6 → 80 → 100, worst RTO 10 s → 4 s → 0 s."""
    history = History(tmp_path / "history.sqlite")
    for run_id, score, minutes, rto in (
        ("r1", 55.6, 30, 10.0),
        ("r2", 80.0, 20, 4.0),
        ("r3", 100.0, 10, 0.0),
    ):
        entry, text = entry_for(run_id, score, minutes, rto)
        history.record(entry, document=text)
    return history


def record_unscored(history: History, run_id: str, outcome: str, reason: str) -> None:
    """A run with no score (aborted, not steady), ended 5 minutes ago, recorded."""
    ended = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    document = scored_document(run_id, outcome, 0.0, endedAt=ended) | {"score": None}
    document["reason"] = reason
    text = json.dumps(document)
    entry = RunEntry(doc=parse_result(text, source=run_id), trigger="ci", result_path="/r")
    history.record(entry, document=text)


def test_history_lists_runs_and_the_trend(tmp_path: Path) -> None:
    """The listing shows each run and one trend line per drill, oldest to newest."""
    seeded(tmp_path)
    code, output = invoke(tmp_path, "history", "--drill", "handmade")
    assert code == 0
    assert all(run in output for run in ("r1", "r2", "r3"))
    assert (
        "handmade: score ▁▄█ 55.6 → 100.0 (+44.4) over 3 run(s); worst RTO 10s → no outage"
        in output
    )


def test_history_show_and_compare(tmp_path: Path) -> None:
    """show prints one run in full; compare puts figures side by side with the change."""
    seeded(tmp_path)
    code, output = invoke(tmp_path, "history", "show", "r2")
    assert code == 0
    assert "score 80.0/100" in output
    code, output = invoke(tmp_path, "history", "compare", "r1", "r3")
    assert code == 0
    # Not a terminal: plain columns, at least two spaces apart.
    cells = [re.split(r"\s{2,}", line.strip()) for line in output.splitlines()]
    rows = {parts[0]: "  ".join(parts) for parts in cells if len(parts) >= 3}
    assert "+44.4" in rows["score"]
    assert "10s" in rows["talk-api RTO after pangyo"]
    assert "-10s" in rows["talk-api RTO after pangyo"]  # every change carries its unit
    code, output = invoke(tmp_path, "history", "show", "nope")
    assert (code, "no run with id 'nope'" in output) == (2, True)


def test_an_aborted_run_has_no_score_and_the_trend_skips_it(tmp_path: Path) -> None:
    """55.6, then an abort (no score), then 100: the trend reads 55.6 → 100.0, never 0."""
    history = seeded(tmp_path)
    record_unscored(history, "r-aborted", "aborted", "guardrail: probe talk-api failing for 5s")
    code, output = invoke(tmp_path, "history", "--drill", "handmade")
    assert code == 0
    assert "55.6 → 100.0 (+44.4) over 4 run(s)" in output
    scored = scored_document("r-x", "aborted", 40.0)
    with pytest.raises(InvalidInputError, match="never scored"):
        parse_result(json.dumps(scored), source="r-x")


def test_compare_prints_json_and_never_reads_a_baseline_as_a_chaos_phase(tmp_path: Path) -> None:
    """-o json gives every figure and its change; a not-steady run's figures stay empty."""
    history = seeded(tmp_path)
    record_unscored(history, "r-ns", "not-steady", "not steady before the fault: talk-api failed")
    code, output = invoke(tmp_path, "history", "compare", "r1", "r3", "-o", "json")
    assert code == 0, output
    document = json.loads(output)
    assert (document["kind"], document["a"], document["outcomeB"]) == (
        "RunComparison",
        "r1",
        "failed",
    )
    figures = {f["figure"]: f for f in document["figures"]}
    assert figures["score"] == {
        "figure": "score",
        "a": 55.6,
        "b": 100.0,
        "change": pytest.approx(44.4),
    }
    assert figures["talk-api RTO after pangyo"]["change"] == -10.0
    code, output = invoke(tmp_path, "history", "-o", "json", "compare", "r-ns", "r3")
    figures = {f["figure"]: f for f in json.loads(output)["figures"]}
    assert figures["talk-api availability"]["a"] is None
    assert figures["talk-api availability"]["change"] is None
    assert figures["talk-api RTO after pangyo"]["b"] == 0.0
