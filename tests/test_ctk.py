"""Chaos Toolkit both ways, without a cluster.

Discovery, run_drill on the lab through a real ``chaos run``, export freshness, import and the
round trip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.ctk import control
from orchestrator.ctk.scoring_ctk import NEVER_REACHED
from orchestrator.drill import Drill, load_drill
from orchestrator.errors import InvalidInputError
from orchestrator.probes.samples import digest, encode_samples, read_samples
from tests.support import REPO, ZONEDRILL, cli_env, zonedrill
from tests.test_gameday import write_drill

CHAOS = [sys.executable, "-m", "chaostoolkit"]
EXPORTED = sorted(
    p for p in (REPO / "drills").glob("*.yaml") if not p.name.endswith(".gameday.yaml")
)


def regular_install(folder: Path) -> Path:
    """A site folder laid out as a wheel install of zonedrill: both packages and a RECORD.

    An editable install records no package files, so chaoslib finds no top-level name for it;
    a wheel install records both, in an order that depends on the hash seed.
    """
    site = folder / "site"
    site.mkdir()
    for package in ("orchestrator", "k8s"):
        (site / package).symlink_to(REPO / package)
    info = site / "zonedrill-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zonedrill\nVersion: 0.1.0\n")
    (info / "RECORD").write_text("orchestrator/__init__.py,,\nk8s/__init__.py,,\n")
    return site


@pytest.mark.parametrize("seed", ["0", "1", "2", "3", "5"])
def test_chaos_discover_lists_every_activity_whichever_package_it_picks(
    tmp_path: Path, seed: str
) -> None:
    """chaoslib maps zonedrill to orchestrator or k8s by hash seed: both answer the same."""
    site = regular_install(tmp_path)
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(site)}
    picked = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.metadata as m; print([k for k, v in "
            "m.packages_distributions().items() if 'zonedrill' in v][0])",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    assert picked in ("orchestrator", "k8s")
    discovery = discover(tmp_path, env)
    assert discovery["extension"] == {"name": "zonedrill", "version": "0.1.0"}
    named = {(a["type"], a["name"]) for a in discovery["activities"]}
    assert {
        ("action", "run_drill"),
        ("action", "lose_zone"),
        ("action", "restore_zone"),
        ("probe", "drill_passed"),
        ("probe", "rto_within"),
        ("probe", "score_at_least"),
    } <= named
    lose = next(a for a in discovery["activities"] if a["name"] == "lose_zone")
    assert [a["name"] for a in lose["arguments"]][:3] == ["drill", "zone", "mode"]
    assert "Lease" in lose["doc"]


def discover(folder: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``chaos discover --no-install zonedrill`` in ``folder``: the discovery it writes."""
    found = folder / "discovery.json"
    done = subprocess.run(
        [*CHAOS, "discover", "--no-install", "zonedrill", "--discovery-path", str(found)],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert found.is_file(), f"chaos discover found nothing: {done.stdout}{done.stderr}"
    discovery: dict[str, Any] = json.loads(found.read_text())
    return discovery


def test_chaos_discover_finds_the_readme_s_editable_install(tmp_path: Path) -> None:
    """The venv's own install (pip install -e, as in the README) is found by its top_level.txt."""
    names = {a["name"] for a in discover(tmp_path)["activities"]}
    assert {"lose_zone", "restore_zone", "run_drill", "drill_passed"} <= names


RUN_DRILL = {
    "version": "1.0.0",
    "title": "a drill, run by Chaos Toolkit on zonedrill's lab",
    "description": "run_drill, then judge the recorded run",
    "method": [
        {
            "type": "action",
            "name": "drill",
            "provider": {
                "type": "python",
                "module": "orchestrator.ctk.actions",
                "func": "run_drill",
                "arguments": {"drill": str(REPO / "drills" / "pangyo-battery-fire-multizone.yaml")},
            },
        },
    ],
    "steady-state-hypothesis": {"title": "nothing yet", "probes": []},
}


def test_run_drill_on_the_lab_through_chaos_run(tmp_path: Path) -> None:
    """A real chaos run: the drill runs, its result is recorded, the probes judge it."""
    experiment = json.loads(json.dumps(RUN_DRILL))
    run_drill = experiment["method"][0]["provider"]["arguments"]
    run_drill["out"] = str(tmp_path / "run")
    run_drill["drill"] = str(tmp_path / write_drill(tmp_path, "quick"))  # a 3 s drill
    for func, arguments in (
        ("drill_passed", {}),
        ("score_at_least", {"score": 90}),
        ("rto_within", {"seconds": 5, "probe": "api"}),
    ):
        experiment["method"].append(
            {
                "type": "probe",
                "name": func,
                "provider": {
                    "type": "python",
                    "module": "orchestrator.ctk.probes",
                    "func": func,
                    "arguments": {**arguments, "result": str(tmp_path / "run")},
                },
            }
        )
    del experiment["steady-state-hypothesis"]
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment))
    done = subprocess.run(
        [*CHAOS, "run", str(path), "--journal-path", str(tmp_path / "j.json")],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "state"),
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    journal = json.loads((tmp_path / "j.json").read_text())
    outputs = [run["output"] for run in journal["run"]]
    assert outputs[0]["outcome"] == "passed"
    assert outputs[1:] == [True, True, True]
    history = zonedrill(tmp_path / "state", "history", "-o", "json")
    (run,) = json.loads(history.stdout)["runs"]
    assert (run["trigger"], run["outcome"]) == ("chaostoolkit", "passed")


