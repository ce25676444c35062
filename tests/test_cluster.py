"""Proof that the test control plane is a real Kubernetes: scheduling, cordons, PDBs, taints."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.cluster.front import ServiceFront
from tests.cluster.zones import (
    POWER_ZONE,
    api_client,
    apps_api,
    core_api,
    daemonset_body,
    deployment_body,
    is_ready,
    pdb_body,
    policy_api,
    service_body,
    wait_for,
)
from tests.cluster.zones import live_pods as pods

pytestmark = pytest.mark.cluster
_names = itertools.count(1)


@pytest.fixture
def kube(control_plane: Any) -> client.ApiClient:
    """An API client for the session's control plane."""
    return api_client(control_plane)


@pytest.fixture
def namespace(kube: client.ApiClient) -> Iterator[str]:
    """A fresh namespace, deleted afterwards."""
    name = f"t{next(_names)}"
    core = core_api(kube)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


@pytest.fixture
def restore_nodes(kube: client.ApiClient) -> Iterator[None]:
    """Put every node's unschedulable flag and taints back as they were."""
    core = core_api(kube)
    before = {
        n.metadata.name: (n.spec.unschedulable, n.spec.taints) for n in core.list_node().items
    }
    yield
    for name, (unschedulable, taints) in before.items():
        core.patch_node(name, {"spec": {"unschedulable": unschedulable, "taints": taints}})


def zone_of(kube: client.ApiClient, pod: Any) -> str:
    """The power zone of the node a pod runs on."""
    node = core_api(kube).read_node(pod.spec.node_name)
    return str(node.metadata.labels[POWER_ZONE])


def deploy(kube: client.ApiClient, namespace: str, name: str, **kwargs: Any) -> None:
    """Create a Deployment and its Service; wait until every replica is Ready."""
    apps_api(kube).create_namespaced_deployment(namespace, deployment_body(name, **kwargs))
    core_api(kube).create_namespaced_service(namespace, service_body(name))
    replicas = kwargs["replicas"]
    wait_for(
        lambda: sum(is_ready(p) for p in pods(kube, namespace, name)) == replicas,
        what=f"{replicas} ready pods of {name}",
    )


def test_deployment_pods_are_scheduled_on_kwok_nodes_and_become_ready(
    kube: client.ApiClient, namespace: str
) -> None:
    """A spread Deployment's pods land on KWOK nodes in all three zones and turn Ready."""
    deploy(kube, namespace, "web", replicas=6, spread=True)
    found = pods(kube, namespace, "web")
    assert sorted(zone_of(kube, p) for p in found) == ["ansan"] * 2 + ["gasan"] * 2 + ["pangyo"] * 2


def test_new_pods_avoid_a_cordoned_node(
    kube: client.ApiClient, namespace: str, restore_nodes: None
) -> None:
    """With pangyo-1 cordoned, pods pinned to pangyo go only to pangyo-2 and pangyo-3."""
    core_api(kube).patch_node("pangyo-1", {"spec": {"unschedulable": True}})
    deploy(kube, namespace, "pinned", replicas=6, zone="pangyo")
    assert {p.spec.node_name for p in pods(kube, namespace, "pinned")} <= {"pangyo-2", "pangyo-3"}


def test_eviction_blocked_by_a_pdb_answers_429(kube: client.ApiClient, namespace: str) -> None:
    """minAvailable equal to replicas: the Eviction API refuses with 429."""
    deploy(kube, namespace, "guarded", replicas=2, spread=True)
    policy = policy_api(kube)
    policy.create_namespaced_pod_disruption_budget(namespace, pdb_body("guarded", min_available=2))
    wait_for(
        lambda: (
            policy.read_namespaced_pod_disruption_budget(
                "guarded", namespace
            ).status.observed_generation
            == 1
        ),
        what="the disruption controller to observe the PDB",
    )
    victim = pods(kube, namespace, "guarded")[0].metadata.name
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": victim, "namespace": namespace},
    }
    with pytest.raises(ApiException) as refused:
        core_api(kube).create_namespaced_pod_eviction(victim, namespace, body)
    assert refused.value.status == 429


def test_lost_zone_is_replaced_elsewhere_and_the_front_follows(
    kube: client.ApiClient, namespace: str, restore_nodes: None
) -> None:
    """Pods lost in pangyo are replaced in other zones; EndpointSlices and the front follow.

    Every node is cordoned first, so the replacements wait Pending and the dip is observable;
    then ansan and gasan are uncordoned and the replacements land there, never in pangyo.
    """
    core = core_api(kube)
    nodes = [n.metadata.name for n in core.list_node().items]
    deploy(kube, namespace, "talk", replicas=3, spread=True)
    front = ServiceFront(kube, namespace=namespace, name="talk", min_ready=3).start()
    try:
        wait_for(lambda: front.ready == 3, what="3 ready endpoints at the front")
        assert _status(front.url) == 200
        for node in nodes:
            core.patch_node(node, {"spec": {"unschedulable": True}})
        lost = [p for p in pods(kube, namespace, "talk") if zone_of(kube, p) == "pangyo"]
        assert lost
        for pod in lost:
            core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
        wait_for(lambda: front.ready == 3 - len(lost), what="the front to see the lost endpoint")
        assert _status(front.url) == 503
        for node in nodes:
            if not node.startswith("pangyo"):
                core.patch_node(node, {"spec": {"unschedulable": False}})
        wait_for(lambda: front.ready == 3, what="replacement endpoints")
        assert _status(front.url) == 200
        assert "pangyo" not in {zone_of(kube, p) for p in pods(kube, namespace, "talk")}
    finally:
        front.stop()


