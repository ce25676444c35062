"""Drills on the real control plane with --target kube: faults, exact restore, lock, rollback."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.cluster.front import ServiceFront
from tests.cluster.zones import (
    api_client,
    apps_api,
    core_api,
    deployment_body,
    pdb_body,
    policy_api,
    service_body,
    wait_for,
)
from tests.conftest import ZONEDRILL, cli_env

pytestmark = pytest.mark.cluster
_names = itertools.count(1)
ZONES = ("pangyo", "ansan", "gasan")
CONTROLLER_UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


@pytest.fixture
def kube(control_plane: Any) -> client.ApiClient:
    """An API client for the session's control plane, with the lock namespace in place."""
    api = api_client(control_plane)
    core = core_api(api)
    if "zonedrill" not in {n.metadata.name for n in core.list_namespace().items}:
        core.create_namespace({"metadata": {"name": "zonedrill"}})
    return api


def node_state(kube: client.ApiClient) -> dict[str, Any]:
    """Every node's unschedulable flag, taints and zonedrill annotations."""
    state = {}
    for node in core_api(kube).list_node().items:
        notes = {k: v for k, v in (node.metadata.annotations or {}).items() if "zonedrill" in k}
        # The node-lifecycle controller mirrors spec.unschedulable as a taint, a moment later.
        taints = sorted(
            (t.key, t.effect)
            for t in (node.spec.taints or [])
            if t.key != CONTROLLER_UNSCHEDULABLE_TAINT
        )
        state[node.metadata.name] = (bool(node.spec.unschedulable), taints, notes)
    return state


@pytest.fixture
def pristine(kube: client.ApiClient) -> Iterator[dict[str, Any]]:
    """The node state before the test; put back afterwards whatever the test did."""
    before = node_state(kube)
    yield before
    core = core_api(kube)
    for name, (unschedulable, taints, _) in before.items():
        body = {
            "metadata": {
                "annotations": {"zonedrill.io/cordoned-by": None, "zonedrill.io/tainted-by": None}
            },
            "spec": {
                "unschedulable": unschedulable,
                "taints": [{"key": k, "effect": e} for k, e in taints] or None,
            },
        }
        core.patch_node(name, body, _content_type="application/merge-patch+json")


@pytest.fixture
def app(kube: client.ApiClient) -> Iterator[dict[str, Any]]:
    """A namespace with a 3-replica Deployment packed into pangyo, its Service and front."""
    namespace = f"k{next(_names)}"
    core, apps = core_api(kube), apps_api(kube)
    core.create_namespace({"metadata": {"name": namespace}})
    others = [
        n.metadata.name for n in core.list_node().items if not n.metadata.name.startswith("pangyo")
    ]
    for node in others:  # pack: only pangyo is schedulable while the pods are placed
        core.patch_node(node, {"spec": {"unschedulable": True}})
    apps.create_namespaced_deployment(namespace, deployment_body("talk", replicas=3))
    core.create_namespaced_service(namespace, service_body("talk"))
    front = ServiceFront(kube, namespace=namespace, name="talk", min_ready=2).start()

    def packed() -> bool:
        # The scheduler's cache may lag the cordons by a moment: move any stray replica.
        live = [
            p
            for p in core.list_namespaced_pod(namespace).items
            if p.metadata.deletion_timestamp is None
        ]
        strays = [p for p in live if p.spec.node_name and not p.spec.node_name.startswith("pangyo")]
        for pod in strays:
            core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
        home = [
            p
            for p in live
            if (p.spec.node_name or "").startswith("pangyo")
            and any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))
        ]
        return not strays and len(live) == len(home) == 3 and front.ready == 3

    wait_for(packed, what="3 ready talk endpoints, all in pangyo")
    for node in others:
        core.patch_node(node, {"spec": {"unschedulable": False}})
    yield {"namespace": namespace, "front": front}
    front.stop()
    core.delete_namespace(namespace)


def drill_file(
    tmp_path: Path, namespace: str, *, mode: str, rto: str = "20s", duration: str = "12s"
) -> Path:
    """A kube drill losing pangyo in ``mode`` and probing talk through --service-url."""
    zones = "\n".join(f"    {z}: {{nodeSelector: {{zonedrill.io/power-zone: {z}}}}}" for z in ZONES)
    path = tmp_path / f"{mode}.yaml"
    path.write_text(f"""\
apiVersion: zonedrill/v1
kind: Drill
metadata: {{name: kube-{mode}}}
spec:
  zones:
{zones}
  probes:
    - name: talk
      http: {{service: {{namespace: {namespace}, name: talk}}}}
      every: 100ms
  baseline: 1s
  duration: {duration}
  steps:
    - {{at: 0s, lose: pangyo, mode: {mode}}}
  targets:
    - {{probe: talk, rto: {rto}}}
  safety: {{maxNodeFraction: 0.5, excludeNamespaces: [kube-system]}}
""")
    return path


def zonedrill_kube(control_plane: Any, app: dict[str, Any], state: Path, *args: str) -> list[str]:
    """The zonedrill command line for the test cluster, probes through the front."""
    del state
    return [
        *ZONEDRILL,
        *args,
        "--target",
        "kube",
        "--kubeconfig",
        str(control_plane.kubeconfig),
        "--service-url",
        f"{app['namespace']}/talk={app['front'].url}",
    ]


def run_drill(
    control_plane: Any, app: dict[str, Any], path: Path, state: Path
) -> tuple[int, dict[str, Any], str]:
    """Run a kube drill to the end; return exit code, result and output."""
    out = path.parent / f"out-{path.stem}"
    done = subprocess.run(
        zonedrill_kube(control_plane, app, state, "run", str(path), "--out", str(out)),
        capture_output=True,
        text=True,
        env=cli_env(state),
        timeout=180,
        check=False,
    )
    result = json.loads((out / "result.json").read_text()) if (out / "result.json").exists() else {}
    return done.returncode, result, done.stdout + done.stderr


