"""Game days on the lab (spec §6): order, pauses, early stops, SIGINT, one report, the gate.

The drills are short (1 s baseline, 2 s chaos) on a three-site lab with one service spread over
the sites (a loss costs nothing) and one packed into site a (a loss of a takes it down for
reschedule + startup = 1 s).
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from orchestrator.drill.picks import drill_seed
from tests.handmade import result_document, write_run
from tests.support import ZONEDRILL, cli_env, start_until, zonedrill

LAB = """\
apiVersion: zonedrill/v1
kind: Lab
metadata: {name: three}
spec:
  zones:
    a: {nodes: 1, podsPerNode: 6}
    b: {nodes: 1, podsPerNode: 6}
    c: {nodes: 1, podsPerNode: 6}
  services:
    - {name: spread, namespace: m, replicas: 3, spread: zones, reschedule: 500ms, startup: 500ms}
    - {name: packed, namespace: m, replicas: 2, spread: pack, reschedule: 500ms, startup: 500ms}
"""
DRILL = """\
apiVersion: zonedrill/v1
kind: Drill
metadata: {{name: {name}}}
spec:
  lab: lab.yaml
  zones:
    a: {{nodeSelector: {{zonedrill.io/power-zone: a}}}}
    b: {{nodeSelector: {{zonedrill.io/power-zone: b}}}}
    c: {{nodeSelector: {{zonedrill.io/power-zone: c}}}}
  probes:
    - {{name: api, http: {{service: {{namespace: m, name: {service}}}}}, every: 100ms}}
  baseline: 1s
  duration: {duration}
  steps:
    - {{at: 0s, lose: {lose}}}
  targets:
    - {{probe: api, rto: 300ms, availability: "50%"}}
{extra}"""


def write_drill(
    folder: Path,
    name: str,
    *,
    service: str = "spread",
    lose: str = "a",
    duration: str = "2s",
    extra: str = "",
) -> str:
    """Write a drill file next to the lab; return its file name."""
    (folder / "lab.yaml").write_text(LAB)
    text = DRILL.format(name=name, service=service, lose=lose, duration=duration, extra=extra)
    (folder / f"{name}.yaml").write_text(text)
    return f"{name}.yaml"


def write_gameday(folder: Path, drills: list[str], spec: str = "", name: str = "gd") -> Path:
    """Write a game day of ``drills`` (file names, with optional ``|pauseBefore``)."""
    entries = []
    for entry in drills:
        file, _, pause = entry.partition("|")
        entries.append(f"    - {{file: {file}" + (f", pauseBefore: {pause}" if pause else "") + "}")
    text = (
        f"apiVersion: zonedrill/v1\nkind: GameDay\nmetadata: {{name: {name}}}\nspec:\n"
        "  drills:\n" + "\n".join(entries) + "\n" + spec
    )
    path = folder / f"{name}.gameday.yaml"
    path.write_text(text)
    return path


def run_gameday(tmp_path: Path, gameday: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    """Run it; return the exit code, gameday.json and everything printed."""
    out = tmp_path / "out"
    done = zonedrill(tmp_path / "state", "gameday", "run", str(gameday), "--out", str(out), *extra)
    result = json.loads((out / "gameday.json").read_text())
    return done.returncode, result, done.stdout + done.stderr


def test_a_game_day_of_passing_drills_passes_with_one_report(tmp_path: Path) -> None:
    """Every drill runs in order after its pause; gameday.json, reports, history and gate."""
    first = write_drill(tmp_path, "one")
    second = write_drill(tmp_path, "two", lose="{anyOf: [b, c]}")
    gameday = write_gameday(tmp_path, [first, f"{second}|1s"])
    code, result, printed = run_gameday(tmp_path, gameday, "--seed", "3")
    assert code == 0, printed
    assert (result["kind"], result["outcome"], result["meanScore"]) == (
        "GameDayResult",
        "passed",
        100.0,
    )
    assert [r["drill"] for r in result["runs"]] == ["one", "two"]
    assert result["seed"] == 3
    assert [r["pausedBefore"] for r in result["runs"]] == [0.0, 1.0]
    assert "drill 1 of 2: one" in printed
    assert "pausing 1s before drill 2 of 2: two" in printed
    # The wall time covers both drills (baseline + chaos each) and the pause.
    assert result["wallSeconds"] >= 2 * 3.0 + 1.0
    out = tmp_path / "out"
    second_run = json.loads((out / result["runs"][1]["result"] / "result.json").read_text())
    assert second_run["seed"] == drill_seed(3, 1)
    assert second_run["steps"][0]["pickedFrom"] == ["b", "c"]
    for name in ("report.html", "report.md", "junit.xml"):
        assert (out / name).stat().st_size > 0
    assert "| 2 | two | ✅ passed | 100.0 |" in (out / "report.md").read_text()
    for run in result["runs"]:
        verified = zonedrill(tmp_path / "state", "verify", str(out / run["result"]))
        assert verified.returncode == 0, verified.stdout
    gate = zonedrill(tmp_path / "state", "gate", "--gameday", "gd", "--max-age", "1h")
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "game day gd" in gate.stdout
    folder_takes_the_game_day(tmp_path / "state", out, result)


def folder_takes_the_game_day(state: Path, out: Path, result: dict[str, Any]) -> None:
    """report, verify and gate take the game day's folder or its gameday.json."""
    for given in (out, out / "gameday.json"):
        verified = zonedrill(state, "verify", str(given))
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "matches its 2 drill run(s)" in verified.stdout
    document = json.loads(zonedrill(state, "verify", str(out), "-o", "json").stdout)
    assert (document["kind"], document["matches"], document["drillRuns"]) == (
        "GameDayVerifyResult",
        True,
        2,
    )
    report = zonedrill(state, "report", str(out), "--format", "md")
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("## ✅ game day gd: passed")
    gate = zonedrill(state, "gate", str(out), "--max-age", "1h", "-o", "json")
    assert gate.returncode == 0, gate.stdout + gate.stderr
    verdict = json.loads(gate.stdout)["results"][0]
    assert (verdict["drill"], verdict["place"]) == ("game day gd", "lab/three")
    # A run from elsewhere is not judged with the game day's runs unless a place is chosen.
    elsewhere = write_run(out.parent / "elsewhere", result_document())
    mixed = zonedrill(state, "gate", str(out), str(elsewhere))
    assert mixed.returncode == 2, mixed.stdout + mixed.stderr
    assert "these runs were on 2 clusters or targets" in mixed.stderr
    forged_folders_fail(state, out, result)
    # A drill run changed after the game day no longer agrees with it, nor verifies.
    changed = out / result["runs"][1]["result"] / "result.json"
    changed.write_text(changed.read_text().replace('"outcome": "passed"', '"outcome": "failed"'))
    verified = zonedrill(state, "verify", str(out))
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert "differs: drill run " in verified.stdout
    assert zonedrill(state, "gate", str(out)).returncode == 1


