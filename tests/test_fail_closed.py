"""Fail closed under disk faults, signals, live runs, hostile text and a busy history (issue 9)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.faults.journal import Journal, open_runs
from orchestrator.results.report.document import load_result
from orchestrator.results.report.render import Format, render
from orchestrator.targets.port import Cordon
from tests.handmade import result_document, write_run
from tests.support import ZONEDRILL, cli_env, start_until, zonedrill

LAB = """\
apiVersion: zonedrill/v1
kind: Lab
metadata: {name: crowded}
spec:
  zones:
    pangyo: {nodes: 3, podsPerNode: 40}
    ansan: {nodes: 3, podsPerNode: 60}
    gasan: {nodes: 2, podsPerNode: 40}
  services:
    - {name: bulk, namespace: shop, replicas: 120, spread: zones, reschedule: 1s, startup: 1s}
"""

TWO_LOSSES = """\
apiVersion: zonedrill/v1
kind: Drill
metadata: {name: two-losses}
spec:
  lab: crowded.yaml
  zones:
    pangyo: {nodeSelector: {zonedrill.io/power-zone: pangyo}}
    gasan: {nodeSelector: {zonedrill.io/power-zone: gasan}}
  probes:
    - name: bulk
      http: {service: {namespace: shop, name: bulk}}
      every: 200ms
  baseline: 1s
  duration: 8s
  steps:
    - {at: 0s, lose: pangyo, mode: cordon}
    - {at: 4s, lose: gasan, mode: power-loss}
  targets: [{probe: bulk, availability: "50%"}]
  safety: {maxNodeFraction: 0.7}
"""


def two_losses(tmp_path: Path) -> Path:
    """A lab drill that power-cuts a second zone of 40 pods 4 s into the chaos phase.

    Its journal batch (two cordons, two taints, 40 deletions: about 5 kB) is larger than a
    page, so on a full disk it cannot fit into the journal file's last, partly used page.
    """
    (tmp_path / "crowded.yaml").write_text(LAB)
    path = tmp_path / "two-losses.yaml"
    path.write_text(TWO_LOSSES)
    return path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs that really fills up (mounting needs root, as CI runs)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> None:
    """Write to ``folder`` until the disk is full."""
    with (folder / "filler").open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


def test_a_state_disk_filling_mid_chaos_still_restores_everything(
    tmp_path: Path, small_disk: Path
) -> None:
    """The journal cannot take the 40 deletions: none is sent, both zones are restored, exit 4.

    The cordons of gasan fit in the journal's last page and were made, so gasan is restored too.
    """
    state, out = small_disk / "state", tmp_path / "out"
    process = start_until(
        [*ZONEDRILL, "run", str(two_losses(tmp_path)), "--out", str(out)],
        env=cli_env(state),
        marker="s lose pangyo",  # the live line (T+ 0.0s lose …), not the plan's timeline
    )
    fill(small_disk)
    output, _ = process.communicate(timeout=60)
    result = json.loads((out / "result.json").read_text())
    assert process.returncode == 4, output
    assert result["outcome"] == "error"
    assert "cannot write the journal" in result["reason"]
    assert result["restored"] is True
    restores = [s for s in result["steps"] if s["action"] == "restore"]
    assert sorted((s["zone"], s["note"]) for s in restores) == [
        ("gasan", "automatic restore at end of run"),
        ("pangyo", "automatic restore at end of run"),
    ]
    lose_gasan = next(s for s in result["steps"] if s["zone"] == "gasan")
    assert lose_gasan["podsDeleted"] == 0
    (small_disk / "filler").unlink()
    done = zonedrill(state, "rollback", "--all")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_full_output_disk_is_refused_before_anything_runs(
    tmp_path: Path, small_disk: Path
) -> None:
    """--out on a full disk: exit 2 at preflight, no journal, no empty result."""
    fill(small_disk)
    done = subprocess.run(
        [*ZONEDRILL, "run", str(two_losses(tmp_path)), "--out", str(small_disk / "out")],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "state"),
        check=False,
    )
    assert done.returncode == 2, done.stdout
    assert "--out" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "state" / "journal").exists()


def test_an_out_folder_holding_a_run_is_refused(tmp_path: Path) -> None:
    """A second run into an earlier run's folder would overwrite it: exit 2, untouched."""
    earlier = write_run(tmp_path / "earlier", result_document())
    before = earlier.read_bytes()
    done = subprocess.run(
        [*ZONEDRILL, "run", str(two_losses(tmp_path)), "--out", str(earlier.parent)],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "state"),
        check=False,
    )
    assert done.returncode == 2
    assert "already holds a run" in done.stderr
    assert earlier.read_bytes() == before