def test_power_loss_moves_pods_and_restores_nodes_exactly(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Power loss deletes pangyo's pods, they come back elsewhere; nodes end exactly as before.

    pangyo-3 is cordoned by someone else before the drill and must stay cordoned.
    """
    core = core_api(kube)
    core.patch_node("pangyo-3", {"spec": {"unschedulable": True}})
    before = node_state(kube)
    code, result, output = run_drill(
        control_plane,
        app,
        drill_file(tmp_path, app["namespace"], mode="power-loss"),
        tmp_path / "state",
    )
    assert code == 0, output
    lose = result["steps"][0]
    assert lose["podsDeleted"] >= 3, output
    talk = result["probes"][0]["rto"][0]
    assert talk["seconds"] is not None
    assert talk["recoveredBy"] == "failover"
    assert result["restored"] is True
    assert node_state(kube) == before
    assert before["pangyo-3"][0] is True
    pods = core.list_namespaced_pod(app["namespace"]).items
    assert all(not p.spec.node_name.startswith("pangyo") for p in pods if p.spec.node_name)
    events = core.list_namespaced_event("default").items
    assert any(
        e.reason == "DrillPowerLoss" and e.involved_object.name == "pangyo-1" for e in events
    )


def test_cordon_touches_no_pod_and_restores(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Cordon mode keeps every pod running; the service never fails; nodes end as before."""
    code, result, output = run_drill(
        control_plane,
        app,
        drill_file(tmp_path, app["namespace"], mode="cordon", duration="4s"),
        tmp_path / "state",
    )
    assert code == 0, output
    assert result["steps"][0]["podsDeleted"] == 0
    assert result["probes"][0]["availability"] == 100.0
    assert node_state(kube) == pristine


def test_drain_is_paced_by_a_pdb(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """minAvailable 2 of 3: evictions beyond the first wait for replacements; all go in the end."""
    policy = policy_api(kube)
    namespace = app["namespace"]
    policy.create_namespaced_pod_disruption_budget(namespace, pdb_body("talk", min_available=2))
    wait_for(
        lambda: (
            (
                policy.read_namespaced_pod_disruption_budget(
                    "talk", namespace
                ).status.observed_generation
            )
            == 1
        ),
        what="the PDB to be observed",
    )
    code, result, output = run_drill(
        control_plane,
        app,
        drill_file(tmp_path, namespace, mode="drain", duration="20s"),
        tmp_path / "state",
    )
    assert code == 0, output
    lose = result["steps"][0]
    assert lose["podsEvicted"] == 3
    assert lose["evictionsBlocked"] >= 1
    assert result["probes"][0]["availability"] == 100.0
    assert node_state(kube) == pristine


def test_a_concurrent_drill_is_refused_naming_the_holder(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """While one drill holds the Lease, a second exits 4 and names the first."""
    state = tmp_path / "state"
    first = subprocess.Popen(
        zonedrill_kube(
            control_plane,
            app,
            state,
            "run",
            str(drill_file(tmp_path, app["namespace"], mode="cordon", duration="6s")),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(state),
    )
    assert first.stdout is not None
    for line in first.stdout:
        if "baseline" in line:
            break
    second = tmp_path / "second"
    second.mkdir()
    code, _, output = run_drill(
        control_plane, app, drill_file(second, app["namespace"], mode="cordon"), tmp_path / "state2"
    )
    first.communicate(timeout=60)
    assert code == 4
    assert (
        "another drill holds the lease zonedrill/zonedrill-drill-lock: zonedrill run kube-cordon-"
        in output.replace("\n", "")
    )
    assert first.returncode == 0


def test_a_stale_lease_is_taken_over(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """A Lease last renewed long ago by a dead holder does not block the next drill."""
    coordination: Any = client.CoordinationV1Api(kube)
    old = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {
        "metadata": {"name": "zonedrill-drill-lock", "namespace": "zonedrill"},
        "spec": {"holderIdentity": "ghost", "leaseDurationSeconds": 30, "renewTime": old},
    }
    try:
        coordination.create_namespaced_lease("zonedrill", body)
    except client.exceptions.ApiException:
        coordination.patch_namespaced_lease(
            "zonedrill-drill-lock", "zonedrill", body, _content_type="application/merge-patch+json"
        )
    code, _, output = run_drill(
        control_plane,
        app,
        drill_file(tmp_path, app["namespace"], mode="cordon", duration="2s"),
        tmp_path / "state",
    )
    assert code == 0, output


@pytest.mark.parametrize("keep_journal", [True, False], ids=["journal", "annotations-only"])
def test_sigkill_then_rollback_restores_everything(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
    keep_journal: bool,
) -> None:
    """A drill killed with SIGKILL mid-chaos leaves nodes changed; `rollback --all` restores them.

    Without the journal, rollback works from the node annotations alone.
    """
    state = tmp_path / "state"
    process = subprocess.Popen(
        zonedrill_kube(
            control_plane,
            app,
            state,
            "run",
            str(drill_file(tmp_path, app["namespace"], mode="power-loss", duration="60s")),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(state),
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "lose pangyo (power-loss) done" in line:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert node_state(kube) != pristine
    if not keep_journal:
        for journal in (state / "journal").rglob("*.jsonl"):
            journal.unlink()
    time.sleep(0.5)
    done = subprocess.run(
        [*ZONEDRILL, "rollback", "--all", "--kubeconfig", str(control_plane.kubeconfig)],
        capture_output=True,
        text=True,
        env=cli_env(state),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert node_state(kube) == pristine