def test_a_failing_run_drill_is_a_failed_action(tmp_path: Path) -> None:
    """A drill that cannot run (no such file) fails the action, naming why.

    Chaos Toolkit itself still ends such a run "completed" (a failed action is not a deviation).
    """
    experiment = json.loads(json.dumps(RUN_DRILL))
    experiment["method"][0]["provider"]["arguments"]["drill"] = str(tmp_path / "missing.yaml")
    del experiment["steady-state-hypothesis"]
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment))
    done = subprocess.run(
        [*CHAOS, "run", str(path), "--journal-path", str(tmp_path / "j.json")],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "state"),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    journal = json.loads((tmp_path / "j.json").read_text())
    assert journal["run"][0]["status"] == "failed"
    assert "zonedrill run exited 2" in "".join(journal["run"][0]["exception"])
    assert "missing.yaml" in "".join(journal["run"][0]["exception"]) + done.stdout


@pytest.mark.parametrize("drill", EXPORTED, ids=lambda p: p.stem)
def test_the_experiments_are_the_exports_of_the_drills(drill: Path) -> None:
    """experiments/ is current.

    Regenerate from the repository root with
    `zonedrill export DRILL --to chaostoolkit --seed 0 --output-file experiments/NAME.json`.
    """
    done = subprocess.run(
        [*ZONEDRILL, "export", str(drill.relative_to(REPO)), "--to", "chaostoolkit", "--seed", "0"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (REPO / "experiments" / f"{drill.stem}.json").read_text() == done.stdout


def test_every_experiment_passes_chaos_validate() -> None:
    """Chaos Toolkit's own validation takes every exported experiment."""
    for path in sorted((REPO / "experiments").glob("*.json")):
        done = subprocess.run(
            [*CHAOS, "validate", str(path)],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, (path.name, done.stdout + done.stderr)


def comparable(drill: Drill) -> dict[str, object]:
    """A drill with its defaults written out (an export writes mode and timeout out)."""
    data = drill.model_dump(mode="json", by_alias=True)
    for step, written in zip(data["spec"]["steps"], drill.spec.steps, strict=True):
        if written.is_lose:
            step["mode"] = str(written.fault_mode)
    for probe, model in zip(data["spec"]["probes"], drill.spec.probes, strict=True):
        probe["http"]["timeout"] = model.timeout
    return data


@pytest.mark.parametrize("drill", EXPORTED, ids=lambda p: p.stem)
def test_export_then_import_gives_the_same_drill(drill: Path, tmp_path: Path) -> None:
    """The round trip: probes and steps come back from the activities, the rest from the drill."""
    experiment = tmp_path / "e.json"
    exported = zonedrill(
        tmp_path,
        "export",
        str(drill),
        "--to",
        "chaostoolkit",
        "--seed",
        "0",
        "--output-file",
        str(experiment),
    )
    assert exported.returncode == 0, exported.stderr
    # Beside a link to the examples' labs, so that its lab path resolves; never in drills/,
    # which other tests (on another worker) read at the same time.
    (tmp_path / "labs").symlink_to(drill.parent / "labs")
    back = tmp_path / f"roundtrip-{drill.stem}.yaml"
    imported = zonedrill(tmp_path, "import", str(experiment), "--output-file", str(back))
    assert imported.returncode == 0, imported.stderr
    from orchestrator.drill.picks import pick_zones  # noqa: PLC0415

    picked, _ = pick_zones(load_drill(drill), 0)
    assert comparable(load_drill(back)) == comparable(picked)


HAND_WRITTEN = """\
{
  "version": "1.0.0",
  "title": "Drain Pangyo and keep the API up",
  "description": "written by hand for chaostoolkit-kubernetes",
  "secrets": {"k8s": {"KUBERNETES_CONTEXT": "staging"}},
  "steady-state-hypothesis": {
    "title": "the API answers",
    "probes": [
      {"type": "probe", "name": "talk api", "tolerance": 200,
       "provider": {"type": "http", "url": "http://127.0.0.1:8080/healthz", "timeout": 2}},
      {"type": "probe", "name": "auth-api", "tolerance": {"type": "range", "range": [200, 204],
       "target": "status"},
       "provider": {"type": "http", "url": "http://127.0.0.1:8081/"}},
      {"type": "probe", "name": "pods-ready", "tolerance": true,
       "provider": {"type": "python", "module": "chaosk8s.pod.probes",
                    "func": "pods_in_phase", "arguments": {"label_selector": "app=talk"}}}
    ]
  },
  "method": [
    {"type": "action", "name": "cordon pangyo",
     "provider": {"type": "python", "module": "chaosk8s.node.actions", "func": "cordon_node",
                  "arguments": {"label_selector": "zonedrill.io/power-zone=pangyo"}}},
    {"type": "action", "name": "drain pangyo", "pauses": {"before": 5, "after": 20},
     "provider": {"type": "python", "module": "chaosk8s.node.actions", "func": "drain_nodes",
                  "arguments": {"label_selector": "zonedrill.io/power-zone=pangyo",
                                "delete_pods_with_local_storage": true}}},
    {"type": "action", "name": "kill a pod",
     "provider": {"type": "python", "module": "chaosk8s.pod.actions",
                  "func": "terminate_pods", "arguments": {"label_selector": "app=talk"}}},
    {"type": "action", "name": "by name", "provider": {"type": "python",
     "module": "chaosk8s.node.actions", "func": "cordon_node", "arguments": {"name": "n1"}}},
    {"type": "action", "name": "uncordon pangyo", "pauses": {"after": 10},
     "provider": {"type": "python", "module": "chaosk8s.node.actions", "func": "uncordon_node",
                  "arguments": {"label_selector": "zonedrill.io/power-zone=pangyo"}}}
  ],
  "rollbacks": [
    {"type": "action", "name": "uncordon", "provider": {"type": "process", "path": "kubectl"}}
  ]
}
"""


def test_import_of_a_hand_written_chaostoolkit_kubernetes_experiment(tmp_path: Path) -> None:
    """Node actions by selector and HTTP probes carry over; every other part is named."""
    path = tmp_path / "drain.json"
    path.write_text(HAND_WRITTEN)
    done = zonedrill(tmp_path, "import", str(path))
    assert done.returncode == 0, done.stderr
    drill = YAML(typ="safe").load(done.stdout)
    spec = drill["spec"]
    assert drill["metadata"]["name"] == "drain-pangyo-and-keep-the-api-up"
    assert spec["zones"] == {"pangyo": {"nodeSelector": {"zonedrill.io/power-zone": "pangyo"}}}
    assert [p["name"] for p in spec["probes"]] == ["talk-api", "auth-api"]
    assert spec["probes"][0]["expect"] == {"status": [200]}
    assert spec["probes"][1]["expect"] == {"status": [200, 201, 202, 203, 204]}
    assert spec["steps"] == [
        {"at": "0s", "lose": "pangyo", "mode": "drain"},  # the cordon, then the drain: one loss
        {"at": "25s", "restore": "pangyo"},
    ]
    assert "method[1].provider: zone pangyo is lost already" in done.stderr
    assert spec["targets"] == [
        {"probe": "talk-api", "availability": "100%"},
        {"probe": "auth-api", "availability": "100%"},
    ]
    for part in (
        "steady-state-hypothesis.probes[2].provider",
        "method[1].provider.arguments.delete_pods_with_local_storage",
        "method[2].provider",
        "method[3].provider",
    ):
        assert f"not carried over: {part}:" in done.stderr


def test_import_refuses_an_experiment_with_nothing_runnable(tmp_path: Path) -> None:
    """No zone lost: exit 2, with every part that was left out named."""
    experiment = json.loads(HAND_WRITTEN)
    experiment["method"] = experiment["method"][2:4]
    path = tmp_path / "nothing.json"
    path.write_text(json.dumps(experiment))
    done = zonedrill(tmp_path, "import", str(path))
    assert done.returncode == 2
    assert "nothing runnable is left" in done.stderr
    assert "method[0].provider" in done.stderr


def test_export_of_a_random_drill_needs_a_seed(tmp_path: Path) -> None:
    """Chaos Toolkit cannot pick a zone per run: the export says so and exits 2."""
    done = zonedrill(
        tmp_path,
        "export",
        str(REPO / "drills" / "any-site-power-loss.yaml"),
        "--to",
        "chaostoolkit",
    )
    assert done.returncode == 2
    assert "--seed" in done.stdout + done.stderr


FAKE = """\
import time
from pathlib import Path


def nap(seconds):
    time.sleep(seconds)


def lose_zone(zone):
    Path("DOWN").touch()
    return {"nodes": ["n1"]}
"""


def controlled_experiment(tmp_path: Path, port: int, **changes: Any) -> Path:
    """A hand-made experiment the zonedrill control records: the drill embedded, one probe."""
    drill = load_drill(tmp_path / write_drill(tmp_path, "d")).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    drill["spec"]["probes"] = [
        {"name": "api", "http": {"url": f"http://127.0.0.1:{port}/"}, "every": "500ms"}
    ]
    del drill["spec"]["lab"]
    probe = {
        "type": "probe",
        "name": "api",
        "tolerance": 200,
        "provider": {"type": "http", "url": f"http://127.0.0.1:{port}/", "timeout": 1},
    }
    judge = {
        "type": "probe",
        "name": "judged",
        "tolerance": True,
        "provider": {
            "type": "python",
            "module": "orchestrator.ctk.probes",
            "func": "drill_passed",
            "arguments": {"drill": "d", "this_run": True},
        },
    }
    experiment: dict[str, Any] = {
        "version": "1.0.0",
        "title": "by hand",
        "description": "recorded by the control",
        "extensions": [{"name": "zonedrill", "drill": drill}],
        "controls": [
            {
                "name": "zonedrill",
                "provider": {
                    "type": "python",
                    "module": "orchestrator.ctk.control",
                    "arguments": {"out": str(tmp_path / "run")},
                },
            }
        ],
        "steady-state-hypothesis": {"title": "up", "probes": [probe, judge]},
        "method": [
            {
                "type": "action",
                "name": "nap",
                "provider": {
                    "type": "python",
                    "module": "fakemod",
                    "func": "nap",
                    "arguments": {"seconds": 3},
                },
            }
        ],
        "runtime": {"hypothesis": {"strategy": "continuously"}},
    } | changes
    (tmp_path / "fakemod.py").write_text(FAKE)
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment))
    return path


def chaos_run(tmp_path: Path, experiment: Path) -> subprocess.CompletedProcess[str]:
    """chaos run with the frequency the drill's probe asks, fakemod importable."""
    env = {**cli_env(tmp_path / "state"), "PYTHONPATH": str(tmp_path)}
    return subprocess.run(
        [
            *CHAOS,
            "run",
            str(experiment),
            "--hypothesis-frequency",
            "0.5",
            "--journal-path",
            str(tmp_path / "journal.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.fixture
def answering() -> Iterator[int]:
    """A loopback server that answers 200."""
    from tests.test_image import Healthy  # noqa: PLC0415

    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def test_a_run_that_lost_no_zone_is_never_passed(tmp_path: Path, answering: int) -> None:
    """A method with no zone action (a look-alike lose_zone included) scores as an error."""
    experiment = controlled_experiment(tmp_path, answering)
    data = json.loads(experiment.read_text())
    data["method"].append(
        {
            "type": "action",
            "name": "fake loss",
            "provider": {
                "type": "python",
                "module": "fakemod",
                "func": "lose_zone",
                "arguments": {"zone": "a"},
            },
        }
    )
    experiment.write_text(json.dumps(data))
    done = chaos_run(tmp_path, experiment)
    assert done.returncode == 1, done.stdout + done.stderr  # the judgement deviates
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert (result["outcome"], result["reason"]) == ("error", NEVER_REACHED)
    assert (result["steps"], result["cluster"]) == ([], None)


UNREACHABLE = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def test_a_run_that_never_reached_its_cluster_is_an_error(tmp_path: Path, answering: int) -> None:
    """Service probes that cannot reach the API server: error, not a service found not steady."""
    (tmp_path / "kubeconfig").write_text(UNREACHABLE)
    experiment = controlled_experiment(tmp_path, answering)
    data = json.loads(experiment.read_text())
    data["steady-state-hypothesis"]["probes"][0] = {
        "type": "probe",
        "name": "api",
        "tolerance": {
            "type": "probe",
            "name": "answered",
            "provider": {
                "type": "python",
                "module": "orchestrator.ctk.probes",
                "func": "answer_ok",
                "arguments": {},
            },
        },
        "provider": {
            "type": "python",
            "module": "orchestrator.ctk.probes",
            "func": "service_status",
            "arguments": {
                "namespace": "m",
                "name": "api",
                "kubeconfig": str(tmp_path / "kubeconfig"),
            },
        },
    }
    experiment.write_text(json.dumps(data))
    done = chaos_run(tmp_path, experiment)
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert (result["outcome"], result["reason"]) == ("error", NEVER_REACHED), done.stdout
    assert result["cluster"] is None


def test_a_probe_asked_twice_makes_the_run_unscorable(tmp_path: Path, answering: int) -> None:
    """Copies of a probe under one name would outvote it: the run is an error, not a score."""
    experiment = controlled_experiment(tmp_path, answering)
    data = json.loads(experiment.read_text())
    probes = data["steady-state-hypothesis"]["probes"]
    probes.insert(0, dict(probes[0]))
    experiment.write_text(json.dumps(data))
    chaos_run(tmp_path, experiment)
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["outcome"] == "error"
    assert "probe api is asked by more than one activity" in result["reason"]


def test_a_judgement_of_this_run_without_the_control_fails(tmp_path: Path, answering: int) -> None:
    """No recording, no verdict: an earlier run in the history never answers for this one."""
    experiment = controlled_experiment(tmp_path, answering, controls=[])
    done = chaos_run(tmp_path, experiment)
    assert done.returncode == 1, done.stdout + done.stderr
    journal = json.loads((tmp_path / "journal.json").read_text())
    judged = journal["steady_states"]["before"]["probes"][-1]
    assert judged["status"] == "failed"
    assert "not recording this chaos run" in "".join(judged["exception"])


def zone_action(func: str, **arguments: Any) -> dict[str, Any]:
    """A method or rollback activity calling one of zonedrill's zone actions."""
    return {
        "type": "action",
        "name": func,
        "provider": {
            "type": "python",
            "module": "orchestrator.ctk.actions",
            "func": func,
            "arguments": arguments,
        },
    }


def test_lose_zone_without_the_control_is_refused_before_any_change(
    tmp_path: Path, answering: int
) -> None:
    """The control keeps the run's Lease and journal; without it no zone is lost, none owed."""
    drill = str(tmp_path / write_drill(tmp_path, "d"))
    experiment = controlled_experiment(
        tmp_path,
        answering,
        controls=[],
        method=[zone_action("lose_zone", drill=drill, zone="a")],
        rollbacks=[zone_action("restore_zone", zone="a")],
    )
    data = json.loads(experiment.read_text())
    del data["steady-state-hypothesis"]  # its judgement fails without the control, as it must
    experiment.write_text(json.dumps(data))
    chaos_run(tmp_path, experiment)
    journal = json.loads((tmp_path / "journal.json").read_text())
    lost, restored = journal["run"][0], journal["rollbacks"][0]
    assert lost["status"] == "failed"
    assert "the zonedrill control is not declared" in "".join(lost["exception"])
    assert restored["status"] == "succeeded"
    assert restored["output"] == {"zone": "a", "restored": 0, "note": "not lost in this chaos run"}
    assert not (tmp_path / "state" / "journals").exists()


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"steady-state-hypothesis": "x"}, 2, "steady-state-hypothesis: not a mapping"),
        ({"method": 5}, 2, "method: not a list: nothing in it is read"),
        ({"extensions": 5}, 0, "extensions: not a list"),  # the rest still runs
    ],
)
def test_import_of_a_malformed_experiment_is_refused_cleanly(
    tmp_path: Path, change: dict[str, Any], code: int, words: str
) -> None:
    """Parts of the wrong shape are named with their path, never a traceback."""
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(json.loads(HAND_WRITTEN) | change))
    done = zonedrill(tmp_path, "import", str(path))
    assert done.returncode == code, done.stderr
    assert f"not carried over: {words}" in done.stderr
    assert "Traceback" not in done.stderr


