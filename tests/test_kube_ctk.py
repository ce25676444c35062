"""Chaos Toolkit on the real control plane: a real ``chaos run`` of a drill's export.

The drill is the flagship with its probes pointed at the loopback fronts of the Services (KWOK
pods answer nothing, and their addresses are never dialled), without its latency targets (a
Chaos Toolkit run measures no latency). The control's result must agree with zonedrill's (``plan
--simulate``, which tests/test_kube_drills.py holds ``run --target kube`` to) on outcome and
failed checks, the nodes must end exactly as before, and
a killed ``chaos run`` is restored by ``zonedrill rollback --all``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from orchestrator.drill import load_drill
from orchestrator.drill.http import HttpProbe
from tests.cluster.zones import wait_for
from tests.kubecase import nodes_as_before
from tests.support import REPO, ZONEDRILL, cli_env, start_until, zonedrill
from tests.test_kube_drills import workloads

pytestmark = pytest.mark.cluster

CHAOS = [sys.executable, "-m", "chaostoolkit"]
DRILL = REPO / "drills" / "pangyo-battery-fire.yaml"


def drill_on_fronts(folder: Path, urls: list[str]) -> Path:
    """The flagship, probing the fronts by URL, with rto and availability targets only."""
    fronts = dict(flag.removeprefix("--service-url=").split("=", 1) for flag in urls)
    data = load_drill(DRILL).model_dump(mode="json", by_alias=True, exclude_none=True)
    spec = data["spec"]
    del spec["lab"]
    for probe in spec["probes"]:
        service = probe["http"].pop("service")
        probe["http"]["url"] = fronts[f"{service['namespace']}/{service['name']}"] + "/healthz"
    for target in spec["targets"]:
        target.pop("p99Latency", None)
    # Chaos Toolkit stops its hypothesis at the first probe out of tolerance: auth-api, which
    # stays up, is asked first, or it would go unasked through talk-api's 10 s outage and the
    # run would be an error for want of its evidence.
    spec["probes"].reverse()
    spec["stopIf"] = []
    path = folder / "flagship-on-fronts.yaml"
    path.write_text(json.dumps(data, indent=2))  # JSON is YAML
    return path


@pytest.fixture
def fronted(control_plane: Any, kube: client.ApiClient, tmp_path: Path) -> Iterator[Path]:
    """The flagship's workloads on the cluster, and the drill probing their fronts."""
    with workloads(control_plane, kube, "pangyo-battery-fire") as urls:
        yield drill_on_fronts(tmp_path, urls)


def export(drill: Path, folder: Path, *, out: Path | None = None) -> Path:
    """``zonedrill export`` of ``drill`` into ``folder``; the control writes into ``out``."""
    path = folder / "experiment.json"
    done = zonedrill(
        folder, "export", str(drill), "--to", "chaostoolkit", "--output-file", str(path)
    )
    assert done.returncode == 0, done.stderr
    if out is not None:
        experiment = json.loads(path.read_text())
        experiment["controls"][0]["provider"]["arguments"] = {"out": str(out)}
        path.write_text(json.dumps(experiment))
    return path


def chaos_env(control_plane: Any, state: Path) -> dict[str, str]:
    """zonedrill's state directory and the test cluster's kubeconfig, as chaos run gets them."""
    return {**cli_env(state), "KUBECONFIG": str(control_plane.kubeconfig)}


def failed_checks(result: dict[str, Any]) -> set[tuple[str, str]]:
    """(probe, metric) of every check that missed."""
    return {(c["probe"], c["metric"]) for c in result["checks"] if not c["passed"]}