def _forged(out: Path, name: str, change: Any) -> Path:
    """A copy of the game-day folder ``out`` whose gameday.json ``change`` edits in place."""
    copy = out.parent / name
    shutil.copytree(out, copy)
    document = json.loads((copy / "gameday.json").read_text())
    change(document)
    (copy / "gameday.json").write_text(json.dumps(document))
    return copy


def forged_folders_fail(state: Path, out: Path, result: dict[str, Any]) -> None:
    """What the adversarial review forged: each fails the gate (exit 1) or is refused (2)."""
    first, second = (run["result"] for run in result["runs"])
    planted = _forged(out, "planted", lambda _: None)
    shutil.copy(out / second / "result.json", planted / "result.json")
    refused = zonedrill(state, "gate", str(planted))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "holds both gameday.json and result.json" in refused.stderr
    shutil.copytree(out / second, out.parent / "runs-elsewhere" / second)
    edits = {
        "outside": lambda d: d["runs"][1].update(result=f"../runs-elsewhere/{second}"),
        "twice": lambda d: d["runs"][1].update(result=first),
        "long": lambda d: d["runs"][1].update(result="x" * 300),
        "swapped": lambda d: d["runs"][1].update(runId=d["runs"][0]["runId"] + "x"),
    }
    for name, edit in edits.items():
        gate = zonedrill(state, "gate", str(_forged(out, name, edit)))
        assert gate.returncode == 1, (name, gate.stdout, gate.stderr)
        assert "FAIL" in gate.stdout, name
        assert "Traceback" not in gate.stderr, name
    for asked in (["--trigger", "schedule"], ["--gameday", "another"]):
        gate = zonedrill(state, "gate", str(out), *asked)
        assert gate.returncode == 1, (asked, gate.stdout, gate.stderr)
    assert zonedrill(state, "gate", str(out), "--gameday", "gd").returncode == 0
    assert zonedrill(state, "gate", "y" * 300).returncode == 2