def test_import_never_widens_a_selector(tmp_path: Path) -> None:
    """tier!=db is not dropped into a wider zone, and zone=A is not folded into zone=a."""
    experiment = json.loads(HAND_WRITTEN)
    node = "chaosk8s.node.actions"
    experiment["method"] = [
        {
            "type": "action",
            "name": f"cordon {s}",
            "provider": {
                "type": "python",
                "module": node,
                "func": "cordon_node",
                "arguments": {"label_selector": s},
            },
        }
        for s in ("zone=a,tier!=db", "zone=A", "zone=a")
    ]
    path = tmp_path / "selectors.json"
    path.write_text(json.dumps(experiment))
    done = zonedrill(tmp_path, "import", str(path))
    assert done.returncode == 0, done.stderr
    spec = YAML(typ="safe").load(done.stdout)["spec"]
    assert "method[0].provider: a node action needs a label_selector of plain" in done.stderr
    assert sorted(z["nodeSelector"]["zone"] for z in spec["zones"].values()) == ["A", "a"]
    assert len(spec["steps"]) == 2


def test_the_session_thread_of_a_run_that_holds_no_zone_is_stopped_at_its_end() -> None:
    """The control makes one session per run; an idle one must not outlive the experiment."""
    configuration: dict[str, Any] = {}
    before = threading.active_count()
    control.configure_control({}, configuration=configuration)
    control.configure_control({}, configuration=configuration)  # declared twice: one session
    assert threading.active_count() == before + 1
    control.after_experiment_control(None, None, configuration=configuration)
    assert threading.active_count() == before
    assert configuration == {}


