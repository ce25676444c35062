"""`plan --target kube` forecasts on the real control plane, checked against the scheduler."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.cluster.front import ServiceFront
from tests.cluster.zones import (
    Placement,
    apps_api,
    core_api,
    deployment_body,
    is_ready,
    live_pods,
    pdb_body,
    policy_api,
    service_body,
    wait_for,
)
from tests.kubecase import drill_file, node_state, nodes_as_before, remove_namespaces
from tests.support import ZONEDRILL, cli_env

pytestmark = pytest.mark.cluster

NAMESPACE = "forecast"
BIG = "28"  # CPU of a 32-CPU KWOK node: one such pod per node


def ready_count(kube: client.ApiClient, app: str) -> int:
    """Ready, live pods of ``app`` in the forecast namespace."""
    return sum(is_ready(p) for p in live_pods(kube, NAMESPACE, app))


def deploy(kube: client.ApiClient, name: str, replicas: int, placement: Placement) -> None:
    """Create a Deployment in the forecast namespace and wait for every replica."""
    body = deployment_body(name, replicas=replicas, placement=placement)
    apps_api(kube).create_namespaced_deployment(NAMESPACE, body)
    wait_for(lambda: ready_count(kube, name) == replicas, what=f"{replicas} ready {name}")


@pytest.fixture
def crowded(kube: client.ApiClient, pristine: dict[str, Any]) -> Iterator[ServiceFront]:
    """heavy: one 28-CPU pod per pangyo node; ballast fills the others; spread ignores taints."""
    core = core_api(kube)
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    others = [n for n in pristine if not n.startswith("pangyo")]
    for node in others:  # heavy must land in pangyo: nothing else is schedulable meanwhile
        core.patch_node(node, {"spec": {"unschedulable": True}})
    deploy(kube, "heavy", 3, Placement(cpu=BIG))
    for node in others:
        core.patch_node(node, {"spec": {"unschedulable": False}})
    deploy(kube, "ballast", len(others), Placement(cpu=BIG, avoid_zone="pangyo"))
    deploy(kube, "spread", 6, Placement(spread=True, taints_policy="Ignore"))
    policy_api(kube).create_namespaced_pod_disruption_budget(
        NAMESPACE, pdb_body("spread", min_available=5)
    )
    core.create_namespaced_service(NAMESPACE, service_body("spread"))
    front = ServiceFront(kube, namespace=NAMESPACE, name="spread").start()
    yield front
    front.stop()
    remove_namespaces(kube, {NAMESPACE})


def drill(tmp_path: Path, mode: str) -> Path:
    """Lose pangyo in ``mode`` for 10 s, probing the spread Service."""
    return drill_file(tmp_path, NAMESPACE, mode=mode, duration="10s", service="spread")


def unschedulable(kube: client.ApiClient) -> Counter[str]:
    """Pods the scheduler tried and could not place, by app."""
    pods = core_api(kube).list_namespaced_pod(NAMESPACE).items
    return Counter(
        p.metadata.labels["app"]
        for p in pods
        if any(
            c.type == "PodScheduled" and c.reason == "Unschedulable"
            for c in (p.status.conditions or [])
        )
    )


def test_plan_names_blocking_pdb_short_requests_and_stuck_spread(
    control_plane: Any, crowded: ServiceFront, tmp_path: Path
) -> None:
    """A drain plan lists the PDB that paces it and both kinds of predicted Pending."""
    command = [*ZONEDRILL, "plan", str(drill(tmp_path, "drain")), "--target=kube"]
    done = subprocess.run(
        [*command, f"--kubeconfig={control_plane.kubeconfig}", "--pods=0"],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "state"),
        timeout=60,
        check=False,
    )
    out = " ".join(done.stdout.split())
    assert done.returncode == 0, done.stderr
    assert "PDB forecast/spread allows 1 disruption(s) now and the drain evicts 2" in out
    assert "predicted Pending: 3 of forecast/heavy's displaced pods fit no surviving node" in out
    assert "predicted Pending: 2 of forecast/spread's 2 displaced pods" in out
    assert "nodeTaintsPolicy: Honor" in out


def test_forecast_pending_matches_the_scheduler(
    control_plane: Any, kube: client.ApiClient, crowded: ServiceFront, tmp_path: Path
) -> None:
    """During a power loss the scheduler leaves exactly the forecast replacements unplaced."""
    path = drill(tmp_path, "power-loss")
    target = ["--target=kube", f"--kubeconfig={control_plane.kubeconfig}"]
    env = cli_env(tmp_path / "state")
    planned = subprocess.run(
        [*ZONEDRILL, "plan", str(path), *target],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    forecast = " ".join(planned.stdout.split())
    assert "predicted Pending: 3 of forecast/heavy's" in forecast
    assert "predicted Pending: 2 of forecast/spread's" in forecast
    before = node_state(kube)
    running = subprocess.Popen(
        [
            *ZONEDRILL,
            "run",
            str(path),
            *target,
            f"--service-url=forecast/spread={crowded.url}",
            f"--out={tmp_path / 'out'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_for(
            lambda: unschedulable(kube) == Counter(heavy=3, spread=2),
            what="3 heavy and 2 spread replacements Unschedulable",
            timeout=20,
        )
    finally:
        running.wait(timeout=120)
    assert nodes_as_before(kube, before) == before