def test_torn_and_garbage_journal_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    """Garbage and a torn line are passed over; the next append starts on a fresh line."""
    journal = Journal.create(root=tmp_path, identity="x", run_id="r", drill="d", target="lab")
    with journal.path.open("a") as handle:
        handle.write('not json\n[1, 2]\n{"type": "change", "seq": "x", "change": {}}\n')
        handle.write('{"type": "change", "seq": 2, "chan')
    journal.record([Cordon(node="n1")])
    reopened = Journal.reopen(journal.path)
    assert [e.change for e in reopened.pending_restores()] == [Cordon(node="n1")]
    assert reopened.skipped == 4  # the three lines that are no record, and the bad change
    assert [r.skipped for r in open_runs(tmp_path)] == [3]


def test_two_sigints_50ms_apart_restore_and_exit_3(tmp_path: Path) -> None:
    """A double Ctrl-C is one abort: restore, result written, exit 3 (never 130)."""
    out = tmp_path / "out"
    process = start_until(
        [*ZONEDRILL, "run", str(two_losses(tmp_path)), "--out", str(out)],
        env=cli_env(tmp_path / "state"),
        marker="s lose pangyo",  # the live line (T+ 0.0s lose …), not the plan's timeline
    )
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 3, output
    result = json.loads((out / "result.json").read_text())
    assert (result["outcome"], result["restored"]) == ("aborted", True)


def test_rollback_leaves_a_live_run_alone(tmp_path: Path) -> None:
    """rollback --all while a run is alive: exit 4, the run's journal stays open."""
    state = tmp_path / "state"
    process = start_until(
        [*ZONEDRILL, "run", str(two_losses(tmp_path)), "--out", str(tmp_path / "out")],
        env=cli_env(state),
        marker="s lose pangyo",  # the live line (T+ 0.0s lose …), not the plan's timeline
    )
    try:
        done = zonedrill(state, "rollback", "--all")
        assert done.returncode == 4, done.stdout
        assert f"still running in process {process.pid}" in done.stdout
        assert len(open_runs(state)) == 1
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert open_runs(state) == []


def test_rollback_of_an_unknown_run_id_exits_2(tmp_path: Path) -> None:
    """A mistyped run id is an input error, not 'nothing to restore'."""
    done = zonedrill(tmp_path / "state", "rollback", "nosuch")
    assert done.returncode == 2
    assert "no run nosuch" in done.stdout


def hostile_run(tmp_path: Path) -> Path:
    """The hand-built run with Markdown, HTML and XML-invalid text in its user strings."""
    document = result_document(
        description="line one\n# not a heading <script>alert(1)</script> | `tick`",
        reason="probe failed: \x01 control \x1b[31m",
        risks=["a | b", "<img src=x onerror=alert(1)>"],
    )
    return write_run(tmp_path / "run", document)


def test_markdown_escapes_user_strings(tmp_path: Path) -> None:
    """No heading, no raw HTML, and tables keep their columns."""
    text = render(load_result(hostile_run(tmp_path)), Format.MD)
    lines = text.splitlines()
    assert [x for x in lines if x.startswith("#")] == [lines[0]]
    assert "<script>" not in text
    assert "<img" not in text
    assert "\\| b" in text
    for row in [x for x in lines if x.startswith("| ")]:
        assert row.count(" | ") + 2 == len(lines[lines.index(row)].split(" | ")) + 1


def test_junit_drops_xml_invalid_characters(tmp_path: Path) -> None:
    """A control character in a reason leaves junit.xml readable by an XML parser."""
    text = render(load_result(hostile_run(tmp_path)), Format.JUNIT)
    root = ET.fromstring(text.encode())
    assert "control" in ET.tostring(root, encoding="unicode")