@pytest.mark.parametrize(
    ("pauses", "named"),
    [
        ({"before": -5}, "method[1].pauses.before: not a pause in seconds up to a week: -5"),
        ({"after": "soon"}, "method[1].pauses.after: not a pause in seconds up to a week: 'soon'"),
        ({"before": True}, "method[1].pauses.before: not a pause in seconds up to a week: True"),
        ("5s", "method[1].pauses: not a mapping of pauses: '5s'"),
    ],
)
def test_import_names_a_pause_it_cannot_carry_over(tmp_path: Path, pauses: Any, named: str) -> None:
    """A pause that is no number of seconds was dropped in silence, moving the steps."""
    data = json.loads(HAND_WRITTEN)
    data["method"][1]["pauses"] = pauses
    path = tmp_path / "drain.json"
    path.write_text(json.dumps(data))
    done = zonedrill(tmp_path, "import", str(path))
    assert done.returncode == 0, done.stderr
    assert f"not carried over: {named}" in done.stderr


def test_a_chaos_run_sample_moved_outside_the_run_does_not_verify(
    tmp_path: Path, answering: int
) -> None:
    """A recorded Chaos Toolkit run verifies; one sample moved an hour later does not."""
    chaos_run(tmp_path, controlled_experiment(tmp_path, answering))
    run = tmp_path / "run"
    assert zonedrill(tmp_path / "state", "verify", str(run)).returncode == 0
    samples, _ = read_samples(run / "samples.jsonl")
    moved = [replace(samples[-1], started=samples[-1].started + 3600), *samples[:-1]]
    data = encode_samples(moved)
    (run / "samples.jsonl").write_bytes(data)
    document = json.loads((run / "result.json").read_text())
    (run / "result.json").write_text(json.dumps(document | {"samplesDigest": digest(data)}))
    verified = zonedrill(tmp_path / "state", "verify", str(run))
    assert verified.returncode == 1, verified.stdout
    assert "samples: 1 outside the run" in verified.stdout


