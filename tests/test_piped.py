"""Output for programs: piped lines are never wrapped or cut, and run ids never shortened."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from orchestrator.results.history import History
from tests.support import REPO, ZONEDRILL
from tests.test_history import entry_for

FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"
LONG_ID = "pangyo-battery-fire-multizone-20261126T100928Z-4c62"


def piped(state: Path, *args: str, columns: int = 40, progress: bool = False, **env: str) -> str:
    """Run zonedrill with its output going to a pipe (not a terminal) at ``columns``.

    Its standard output, or with ``progress`` its standard error, where progress goes.
    """
    done = subprocess.run(
        [*ZONEDRILL, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "ZONEDRILL_STATE_DIR": str(state), "COLUMNS": str(columns), **env},
    )
    return done.stderr if progress else done.stdout


def test_piped_lines_are_whole_whatever_the_width(tmp_path: Path) -> None:
    """A long path and the plan's risk sentences each stay on one line at 40 columns."""
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "drills"
    deep.mkdir(parents=True)
    drill = deep / FLAGSHIP.name
    drill.write_text(FLAGSHIP.read_text())
    (deep / "labs").symlink_to(FLAGSHIP.parent / "labs")
    out = piped(tmp_path, "validate", str(drill))
    assert f"ok {drill} (Drill pangyo-battery-fire)" in out.splitlines()
    risks = json.loads(piped(tmp_path, "plan", str(FLAGSHIP), "-o", "json"))["risks"]
    lines = piped(tmp_path, "plan", str(FLAGSHIP)).splitlines()
    assert risks
    for risk in risks:
        assert f"  risk: {risk}" in lines


def test_history_never_cuts_a_run_id(tmp_path: Path) -> None:
    """On a narrow terminal and in a pipe alike, history prints every id whole."""
    history = History(tmp_path / "history.sqlite")
    entry, text = entry_for(LONG_ID, 100.0, 5, 0.0)
    history.record(entry, document=text)
    on_terminal = piped(tmp_path, "history", columns=60, TTY_COMPATIBLE="1")
    assert LONG_ID in on_terminal, on_terminal
    assert LONG_ID in piped(tmp_path, "history", columns=60)


def test_a_piped_run_says_where_it_is(tmp_path: Path) -> None:
    """T0 on the wall clock with its zone, heartbeats between events, the guardrail trip."""
    drill = REPO / "drills" / "pangyo-guardrail-abort.yaml"
    out = piped(
        tmp_path, "run", str(drill), "--out", str(tmp_path / "run"), progress=True, TZ="Asia/Seoul"
    )
    assert re.search(r"▶ chaos \(40s\); T0 = \d{4}-\d\d-\d\d \d\d:\d\d:\d\d KST \(\+0900\)", out)
    assert re.search(r"T\+ +\d+\.\ds chaos, \d+s left: talk-api DOWN [\d.]+ % passed", out), out
    assert re.search(r"! T\+ +\d+\.\ds aborting: guardrail: probe talk-api failing", out), out


def test_history_on_an_80_column_terminal_keeps_every_column_readable(tmp_path: Path) -> None:
    """Too narrow for the table: one block per run, the id whole, every figure on one line."""
    history = History(tmp_path / "history.sqlite")
    entry, text = entry_for(LONG_ID, 55.6, 5, 10.24)
    history.record(entry, document=text)
    shown = piped(tmp_path, "history", columns=80, TTY_COMPATIBLE="1")
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in shown.splitlines()]
    assert all(len(line) <= 80 for line in lines), lines
    assert LONG_ID in lines
    at = next(i for i, line in enumerate(lines) if line.startswith("  ended "))
    figures = " ".join(lines[at : at + 2])
    for words in (entry.doc.drill, "trigger ci", "failed", "score 55.6", "worst RTO 10.24s"):
        assert words in figures, figures


def test_piped_tables_are_plain_columns(tmp_path: Path) -> None:
    """Piped, tables have no box characters: a zone's row splits into its fields as awk does."""
    shown = piped(tmp_path, "plan", str(FLAGSHIP), columns=200)
    assert not set("┃━│─┏┓┗┛╇┡┩") & set(shown), shown
    row = next(line.split() for line in shown.splitlines() if line.startswith("pangyo "))
    assert row[:3] == ["pangyo", "2", "4"] or row[0] == "pangyo"
    assert [line for line in shown.splitlines() if line != line.rstrip()] == []  # no padding
