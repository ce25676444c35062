"""Safety paths of `zonedrill run`: refusals touch nothing, locks hold, journals close."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from orchestrator.faults.journal import Journal, open_runs
from orchestrator.targets.port import AddTaint, Cordon, DeletePod, PodRef, Taint
from tests.support import REPO, ZONEDRILL, cli_env, start_until

LAB = REPO / "drills" / "labs" / "pangyo.yaml"


def drill(
    tmp_path: Path, *, url: str | None = None, fraction: float = 0.5, zone_label: str = "pangyo"
) -> Path:
    """A small drill on the pangyo lab; optionally probing ``url`` instead of the lab service."""
    http = f"url: {url}" if url else "service: {namespace: messaging, name: talk-api}"
    path = tmp_path / "drill.yaml"
    path.write_text(f"""\
apiVersion: zonedrill/v1
kind: Drill
metadata: {{name: safety}}
spec:
  lab: {LAB}
  zones:
    pangyo: {{nodeSelector: {{zonedrill.io/power-zone: {zone_label}}}}}
  probes:
    - name: api
      http: {{{http}}}
      every: 200ms
  baseline: 2s
  duration: 4s
  steps:
    - {{at: 0s, lose: pangyo}}
  targets: [{{probe: api, availability: "50%"}}]
  safety: {{maxNodeFraction: {fraction}}}
""")
    return path


def run(path: Path, state: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run zonedrill with ``state`` as its state dir."""
    return subprocess.run(
        [*ZONEDRILL, "run", str(path), *extra],
        capture_output=True,
        text=True,
        env=cli_env(state),
        check=False,
        timeout=120,
    )


def changes_journaled(state: Path) -> list[dict[str, object]]:
    """Every change record in every journal under ``state``."""
    records = (
        [
            json.loads(line)
            for path in (state / "journal").rglob("*.jsonl")
            for line in path.read_text().splitlines()
        ]
        if (state / "journal").exists()
        else []
    )
    return [r for r in records if r["type"] == "change"]


def test_max_node_fraction_refuses_before_touching(tmp_path: Path) -> None:
    """Losing 3 of 8 nodes with maxNodeFraction 0.3 exits 2, says how to fix, journals nothing."""
    state = tmp_path / "state"
    done = run(drill(tmp_path, fraction=0.3), state)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "maxNodeFraction" in done.stderr
    assert not (state / "journal").exists()


def test_zone_matching_no_node_is_refused(tmp_path: Path) -> None:
    """A nodeSelector that matches no lab node exits 2 before the run, located in the drill."""
    done = run(drill(tmp_path, zone_label="nowhere"), tmp_path / "state")
    assert done.returncode == 2
    assert "drill.yaml:7:28: spec.zones.pangyo.nodeSelector: matches no node of lab" in (
        done.stderr.replace("\n", "")
    )


def test_failing_baseline_is_not_steady_and_touches_nothing(tmp_path: Path) -> None:
    """A probe that fails in the baseline: outcome not-steady, exit 3, no change journaled."""
    state, out = tmp_path / "state", tmp_path / "out"
    done = run(drill(tmp_path, url="http://127.0.0.1:9/"), state, "--out", str(out))
    assert done.returncode == 3, done.stdout
    result = json.loads((out / "result.json").read_text())
    assert (result["outcome"], result["steps"], result["restored"]) == ("not-steady", [], True)
    why = "api failed 1 of its "
    assert why in result["reason"]
    assert "baseline sample(s) (refused: " in result["reason"]
    assert why in done.stdout.replace("\n", " ")
    report = (out / "report.md").read_text()
    assert why in report
    assert "| probe (baseline) |" in report
    assert "| check |" not in report
    assert "(no targets)" not in report
    page = (out / "report.html").read_text()
    assert why in page
    assert 'id="checks"' not in page
    assert "baseline: nothing was touched" in page
    assert changes_journaled(state) == []


def test_second_run_on_the_same_lab_is_refused_with_the_holder(tmp_path: Path) -> None:
    """While one run holds the lab's lock, another exits 4 naming the holder."""
    state = tmp_path / "state"
    first = start_until(
        [*ZONEDRILL, "run", str(drill(tmp_path)), "--out", str(tmp_path / "a")],
        env=cli_env(state),
        marker="baseline",
    )
    second = run(drill(tmp_path), state, "--out", str(tmp_path / "b"))
    first.communicate(timeout=60)
    assert second.returncode == 4
    assert "another drill is running on this target: zonedrill run safety-" in second.stderr


def test_rollback_closes_journals_of_dead_lab_runs(tmp_path: Path) -> None:
    """`zonedrill rollback --all` closes a lab journal left open by a killed process."""
    state = tmp_path / "state"
    journal = Journal.create(
        root=state, identity="lab/pangyo-lab", run_id="killed-1", drill="d", target="lab"
    )
    journal.record([Cordon(node="pangyo-1")])
    assert [r.run_id for r in open_runs(state)] == ["killed-1"]
    done = subprocess.run(
        [*ZONEDRILL, "rollback", "--all"],
        capture_output=True,
        text=True,
        env=cli_env(state),
        check=False,
    )
    assert done.returncode == 0
    assert "killed-1" in done.stdout
    assert open_runs(state) == []


def test_journal_restores_newest_first_and_only_undoable_changes(tmp_path: Path) -> None:
    """Pending restores are cordons and taints, newest first; pod deletions are not undoable."""
    journal = Journal.create(root=tmp_path, identity="x", run_id="r", drill="d", target="lab")
    taint = Taint(key="k", effect="NoExecute")
    journal.record(
        [Cordon(node="n1"), AddTaint(node="n1", taint=taint), DeletePod(pod=PodRef("ns", "p"))]
    )
    pending = journal.pending_restores()
    assert [type(e.change).__name__ for e in pending] == ["AddTaint", "Cordon"]
    journal.mark_restored([pending[0].seq])
    reopened = Journal.reopen(journal.path)
    assert [type(e.change).__name__ for e in reopened.pending_restores()] == ["Cordon"]
    assert reopened.pending_restores(nodes=["other"]) == []


def test_torn_last_journal_line_is_ignored(tmp_path: Path) -> None:
    """A crash mid-write leaves a partial line; everything before it still counts."""
    journal = Journal.create(root=tmp_path, identity="x", run_id="r", drill="d", target="lab")
    journal.record([Cordon(node="n1")])
    with journal.path.open("a") as handle:
        handle.write('{"type": "change", "seq": 2, "chan')
    assert [e.change for e in Journal.reopen(journal.path).pending_restores()] == [
        Cordon(node="n1")
    ]


def test_a_kubeconfig_that_cannot_be_loaded_exits_4_with_the_reason(tmp_path: Path) -> None:
    """--target kube with a kubeconfig file that is not there: exit 4, saying why."""
    missing = tmp_path / "no-such-kubeconfig"
    done = run(drill(tmp_path), tmp_path / "state", "--target=kube", "--kubeconfig", str(missing))
    assert done.returncode == 4
    assert "cannot load the cluster configuration" in done.stderr


def test_an_unreachable_api_server_exits_4_with_the_reason(tmp_path: Path) -> None:
    """A kubeconfig whose server refuses connections (a closed loopback port): exit 4."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    done = run(drill(tmp_path), tmp_path / "state", "--target=kube", "--kubeconfig", str(path))
    assert done.returncode == 4, done.stdout
    assert "cannot reach the API server" in done.stderr.replace("\n", "")