def test_a_broken_front_fails_loudly(
    kube: client.ApiClient, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A front whose watch dies of an unexpected error answers 500 and fails its test at stop.

    A frozen count would keep answering 200 and pass "no impact" checks.
    """
    deploy(kube, namespace, "talk", replicas=1)
    front = ServiceFront(kube, namespace=namespace, name="talk").start()
    wait_for(lambda: front.ready == 1, what="1 ready endpoint at the front")

    def malformed(_: object) -> int:
        raise ValueError("a slice the front cannot read")

    monkeypatch.setattr("tests.cluster.front._ready", malformed)
    core_api(kube).delete_namespaced_pod(
        pods(kube, namespace, "talk")[0].metadata.name, namespace, grace_period_seconds=0
    )
    wait_for(lambda: front.broken is not None, what="the front to break")
    assert _status(front.url) == 500
    with pytest.raises(AssertionError, match="slice the front cannot read"):
        _ = front.ready
    with pytest.raises(AssertionError, match="broke"):
        front.stop()


def test_a_deleted_pod_stays_for_its_grace_period(kube: client.ApiClient, namespace: str) -> None:
    """KWOK removes a deleted pod at its deletionTimestamp, as a kubelet would, not at once.

    Drains pay these waits; a bench whose pods all vanished at once would hide them.
    """
    grace = 4
    body = deployment_body("slow", replicas=1)
    body["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = grace
    apps_api(kube).create_namespaced_deployment(namespace, body)
    wait_for(lambda: len(pods(kube, namespace, "slow")) == 1, what="1 slow pod")
    name = pods(kube, namespace, "slow")[0].metadata.name
    core = core_api(kube)
    core.delete_namespaced_pod(name, namespace)
    deleted = time.monotonic()

    def present() -> bool:
        try:
            core.read_namespaced_pod(name, namespace)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    wait_for(lambda: not present(), what="the pod to go after its grace", timeout=grace + 10)
    assert time.monotonic() - deleted >= grace - 1


def test_noexecute_taint_evicts_the_nodes_pods(
    kube: client.ApiClient, namespace: str, restore_nodes: None
) -> None:
    """A NoExecute taint on gasan-1 removes the pods there (the taint-eviction controller)."""
    deploy(kube, namespace, "tainted", replicas=4, zone="gasan")
    on_node = [p for p in pods(kube, namespace, "tainted") if p.spec.node_name == "gasan-1"]
    assert on_node
    taint = {"key": "zonedrill.io/power-loss", "effect": "NoExecute"}
    core_api(kube).patch_node("gasan-1", {"spec": {"taints": [taint]}})
    wait_for(
        lambda: not [p for p in pods(kube, namespace, "tainted") if p.spec.node_name == "gasan-1"],
        what="pods to leave gasan-1",
    )


def test_daemonset_runs_one_pod_per_node(kube: client.ApiClient, namespace: str) -> None:
    """The daemonset controller places a pod on each of the 8 KWOK nodes."""
    apps_api(kube).create_namespaced_daemon_set(namespace, daemonset_body("agent"))
    wait_for(
        lambda: (
            len({p.spec.node_name for p in pods(kube, namespace, "agent") if p.spec.node_name}) == 8
        ),
        what="8 daemon pods",
    )


def test_kubectl_works_with_the_kubeconfig(control_plane: Any) -> None:
    """kubectl built from the same module lists the zones' nodes with the written kubeconfig."""
    done = subprocess.run(
        control_plane.kubectl("get", "nodes", "-l", POWER_ZONE, "-o", "name"),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert len(done.stdout.split()) == 8
    version = subprocess.run(
        control_plane.kubectl("version", "-o", "json"),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert '"gitVersion": "v1.36.3"' in version.stdout


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our loopback URL
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def cluster_command(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``python -m tests.cluster ARGS``."""
    return subprocess.run(
        [sys.executable, "-m", "tests.cluster", *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def test_up_and_down_commands(tmp_path: Path) -> None:
    """up, down, up works: down leaves nothing behind, and up refuses while one runs.

    The second up failed on the first one's etcd data before.
    """
    folder = tmp_path / "plane"
    for _ in range(2):
        up = cluster_command("up", "--dir", str(folder), "--zones", "a=1,b=1")
        kubeconfig = up.stdout.strip().splitlines()[-1]
        pids = list(json.loads((folder / "state.json").read_text())["pids"].values())
        try:
            again = cluster_command("up", "--dir", str(folder), check=False)
            assert again.returncode == 1
            assert "run down first" in again.stdout
            assert node_count(kubeconfig) == "2"
        finally:
            cluster_command("down", "--dir", str(folder))
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert not folder.exists()


def node_count(kubeconfig: str) -> str:
    """How many nodes the API server behind ``kubeconfig`` lists."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from kubernetes import client, config; "
            "api = config.new_client_from_config(config_file=sys.argv[1]); "
            "print(len(client.CoreV1Api(api).list_node().items))",
            kubeconfig,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