def test_a_failed_drill_does_not_stop_the_rest(tmp_path: Path) -> None:
    """continueAfter defaults to passed and failed: a failure is scored and the next drill runs."""
    failing = write_drill(tmp_path, "packed-loss", service="packed")
    passing = write_drill(tmp_path, "spread-loss")
    code, result, printed = run_gameday(tmp_path, write_gameday(tmp_path, [failing, passing]))
    assert code == 1, printed
    assert [(r["drill"], r["outcome"]) for r in result["runs"]] == [
        ("packed-loss", "failed"),
        ("spread-loss", "passed"),
    ]
    assert result["outcome"] == "failed"
    assert "packed-loss (failed)" in result["reason"]
    gate = zonedrill(tmp_path / "state", "gate", "--gameday", "gd")
    assert gate.returncode == 1
    assert "outcome failed" in gate.stdout


def test_pass_when_compares_the_mean_score(tmp_path: Path) -> None:
    """With passWhen.minScore the mean score decides, whatever one drill did."""
    failing = write_drill(tmp_path, "packed-loss", service="packed")
    passing = write_drill(tmp_path, "spread-loss")
    scores = []
    for minimum, expected in (("10", 0), ("99", 1)):
        gameday = write_gameday(
            tmp_path, [failing, passing], f"  passWhen: {{minScore: {minimum}}}\n"
        )
        code, result, printed = run_gameday(tmp_path / minimum, gameday)
        assert code == expected, printed
        scores.append(result["meanScore"])
        run_scores = [r["score"] for r in result["runs"]]
        assert result["meanScore"] == pytest.approx(sum(run_scores) / 2)
        out = tmp_path / minimum / "out"
        junit = ET.parse(out / "junit.xml").getroot()
        failures = [int(suite.get("failures", "0")) for suite in junit.iter("testsuite")]
        failed_cases = list(junit.iter("failure"))
        if expected == 0:  # a CI test view must not go red on a green gate
            assert (sum(failures), failed_cases) == (0, [])
            assert "tolerated, the game day passed" in (out / "junit.xml").read_text()
        else:
            assert sum(failures) == len(failed_cases) > 0
        report = (out / "report.md").read_text()
        assert "### 1. packed-loss: failed" in report
        assert "| api RTO ≤ " in report
    assert 10 <= scores[0] < 99


def test_an_aborted_drill_stops_the_game_day(tmp_path: Path) -> None:
    """aborted is not in the default continueAfter: the rest is skipped, and the game day is."""
    guard = "  stopIf:\n    - {probe: api, failingFor: 200ms}\n"
    aborting = write_drill(tmp_path, "guarded", service="packed", extra=guard)
    never = write_drill(tmp_path, "never")
    code, result, printed = run_gameday(tmp_path, write_gameday(tmp_path, [aborting, never]))
    assert code == 3, printed
    assert result["outcome"] == "aborted"
    assert [r["outcome"] for r in result["runs"]] == ["aborted"]
    assert result["runs"][0]["restored"] is True
    assert [s["drill"] for s in result["skipped"]] == ["never"]
    assert "ended aborted, not in continueAfter" in result["skipped"][0]["why"]
    assert not (tmp_path / "out" / "never").exists()


@pytest.mark.parametrize("aborted_last", [True, False], ids=["aborted-last", "aborted-first"])
def test_an_aborted_drill_never_leaves_the_game_day_passed(
    tmp_path: Path, aborted_last: bool
) -> None:
    """continueAfter lets an aborted drill through and the mean clears minScore: not a pass.

    Last in the list it passed the game day (exit 0) and the gate; first, it was aborted.
    """
    guard = "  stopIf:\n    - {probe: api, failingFor: 200ms}\n"
    aborting = write_drill(tmp_path, "guarded", service="packed", extra=guard)
    good = write_drill(tmp_path, "good")
    order = [good, aborting] if aborted_last else [aborting, good]
    rules = "  continueAfter: [passed, failed, aborted]\n  passWhen: {minScore: 40}\n"
    code, result, printed = run_gameday(tmp_path, write_gameday(tmp_path, order, rules))
    assert sorted(r["outcome"] for r in result["runs"]) == ["aborted", "passed"]
    assert (code, result["outcome"]) == (3, "aborted"), printed
    assert "drill guarded ended aborted" in result["reason"]
    gate = zonedrill(tmp_path / "state", "gate", "--gameday", "gd")
    assert gate.returncode == 1, gate.stdout + gate.stderr