def test_lose_zone_runs_the_drill_an_export_carries_from_any_folder(tmp_path: Path) -> None:
    """A relative drill path that is not there: the carried drill; without one, refused."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from orchestrator.ctk.actions import _drill_for  # noqa: PLC0415
    from orchestrator.ctk.recording import Recording  # noqa: PLC0415

    carried = load_drill(REPO / "drills" / "pangyo-drain-pdb.yaml")
    recording = Recording(
        drill=carried,
        started=datetime.now(UTC),
        run_id="r",
        out_dir=tmp_path,
        hypothesis=set(),
        carried=True,
    )
    elsewhere = str(tmp_path / "drills" / "pangyo-drain-pdb.yaml")
    assert _drill_for(elsewhere, recording) is carried
    with pytest.raises(InvalidInputError, match=r"pangyo-drain-pdb\.yaml"):
        _drill_for(elsewhere, replace(recording, carried=False))
    here = str(REPO / "drills" / "pangyo-battery-fire.yaml")  # a file that is there wins
    assert _drill_for(here, recording).metadata.name == "pangyo-battery-fire"


def test_export_prints_yaml_with_o_yaml(tmp_path: Path) -> None:
    """-o yaml is the same experiment as the JSON an export writes by default."""
    drill = str(REPO / "drills" / "pangyo-drain-pdb.yaml")
    as_json = zonedrill(tmp_path, "export", drill, "--to", "chaostoolkit")
    as_yaml = zonedrill(tmp_path, "export", drill, "--to", "chaostoolkit", "-o", "yaml")
    assert (as_json.returncode, as_yaml.returncode) == (0, 0), as_yaml.stderr
    assert YAML(typ="safe").load(as_yaml.stdout) == json.loads(as_json.stdout)


def test_an_activity_s_error_names_its_arguments_not_zonedrill_s_flags(tmp_path: Path) -> None:
    """Inside chaos run, the way out is an activity argument: "kubeconfig", not --kubeconfig."""
    from chaoslib.exceptions import ActivityFailed  # noqa: PLC0415

    from orchestrator.ctk.probes import service_status  # noqa: PLC0415

    with pytest.raises(ActivityFailed) as failed:
        service_status(namespace="a", name="b", kubeconfig=str(tmp_path / "nowhere"))
    said = str(failed.value)
    assert 'give the activity a "kubeconfig" argument (a file) or set $KUBECONFIG' in said
    assert "--" not in said


def test_an_export_runs_on_its_lab_from_any_folder_and_verifies(tmp_path: Path) -> None:
    """chaos run of a lab drill's export, its files gone: the carried lab is lost and restored.

    The packed service's two pods sit in zone a, so losing a downs it until they come back in
    b (500 ms to schedule, 500 ms to start): the run fails its 300 ms RTO on the lab, and the
    result verifies, Chaos Toolkit's rounds and all.
    """
    source, elsewhere = tmp_path / "src", tmp_path / "elsewhere"
    source.mkdir()
    elsewhere.mkdir()
    drill = source / write_drill(source, "quick", service="packed", duration="4s")
    zonedrill(tmp_path, "export", str(drill), "--to", "chaostoolkit", "--output-file",
              str(elsewhere / "quick.json"))  # fmt: skip
    for made in source.iterdir():
        made.unlink()
    done = subprocess.run(
        [*CHAOS, "run", "quick.json", "--hypothesis-frequency", "0.2"],
        capture_output=True, text=True, env=cli_env(tmp_path / "state"), cwd=elsewhere,
        timeout=120, check=False,
    )  # fmt: skip
    (run,) = (elsewhere / "zonedrill-runs").iterdir()
    result = json.loads((run / "result.json").read_text())
    assert (result["target"], result["cluster"]["identity"]) == ("lab", "lab/three"), done.stderr
    assert (result["outcome"], result["restored"]) == ("failed", True)
    lost = result["steps"][0]
    assert (lost["action"], lost["zone"], lost["podsDeleted"]) == ("lose", "a", 3)  # spread too
    (rto,) = result["probes"][0]["rto"]
    assert 0.8 <= rto["seconds"] <= 3.0
    assert zonedrill(tmp_path / "state", "verify", str(run)).returncode == 0


def test_a_target_chaos_run_cannot_open_is_refused_before_the_hypothesis(tmp_path: Path) -> None:
    """An unknown zonedrill_target, or a lab target with no lab: the run says so, touches none."""
    drill = load_drill(tmp_path / write_drill(tmp_path, "d"))
    experiment = {
        "extensions": [{"name": "zonedrill", "drill": drill.model_dump(mode="json", by_alias=True)}]
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"zonedrill_target": "moon"}, 'zonedrill_target: "moon" is not a target; give one of'),
        ({"zonedrill_target": ""}, 'zonedrill_target: "" is not a target'),  # $ZONEDRILL_TARGET=
        ({"zonedrill_target": "lab"}, "no such file"),  # spec.lab next to no experiment file
        ({"zonedrill_target": "lab", "zonedrill_lab": str(tmp_path)}, "a folder, not a file"),
    ]
    for configuration, said in cases:
        control.configure_control(experiment, configuration, out=str(tmp_path / "run"))
        current = configuration["zonedrill.recording"]
        assert said in current.refused
        zones = configuration["zonedrill.zones"]
        with pytest.raises(InvalidInputError, match=said):
            zones.call(zones.lose(drill, "a", drill.spec.steps[0].fault_mode, {}))
        zones.close()


@pytest.mark.parametrize("skipped", [True, False], ids=["skipped-behind-a-failure", "asked"])
def test_a_probe_chaos_toolkit_skipped_behind_a_failing_one_is_never_scored(
    tmp_path: Path, skipped: bool
) -> None:
    """auth-api unasked through talk-api's 10 s outage: no evidence of it, so the run is an error.

    Chaos Toolkit skips the probes after one out of tolerance; counting the probe as up there
    would pass a target nothing measured. Asked all through, the same run is graded.
    """
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from orchestrator.ctk import scoring_ctk  # noqa: PLC0415
    from orchestrator.ctk.recording import Recording  # noqa: PLC0415
    from orchestrator.results.document import ClusterDoc  # noqa: PLC0415
    from orchestrator.results.result import StepRecord  # noqa: PLC0415

    current = Recording(
        drill=load_drill(REPO / "drills" / "pangyo-battery-fire.yaml"),
        started=datetime.now(UTC) - timedelta(seconds=45),
        run_id="ctk-skipped",
        out_dir=tmp_path / "run",
        hypothesis={"talk-api", "auth-api"},
        target="lab",
        cluster=ClusterDoc(identity="lab/pangyo-lab", uid=None),
        t0=10.0,
        chaos_end=40.0,
    )
    for tick in range(80):
        at = tick * 0.5
        down = 10.0 <= at < 20.0
        current.add_sample("talk-api", at, not down, "tolerance" if down else None)
        if not (down and skipped):
            current.add_sample("auth-api", at + 0.01, True, None)
    current.steps.append(StepRecord(0, "lose", "pangyo", "power-loss", 10.0, 10.1, nodes=["n"]))
    outcome = scoring_ctk.write(current, ended="completed")
    document = outcome.document.model_dump(mode="json", by_alias=True)
    if skipped:
        assert (document["outcome"], document["score"]) == ("error", None)
        assert "no evidence: auth-api unasked from 10.000 to 20.010 s" in document["reason"]
    else:
        assert document["outcome"] == "failed"  # talk-api's 10 s RTO against 5 s
    verified = zonedrill(tmp_path / "state", "verify", str(tmp_path / "run"))
    assert verified.returncode == 0, verified.stdout