def test_chaos_run_of_the_export_agrees_with_zonedrill(
    control_plane: Any,
    kube: client.ApiClient,
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Same outcome and failed checks as zonedrill's; the deviation runs the rollbacks.

    zonedrill's side is ``plan --simulate`` of the flagship: tests/test_kube_drills.py holds
    ``run --target kube`` of the same drill on these workloads to that prediction, so a second
    kube run here would only repeat it (and cost the suite a minute).
    """
    state = tmp_path / "state"
    by_zonedrill = predicted(state)
    out = tmp_path / "ctk-run"
    with workloads(control_plane, kube, "pangyo-battery-fire") as urls:
        drill = drill_on_fronts(tmp_path, urls)
        answering(drill)
        experiment = export(drill, tmp_path, out=out)
        done = subprocess.run(
            [*CHAOS, "run", str(experiment), "--journal-path", str(tmp_path / "journal.json")],
            capture_output=True,
            text=True,
            env=chaos_env(control_plane, state),
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
    assert done.returncode == 1, done.stdout + done.stderr  # deviated: the targets were missed
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["deviated"] is True
    assert [r["activity"]["name"] for r in journal["rollbacks"]] == ["restore pangyo"]
    by_chaos = json.loads((out / "result.json").read_text())
    assert (by_chaos["outcome"], failed_checks(by_chaos)) == (
        by_zonedrill["outcome"],
        failed_checks(by_zonedrill),
    )
    assert (by_chaos["runner"], by_chaos["restored"]) == ("chaostoolkit", True)
    assert any("RTO resolution" in limit for limit in by_chaos["limits"])
    verified = zonedrill(state, "verify", str(out))
    assert verified.returncode == 0, verified.stdout
    gate = zonedrill(state, "gate", "--drill", by_chaos["drill"])
    assert gate.returncode == 1
    assert by_chaos["runId"] in gate.stdout
    assert nodes_as_before(kube, pristine) == pristine


def predicted(state: Path) -> dict[str, Any]:
    """``plan --simulate`` of the flagship, without the p99 checks its fronts drill drops."""
    done = zonedrill(state, "plan", str(DRILL), "--simulate", "-o", "json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    result["checks"] = [c for c in result["checks"] if c["metric"] != "p99Latency"]
    return result


def test_a_stopped_chaos_run_ends_restored(
    control_plane: Any,
    kube: client.ApiClient,
    pristine: dict[str, Any],
    fronted: Path,
    tmp_path: Path,
) -> None:
    """Mid-method: SIGINT runs the rollbacks; after SIGKILL, zonedrill rollback --all restores.

    Both on one set of workloads: what matters here is the nodes, not the pods.
    """
    for how in (signal.SIGINT, signal.SIGKILL):
        folder = tmp_path / how.name
        folder.mkdir()
        stop_mid_method(control_plane, fronted, folder, how)
        assert nodes_as_before(kube, pristine) == pristine, how.name
        if how == signal.SIGINT:
            journal = json.loads((folder / "journal.json").read_text())
            assert [r["activity"]["name"] for r in journal["rollbacks"]] == ["restore pangyo"]


def stop_mid_method(control_plane: Any, drill: Path, folder: Path, how: signal.Signals) -> None:
    """chaos run of the export, ``how`` once its first zone is lost, then rollback --all."""
    experiment = export(drill, folder)
    state = folder / "state"
    answering(drill)
    process = start_until(
        [*CHAOS, "run", str(experiment), "--journal-path", str(folder / "journal.json")],
        env=chaos_env(control_plane, state),
        marker="Pausing before next activity",  # pangyo is lost; its restore waits
        timeout=120,
    )
    process.send_signal(how)
    rest, _ = process.communicate(timeout=120)
    assert process.returncode != 0, rest
    rolled = subprocess.run(
        [*ZONEDRILL, "rollback", "--all", "--kubeconfig", str(control_plane.kubeconfig)],
        capture_output=True,
        text=True,
        env=cli_env(state),
        timeout=120,
        check=False,
    )
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr


def answering(drill: Path) -> None:
    """Wait until every probe of ``drill`` answers 200: the steady state the run starts from."""
    probes = load_drill(drill).spec.probes
    urls = [p.http.url for p in probes if isinstance(p, HttpProbe) and p.http.url]

    def all_up() -> bool:
        for url in urls:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback
                    if answer.status != HTTP_OK:
                        return False
            except OSError:
                return False
        return True

    wait_for(all_up, what="every probe answering 200", timeout=60)


HTTP_OK = 200