def test_history_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    """While another process holds the write lock, history and gate answer at once."""
    path = tmp_path / "h.sqlite"
    assert CliRunner().invoke(main, ["history", "--history", str(path)]).exit_code == 0
    write_run(tmp_path / "run", result_document())
    from orchestrator.results.history import History, RunEntry  # noqa: PLC0415

    finished = load_result(tmp_path / "run")
    History(path).record(
        RunEntry(doc=finished.doc, trigger="ci", result_path="r"),
        document=finished.path.read_text(),
    )
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE runs SET trigger = 'x'")
    try:
        started = time.monotonic()
        listed = subprocess.run(
            [*ZONEDRILL, "history", "--history", str(path)],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert time.monotonic() - started < 10
        assert listed.returncode == 0, listed.stderr
        assert "handmade" in listed.stdout
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_binary_history_row_exits_2(tmp_path: Path) -> None:
    """A BLOB where the document belongs: exit 2 naming the damage, no traceback."""
    path = tmp_path / "h.sqlite"
    write_run(tmp_path / "run", result_document())
    from orchestrator.results.history import History, RunEntry  # noqa: PLC0415

    finished = load_result(tmp_path / "run")
    History(path).record(
        RunEntry(doc=finished.doc, trigger="ci", result_path="r"),
        document=finished.path.read_text(),
    )
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE runs SET document = ?", (b"\x00\x01binary",))
    done = CliRunner().invoke(main, ["history", "--history", str(path)])
    assert done.exit_code == 2, done.output
    assert "binary data" in done.output


@pytest.mark.parametrize(
    "command", ["run", "validate", "plan", "rollback", "report", "gate", "history", "verify"]
)
def test_help_texts_have_no_stray_markers(command: str) -> None:
    """Click's paragraph marker must never show up as a literal backslash-b."""
    text = CliRunner().invoke(main, [command, "--help"]).output
    assert "\\b" not in text
    assert "Usage: " in text


def test_a_sigint_in_the_baseline_aborts_with_a_result(tmp_path: Path) -> None:
    """Ctrl-C before T0: nothing was touched, the result says aborted, exit 3."""
    out = tmp_path / "out"
    process = start_until(
        [*ZONEDRILL, "run", str(two_losses(tmp_path)), "--out", str(out)],
        env=cli_env(tmp_path / "state"),
        marker="▶ baseline",
    )
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 3, output
    result = json.loads((out / "result.json").read_text())
    assert (result["outcome"], result["score"], result["steps"]) == ("aborted", None, [])


def test_a_stalled_zonedrill_does_not_count_unmeasured_moments(tmp_path: Path) -> None:
    """SIGSTOP for 3 s mid-chaos: the samples it could not start on time are failed ("late")."""
    out = tmp_path / "out"
    process = start_until(
        [*ZONEDRILL, "run", str(two_losses(tmp_path)), "--out", str(out)],
        env=cli_env(tmp_path / "state"),
        marker="s lose pangyo",  # the live line (T+ 0.0s lose …), not the plan's timeline
    )
    time.sleep(0.5)
    process.send_signal(signal.SIGSTOP)
    time.sleep(3.0)
    process.send_signal(signal.SIGCONT)
    output, _ = process.communicate(timeout=60)
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    late = [s for s in samples if s["error"] == "late"]
    assert len(late) >= 8, output
    assert all(not s["passed"] for s in late)
    probe = json.loads((out / "result.json").read_text())["probes"][0]
    assert probe["samples"] - probe["passed"] >= len(late)  # each late sample counts as failed


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (
            '{"type":"begin","runId":"r1","drill":"d","target":"kube","identity":"x","pid":1180591620717411303424}\n',
            "",
        ),
        (
            '{"type":"begin","runId":"r1","drill":"d","target":"lab","identity":"x","pid":1}\n{"type":"change","seq":1e400,"change":{}}\n',
            "",
        ),
        (
            '{"type":"begin","runId":"r1","drill":"d","target":["lab"],"identity":"x","pid":1}\n',
            "unknown target",
        ),
        ("[" * 100_000 + "\n", ""),
    ],
    ids=["huge pid", "seq 1e400", "target a list", "deep JSON"],
)
def test_damaged_journals_never_crash_rollback(tmp_path: Path, damage: str, words: str) -> None:
    """Each damaged journal is read without a traceback; strange ones are named, not dropped."""
    state = tmp_path / "state"
    folder = state / "journal" / "x"
    folder.mkdir(parents=True)
    (folder / "r1.jsonl").write_text(damage)
    done = zonedrill(state, "rollback", "--all")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 4), done.stdout
    assert words in done.stdout


def test_journals_that_are_not_files_are_passed_over(tmp_path: Path) -> None:
    """A directory, a FIFO and a link named like journals: rollback neither crashes nor hangs."""
    folder = tmp_path / "state" / "journal" / "x"
    (folder / "dir.jsonl").mkdir(parents=True)
    os.mkfifo(folder / "fifo.jsonl")
    (folder / "zero.jsonl").symlink_to("/dev/zero")
    done = zonedrill(tmp_path / "state", "rollback", "--all")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing to restore" in done.stdout


def test_an_output_disk_filling_mid_run_writes_no_half_result(
    tmp_path: Path, small_disk: Path
) -> None:
    """--out fills up during the drill: exit 4, saying so and how the run ended.

    No result.json and no partial samples are left to be mistaken for a run.
    """
    out = small_disk / "out"
    process = start_until(
        [*ZONEDRILL, "run", str(two_losses(tmp_path)), "--out", str(out)],
        env=cli_env(tmp_path / "state"),
        marker="s lose pangyo",  # the live line (T+ 0.0s lose …), not the plan's timeline
    )
    fill(small_disk)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 4, output
    assert "cannot write the result" in output
    assert "the cluster was restored" in output
    assert sorted(p.name for p in out.iterdir()) == []