def test_one_invalid_drill_means_nothing_runs(tmp_path: Path) -> None:
    """Every drill is validated first: a broken third drill keeps the first from running."""
    good = write_drill(tmp_path, "good")
    (tmp_path / "bad.yaml").write_text(
        (tmp_path / good).read_text().replace("every: 100ms", "every: 10")
    )
    gameday = write_gameday(tmp_path, [good, "bad.yaml", "missing.yaml"])
    done = zonedrill(
        tmp_path / "state", "gameday", "run", str(gameday), "--out", str(tmp_path / "out")
    )
    assert done.returncode == 2
    printed = done.stdout + done.stderr
    assert "bad.yaml:" in printed
    assert "spec.probes[0].every" in printed
    assert "spec.drills[2].file" in printed
    assert "no drill file" in printed
    assert not (tmp_path / "out").exists()


def test_sigint_mid_game_day_restores_the_drill_and_skips_the_rest(tmp_path: Path) -> None:
    """SIGINT aborts the running drill through its restore; the rest is skipped; exit 3."""
    first = write_drill(tmp_path, "first", duration="20s")
    second = write_drill(tmp_path, "second")
    gameday = write_gameday(tmp_path, [first, second])
    state, out = tmp_path / "state", tmp_path / "out"
    process = start_until(
        [*ZONEDRILL, "gameday", "run", str(gameday), "--out", str(out)],
        env=cli_env(state),
        marker="lose a (power-loss) done",
    )
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 3, rest
    result = json.loads((out / "gameday.json").read_text())
    assert result["outcome"] == "aborted"
    assert "SIGINT received" in result["reason"]
    run = result["runs"][0]
    assert (run["outcome"], run["restored"]) == ("aborted", True)
    assert [(s["drill"], s["why"]) for s in result["skipped"]] == [("second", "SIGINT received")]
    journal = [
        json.loads(x) for x in next((state / "journal").rglob("*.jsonl")).read_text().splitlines()
    ]
    assert journal[-1]["type"] == "end"


