"""Fixtures and helpers for drills on the real control plane with --target kube."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.cluster.front import ServiceFront
from tests.cluster.zones import (
    Placement,
    api_client,
    apps_api,
    core_api,
    deployment_body,
    packed_into,
    service_body,
    settling,
    wait_for,
)
from tests.support import ZONEDRILL, cli_env

_names = itertools.count(1)
ZONES = ("pangyo", "ansan", "gasan")
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"  # the controller mirrors a cordon


@pytest.fixture
def kube(control_plane: Any) -> client.ApiClient:
    """An API client for the session's control plane, with the lock namespace in place."""
    api = api_client(control_plane)
    core = core_api(api)
    if "zonedrill" not in {n.metadata.name for n in core.list_namespace().items}:
        core.create_namespace({"metadata": {"name": "zonedrill"}})
    return api


def node_state(kube: client.ApiClient) -> dict[str, Any]:
    """Every node's unschedulable flag, its whole taint list in order and zonedrill annotations.

    Taints keep every field (``timeAdded`` to the second), the controllers' own included. The
    snapshot is taken once the node-lifecycle controller has mirrored every cordon as its
    ``node.kubernetes.io/unschedulable`` taint (it lags a cordon or an uncordon by a moment).
    """
    deadline = time.monotonic() + 15
    while not (state := _node_snapshot(kube)) or not all(
        unschedulable == any(t["key"] == UNSCHEDULABLE_TAINT for t in taints)
        for unschedulable, taints, _ in state.values()
    ):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return state


def _node_snapshot(kube: client.ApiClient) -> dict[str, Any]:
    state = {}
    for node in core_api(kube).list_node().items:
        notes = {k: v for k, v in (node.metadata.annotations or {}).items() if "zonedrill" in k}
        taints = [kube.sanitize_for_serialization(t) for t in node.spec.taints or []]  # type: ignore[no-untyped-call]
        state[node.metadata.name] = (bool(node.spec.unschedulable), taints, notes)
    return state


def nodes_as_before(kube: client.ApiClient, before: dict[str, Any]) -> dict[str, Any]:
    """The node state once it equals ``before``, or after 15 s (for the assert to show).

    The node-lifecycle controller lifts ``node.kubernetes.io/unschedulable`` a moment after an
    uncordon, so an exact comparison waits that long and no longer.
    """
    deadline = time.monotonic() + 15
    while (now := node_state(kube)) != before and time.monotonic() < deadline:
        time.sleep(0.2)
    return now


def namespaces_left(kube: client.ApiClient, names: set[str]) -> set[str]:
    """Which of ``names`` still exist (deleted namespaces linger while their pods go)."""
    return names & {n.metadata.name for n in core_api(kube).list_namespace().items}


def remove_namespaces(kube: client.ApiClient, names: set[str], *, wait: bool = True) -> None:
    """Delete ``names`` with their workloads, waiting (by default) until they are gone.

    KWOK holds a deleted pod for its grace period (30 s by default), and the namespace
    controller waits for it: 43 s a namespace. The pods are fake, so their controllers go first
    (nothing recreates them) and the pods go at once; the namespaces then take about 5 s.
    """
    core, apps = core_api(kube), apps_api(kube)
    for name in namespaces_left(kube, names):
        apps.delete_collection_namespaced_deployment(name)
        apps.delete_collection_namespaced_replica_set(name)
        core.delete_collection_namespaced_pod(name, grace_period_seconds=0)
        core.delete_namespace(name)
    if wait:
        wait_for(lambda: not namespaces_left(kube, names), what="namespaces gone", timeout=120)


def _settling(kube: client.ApiClient) -> list[str]:
    """Nodes that carry a taint the node controller puts on nodes not (yet) ready."""
    return [node.metadata.name for node in core_api(kube).list_node().items if settling(node)]


@pytest.fixture
def pristine(kube: client.ApiClient) -> Iterator[dict[str, Any]]:
    """The node state before the test; put back afterwards whatever the test did.

    Taken once every node is ready: a node still starting carries the node controller's
    not-ready taint, which goes away by itself and would make "as before" unreachable.
    """
    wait_for(lambda: not _settling(kube), what="every node ready, no not-ready taint")
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
                "taints": taints or None,
            },
        }
        core.patch_node(name, body, _content_type="application/merge-patch+json")


@contextmanager
def packed_app(
    kube: client.ApiClient, *, placement: Placement | None = None
) -> Iterator[dict[str, Any]]:
    """A namespace with a 3-replica Deployment packed into pangyo, its Service and front.

    ``placement`` shapes the pods (a KWOK ready delay in its annotations, for example).
    """
    namespace = f"k{next(_names)}-{os.getpid()}"
    core, apps = core_api(kube), apps_api(kube)
    core.create_namespace({"metadata": {"name": namespace}})
    others = [
        n.metadata.name for n in core.list_node().items if not n.metadata.name.startswith("pangyo")
    ]
    for node in others:  # pack: only pangyo is schedulable while the pods are placed
        core.patch_node(node, {"spec": {"unschedulable": True}})
    apps.create_namespaced_deployment(
        namespace, deployment_body("talk", replicas=3, placement=placement)
    )
    core.create_namespaced_service(namespace, service_body("talk"))
    front = ServiceFront(kube, namespace=namespace, name="talk", min_ready=2).start()
    try:

        def packed() -> bool:
            return packed_into(kube, namespace, "talk", "pangyo", 3) and front.ready == 3

        # The nodes first settle (a fault test before may have left them not ready a while).
        wait_for(lambda: not _settling(kube), what="every node ready", timeout=120)
        wait_for(packed, what="3 ready talk endpoints, all in pangyo", timeout=120)
        for node in others:
            core.patch_node(node, {"spec": {"unschedulable": False}})
        yield {"namespace": namespace, "front": front}
    finally:
        front.stop()
        remove_namespaces(kube, {namespace}, wait=False)


@pytest.fixture
def app(kube: client.ApiClient) -> Iterator[dict[str, Any]]:
    """A namespace with a 3-replica Deployment packed into pangyo, its Service and front."""
    with packed_app(kube) as made:
        yield made


def drill_file(
    tmp_path: Path,
    namespace: str,
    *,
    mode: str,
    rto: str = "20s",
    duration: str = "12s",
    service: str = "talk",
) -> Path:
    """A kube drill losing pangyo in ``mode``, probing ``service`` (a probe of the same name)."""
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
    - name: {service}
      http: {{service: {{namespace: {namespace}, name: {service}}}}}
      every: 100ms
  baseline: 1s
  duration: {duration}
  steps:
    - {{at: 0s, lose: pangyo, mode: {mode}}}
  targets:
    - {{probe: {service}, rto: {rto}}}
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