def test_a_killed_game_day_fails_the_gate_before_and_after_rollback(tmp_path: Path) -> None:
    """SIGKILL mid-drill records nothing else: the earlier pass must not stand for it."""
    state, out = tmp_path / "state", tmp_path / "killed"
    gameday = write_gameday(tmp_path, [write_drill(tmp_path, "first", duration="20s")])
    assert (
        zonedrill(state, "gameday", "run", str(gameday), "--out", str(tmp_path / "ok")).returncode
        == 0
    )
    passed = zonedrill(state, "gate", "--gameday", "gd")
    assert passed.returncode == 0, passed.stdout
    write_drill(tmp_path, "first", duration="20s")  # long enough to be killed mid-drill
    process = start_until(
        [*ZONEDRILL, "gameday", "run", str(gameday), "--out", str(out)],
        env=cli_env(state),
        marker="lose a (power-loss) done",
    )
    process.kill()
    process.communicate(timeout=60)
    for gate in (("--gameday", "gd"), ("--drill", "first")):
        killed = zonedrill(state, "gate", *gate)
        assert killed.returncode == 1, killed.stdout
        assert "has no verdict: still running, or killed" in killed.stdout
    rolled = zonedrill(state, "rollback", "--all")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert "recorded as error in the history" in rolled.stdout
    after = zonedrill(state, "gate", "--gameday", "gd")
    assert after.returncode == 1, after.stdout
    assert "ended error: its process ended before it recorded a verdict" in after.stdout
    write_drill(tmp_path, "first")
    again = zonedrill(state, "gameday", "run", str(gameday), "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stdout
    assert zonedrill(state, "gate", "--gameday", "gd").returncode == 0  # a newer verdict stands


def test_sigint_in_a_pause_stops_at_once(tmp_path: Path) -> None:
    """A pause ends as soon as SIGINT arrives; the drill after it never starts."""
    first = write_drill(tmp_path, "first")
    second = write_drill(tmp_path, "second")
    gameday = write_gameday(tmp_path, [first, f"{second}|10m"])
    process = start_until(
        [*ZONEDRILL, "gameday", "run", str(gameday), "--out", str(tmp_path / "out")],
        env=cli_env(tmp_path / "state"),
        marker="pausing 10m",
    )
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 3, rest
    result = json.loads((tmp_path / "out" / "gameday.json").read_text())
    assert [r["drill"] for r in result["runs"]] == ["first"]
    assert [s["drill"] for s in result["skipped"]] == ["second"]


def test_gameday_plan_plans_every_drill_and_the_total(tmp_path: Path) -> None:
    """plan shows each drill's plan, each candidate of a random zone, and the total time."""
    first = write_drill(tmp_path, "one")
    second = write_drill(tmp_path, "two", lose="{anyOf: [b, c]}")
    gameday = write_gameday(tmp_path, [first, f"{second}|1m"])
    done = zonedrill(tmp_path / "state", "gameday", "plan", str(gameday), "--seed", "8")
    assert done.returncode == 0, done.stderr
    assert "drill 1 of 2: one" in done.stdout
    assert "drill 2 of 2: two" in done.stdout
    assert f"drill 2 of 2: two (zones picked by seed {drill_seed(8, 1)})" in done.stdout
    assert f"picked by seed {drill_seed(8, 1)} from b, c" in done.stdout
    assert "2 drills, about 1m6s in all (6s of drills, 1m of pauses)" in done.stdout


def test_each_drill_of_a_game_day_picks_its_random_zone_with_a_seed_of_its_own(
    tmp_path: Path,
) -> None:
    """Three "any site" drills lost the same site for every seed: each had the game day's."""
    drills = [write_drill(tmp_path, f"any{i}", lose="{anyOf: [a, b, c]}") for i in range(3)]
    gameday = write_gameday(tmp_path, drills)
    lost = set()
    for seed in range(8):
        done = zonedrill(tmp_path / "state", "gameday", "plan", str(gameday), "--seed", str(seed))
        assert done.returncode == 0, done.stderr
        picked = re.findall(r"zones picked by seed (\d+)\)", done.stdout)
        assert picked == [str(drill_seed(seed, i)) for i in range(3)]
        lost |= {tuple(re.findall(r"lose (\w) \(power-loss", done.stdout))}
    assert any(len(set(sites)) > 1 for sites in lost), lost


def test_the_gate_refuses_a_game_day_whose_runs_are_not_recorded(tmp_path: Path) -> None:
    """A game-day record naming a run the history lacks fails the gate, with that reason."""
    gameday = write_gameday(tmp_path, [write_drill(tmp_path, "one")])
    code, result, _ = run_gameday(tmp_path, gameday)
    assert code == 0
    history = tmp_path / "state" / "history.sqlite"
    with sqlite3.connect(history) as db:
        db.execute("DELETE FROM runs")
    gate = zonedrill(tmp_path / "state", "gate", "--gameday", "gd")
    assert gate.returncode == 1
    assert f"drill run {result['runs'][0]['runId']} is not recorded" in gate.stdout


def test_the_gate_refuses_a_game_day_whose_runs_do_not_verify(tmp_path: Path) -> None:
    """A drill run whose samples are gone rests on nothing: the game day fails the gate."""
    gameday = write_gameday(tmp_path, [write_drill(tmp_path, "one")])
    code, result, _ = run_gameday(tmp_path, gameday)
    assert code == 0
    (tmp_path / "out" / result["runs"][0]["result"] / "samples.jsonl").unlink()
    gate = zonedrill(tmp_path / "state", "gate", "--gameday", "gd")
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert f"drill run {result['runs'][0]['runId']} does not verify" in gate.stdout
    assert "cannot read the raw samples" in gate.stdout


def test_a_forged_game_day_record_is_refused(tmp_path: Path) -> None:
    """A record claiming passed with a failed drill is refused as it is read (exit 2)."""
    gameday = write_gameday(tmp_path, [write_drill(tmp_path, "packed-loss", service="packed")])
    code, _, _ = run_gameday(tmp_path, gameday)
    assert code == 1
    history = tmp_path / "state" / "history.sqlite"
    with sqlite3.connect(history) as db:
        (document,) = db.execute("SELECT document FROM gamedays").fetchone()
        forged = json.loads(document) | {"outcome": "passed", "reason": ""}
        db.execute("UPDATE gamedays SET document = ?", (json.dumps(forged),))
    gate = zonedrill(tmp_path / "state", "gate", "--gameday", "gd")
    assert gate.returncode == 2
    assert "passed while a drill did not pass" in gate.stderr


def test_gate_with_no_recorded_game_day_fails(tmp_path: Path) -> None:
    """No evidence, no pass."""
    gate = zonedrill(tmp_path / "state", "gate", "--gameday", "never-ran")
    assert gate.returncode == 1
    assert "no game day 'never-ran' is recorded" in gate.stdout


def test_validate_checks_a_game_day_and_its_drills(tmp_path: Path) -> None:
    """validate takes game-day files too; a drill named by it is checked."""
    gameday = write_gameday(tmp_path, [write_drill(tmp_path, "one"), "missing.yaml"])
    done = subprocess.run(
        [*ZONEDRILL, "validate", str(gameday)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "spec.drills[1].file" in done.stderr
    missing = subprocess.run(
        [*ZONEDRILL, "validate", str(tmp_path / "nowhere.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (missing.returncode, missing.stdout) == (2, "")
    assert f"error: {tmp_path / 'nowhere.yaml'}: no such file" in missing.stderr


class Webhooks(BaseHTTPRequestHandler):
    """Keeps every POST body; /broken... answers 500."""

    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        """Store the body (or fail on /broken)."""
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.startswith("/broken"):
            self.send_response(500)
        else:
            Webhooks.bodies.append(json.loads(body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        """Quiet."""


def test_notify_posts_the_summary_and_a_failed_post_is_a_warning(tmp_path: Path) -> None:
    """Every webhook gets the game day's summary; a 500 or a refused one warns, nothing more.

    The warning names the webhook by scheme, host and port: its path and credentials are often
    its secret, and CI logs are read by many.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        hooks = (
            f"  notify:\n    - {{webhook: 'http://bot:pa55@127.0.0.1:{server.server_port}"
            f"/broken/T0K3N'}}\n    - {{webhook: {base}/ok}}\n"
            "    - {webhook: http://127.0.0.1:9/refused/T0K3N}\n"
        )
        gameday = write_gameday(tmp_path, [write_drill(tmp_path, "one")], hooks)
        code, result, printed = run_gameday(tmp_path, gameday)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, printed
    assert result["outcome"] == "passed"
    assert [b["gameDayId"] for b in Webhooks.bodies] == [result["gameDayId"]]
    assert Webhooks.bodies[0]["kind"] == "GameDayResult"
    assert f"webhook {base}/… not notified: it answered 500" in printed
    assert "webhook http://127.0.0.1:9/… not notified: ConnectError" in printed
    assert "T0K3N" not in printed
    assert "pa55" not in printed


def test_continue_after_does_not_judge_the_last_drill(tmp_path: Path) -> None:
    """With nothing left to skip, a drill outside continueAfter stops nothing: passWhen rules."""
    gameday = write_gameday(
        tmp_path,
        [write_drill(tmp_path, "one"), write_drill(tmp_path, "bad", service="packed")],
        "  continueAfter: [passed]\n  passWhen: {minScore: 10}\n",
    )
    code, result, printed = run_gameday(tmp_path, gameday)
    assert code == 0, printed
    assert (result["outcome"], result["skipped"]) == ("passed", [])


def test_an_out_folder_holding_a_game_day_is_refused(tmp_path: Path) -> None:
    """A second game day never overwrites the first one's gameday.json."""
    gameday = write_gameday(tmp_path, [write_drill(tmp_path, "one")])
    code, first, _ = run_gameday(tmp_path, gameday)
    assert code == 0
    again = zonedrill(
        tmp_path / "state", "gameday", "run", str(gameday), "--out", str(tmp_path / "out")
    )
    assert again.returncode == 2
    assert "already holds a game day" in again.stdout + again.stderr
    assert (
        json.loads((tmp_path / "out" / "gameday.json").read_text())["gameDayId"]
        == first["gameDayId"]
    )


def test_a_refused_preflight_stops_the_game_day_before_any_drill(tmp_path: Path) -> None:
    """Every drill's preflight runs first: the unsafe second drill keeps the first from running."""
    unsafe = write_drill(tmp_path, "unsafe", extra="  safety: {maxNodeFraction: 0.2}\n")
    gameday = write_gameday(tmp_path, [write_drill(tmp_path, "one"), unsafe])
    done = zonedrill(
        tmp_path / "state", "gameday", "run", str(gameday), "--out", str(tmp_path / "out")
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refused: " in done.stdout + done.stderr
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "state" / "journal").exists()


def test_a_game_day_it_cannot_record_never_begins(tmp_path: Path) -> None:
    """No record, no run: a history that cannot take the game day's start stops it at once.

    Were it to run, a kill would leave no trace, and the gate would pass on the game day before.
    """
    history = tmp_path / "not-a-database"
    history.write_bytes(b"\x00\xff" * 4096)
    gameday = write_gameday(tmp_path, [write_drill(tmp_path, "one")])
    out = tmp_path / "out"
    done = zonedrill(
        tmp_path / "state",
        "gameday",
        "run",
        str(gameday),
        "--out",
        str(out),
        "--history",
        str(history),
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not a usable zonedrill history" in done.stdout + done.stderr
    assert "drill 1 of 1" not in done.stdout
    assert not (out / "gameday.json").exists()


def test_the_gate_judges_the_name_and_the_newest_document(tmp_path: Path) -> None:
    """A record renamed to another game day, or dated back by its column, fools no gate."""
    gameday = write_gameday(tmp_path, [write_drill(tmp_path, "bad", service="packed")])
    code, failed, _ = run_gameday(tmp_path, gameday)
    assert code == 1
    good = write_gameday(tmp_path, [write_drill(tmp_path, "one")], name="good")
    code, passed, _ = run_gameday(
        tmp_path / "second", good, "--history", str(tmp_path / "state" / "history.sqlite")
    )
    assert code == 0
    with sqlite3.connect(tmp_path / "state" / "history.sqlite") as db:
        db.execute("UPDATE gamedays SET gameday = 'gd' WHERE gameday = 'good'")
        db.execute(
            "UPDATE gamedays SET ended_at = '2000-01-01' WHERE game_day_id = ?",
            (failed["gameDayId"],),
        )
    gate = zonedrill(tmp_path / "state", "gate", "--gameday", "gd")
    assert gate.returncode == 1, gate.stdout
    assert failed["gameDayId"] in gate.stdout
    assert passed["gameDayId"] not in gate.stdout


def test_a_game_day_record_cannot_borrow_another_drills_run(tmp_path: Path) -> None:
    """A failed run's id swapped for a passing run of another drill is caught by the gate."""
    bad = write_gameday(tmp_path, [write_drill(tmp_path, "bad", service="packed")])
    run_gameday(tmp_path, bad)
    good = write_gameday(tmp_path, [write_drill(tmp_path, "one")], name="good")
    code, passed, _ = run_gameday(
        tmp_path / "second", good, "--history", str(tmp_path / "state" / "history.sqlite")
    )
    assert code == 0
    with sqlite3.connect(tmp_path / "state" / "history.sqlite") as db:
        (document,) = db.execute("SELECT document FROM gamedays WHERE gameday = 'gd'").fetchone()
        forged = json.loads(document)
        borrowed = passed["runs"][0]
        forged["runs"][0] |= {"runId": borrowed["runId"], "outcome": "passed", "score": 100.0}
        forged |= {"outcome": "passed", "reason": "", "meanScore": 100.0}
        db.execute("UPDATE gamedays SET document = ? WHERE gameday = 'gd'", (json.dumps(forged),))
    gate = zonedrill(tmp_path / "state", "gate", "--gameday", "gd")
    assert gate.returncode == 1, gate.stdout
    assert f"drill run {borrowed['runId']} is a run of one, not of bad" in gate.stdout


class Trickle(BaseHTTPRequestHandler):
    """Promises a body, then sends a byte now and then: every read is quick, the whole is not."""

    def do_POST(self) -> None:
        """Answer, slowly."""
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        for _ in range(100):
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(2)

    def log_message(self, *_: object) -> None:
        """Quiet."""


def test_a_trickling_webhook_is_given_up_on_in_time(tmp_path: Path) -> None:
    """One webhook gets 10 s in all, whatever its reads do; it is a warning, not a hang."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = f"  notify:\n    - {{webhook: http://127.0.0.1:{server.server_port}/}}\n"
        gameday = write_gameday(tmp_path, [write_drill(tmp_path, "one")], hook)
        began = time.monotonic()
        code, _, printed = run_gameday(tmp_path, gameday)
        took = time.monotonic() - began
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, printed
    assert "not notified: no answer within 10s" in printed
    assert took < 40  # a 3 s drill, 10 s for the webhook, and the rest


@pytest.fixture(scope="module")
def pass_then_fail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state folder whose history holds a passing run of drill "flip", then a failing one."""
    folder = tmp_path_factory.mktemp("flip")
    state = folder / "state"
    for service, code in (("spread", 0), ("packed", 1)):
        drill = folder / write_drill(folder, "flip", service=service)
        done = zonedrill(state, "run", str(drill), "--out", str(folder / service))
        assert done.returncode == code, done.stdout + done.stderr
    return state


EDITS = {
    "deleted": "DELETE FROM runs WHERE outcome = 'failed'",
    "dated back": "UPDATE runs SET ended_at = '2000-01-01T00:00:00+00:00' WHERE outcome = 'failed'",
    "replaced": "UPDATE runs SET document = (SELECT document FROM runs WHERE outcome = 'passed'),"
    " result_path = (SELECT result_path FROM runs WHERE outcome = 'passed')"
    " WHERE outcome = 'failed'",
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_failed_run_hidden_in_the_history_still_fails_the_gate(
    pass_then_fail: Path, tmp_path: Path, edit: str
) -> None:
    """The newest start has no run where the history should show it: the gate fails on it."""
    state = tmp_path / "state"
    shutil.copytree(pass_then_fail, state)
    assert zonedrill(state, "gate", "--drill", "flip").returncode == 1
    with sqlite3.connect(state / "history.sqlite") as db:
        db.execute(EDITS[edit])
    gate = zonedrill(state, "gate", "--drill", "flip")
    assert gate.returncode == 1, gate.stdout
    assert "the history does not show it where it belongs" in gate.stdout


@pytest.mark.parametrize(
    "damage",
    ["UPDATE starts SET pid = 'abc'", "UPDATE starts SET started_at = 'garbage'"],
)
def test_a_damaged_start_is_refused_not_a_traceback(
    pass_then_fail: Path, tmp_path: Path, damage: str
) -> None:
    """gate exits 2 naming the damage; rollback passes over it without a traceback."""
    state = tmp_path / "state"
    shutil.copytree(pass_then_fail, state)
    with sqlite3.connect(state / "history.sqlite") as db:
        db.execute(damage)
    gate = zonedrill(state, "gate", "--drill", "flip")
    assert gate.returncode == 2, gate.stdout + gate.stderr
    assert "a start record is damaged" in gate.stdout + gate.stderr
    rolled = zonedrill(state, "rollback", "--all")
    assert "Traceback" not in rolled.stdout + rolled.stderr
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr


def test_a_run_scripted_with_o_json_reads_back_from_anywhere(tmp_path: Path) -> None:
    """run -o json prints the result document alone; history -o json names its file absolutely."""
    drill = tmp_path / write_drill(tmp_path, "one")
    done = subprocess.run(
        [*ZONEDRILL, "run", str(drill), "--out", "relative-run", "-o", "json"],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "state"),
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # nothing but the document on stdout
    assert (result["apiVersion"], result["kind"], result["outcome"]) == (
        "zonedrill/v1",
        "DrillResult",
        "passed",
    )
    assert "baseline" in done.stderr  # progress went to stderr
    listed = zonedrill(tmp_path / "state", "history", "-o", "json")
    path = Path(json.loads(listed.stdout)["runs"][0]["resultPath"])
    assert path.is_absolute()
    assert path == tmp_path / "relative-run" / "result.json"
