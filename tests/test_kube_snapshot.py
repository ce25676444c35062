"""zonedrill snapshot on the real control plane: the flagship's workloads written as a lab.

Taken with a token bound to nothing but the read-only zonedrill-snapshot role of k8s/rbac.yaml,
then used by plan --simulate.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from orchestrator.drill.loader import load_lab
from tests.cluster.zones import api_client
from tests.support import REPO, ZONEDRILL, cli_env
from tests.test_kube_drills import workloads
from tests.test_rbac import apply, manifests, token_kubeconfig

pytestmark = pytest.mark.cluster

FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"
ACCOUNT = "zonedrill-snapshot"


def snapshot_reader(control_plane: Any, folder: Path) -> Path:
    """A kubeconfig for a ServiceAccount bound to the zonedrill-snapshot ClusterRole alone."""
    admin = api_client(control_plane)
    apply(admin, manifests())
    apply(
        admin,
        [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": ACCOUNT, "namespace": "zonedrill"},
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "zonedrill-snapshot-test"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "zonedrill-snapshot",
                },
                "subjects": [
                    {
                        "kind": "ServiceAccount",
                        "name": "zonedrill-snapshot",
                        "namespace": "zonedrill",
                    }
                ],
            },
        ],
    )
    return token_kubeconfig(control_plane, admin, ACCOUNT, folder)


def test_a_snapshot_of_the_flagship_is_its_lab_as_the_cluster_runs_it(
    control_plane: Any, kube: client.ApiClient, tmp_path: Path
) -> None:
    """Zones, placement, workload, spread, toleration, startup and grace, as the cluster has them.

    talk-api's four pods sit in pangyo, auth-api's six two per zone under a hard spread; KWOK
    makes pods Ready 10 s after they are scheduled (to the second); Kubernetes 1.36: 50 s grace.
    """
    reader = snapshot_reader(control_plane, tmp_path)
    lab_file = tmp_path / "lab.yaml"
    with workloads(control_plane, kube, "pangyo-battery-fire"):
        done = subprocess.run(
            [*ZONEDRILL, "snapshot", "--kubeconfig", str(reader), "--zones-from", str(FLAGSHIP),
             "--output-file", str(lab_file), "--name", "flagship"],
            capture_output=True, text=True, env=cli_env(tmp_path / "state"), timeout=120,
            check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lab = load_lab(lab_file)
    assert {z: (s.nodes, s.pods_per_node > 0) for z, s in lab.spec.zones.items()} == {
        "pangyo": (3, True),
        "ansan": (3, True),
        "gasan": (2, True),
    }
    assert lab.node_grace == 50.0
    services = {s.name: s for s in lab.spec.services}
    talk, auth = services["talk-api"], services["auth-api"]
    assert (talk.replicas, talk.placement, talk.workload) == (
        4,
        {"pangyo": 4, "ansan": 0, "gasan": 0},
        "Deployment",
    )
    assert (talk.spread, auth.spread) == ("pack", "zones")
    assert auth.placement == {"pangyo": 2, "ansan": 2, "gasan": 2}
    assert talk.unreachable_toleration == 300.0  # DefaultTolerationSeconds
    assert 9.0 <= talk.startup <= 11.0
    assert "to the second" in lab_file.read_text()
    predicted = subprocess.run(
        [*ZONEDRILL, "plan", str(FLAGSHIP), "--simulate", "--lab", str(lab_file), "-o", "json"],
        capture_output=True, text=True, env=cli_env(tmp_path / "state"), timeout=120,
        check=False,
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr
    document = json.loads(predicted.stdout)
    rto = next(p for p in document["probes"] if p["name"] == "talk-api")["rto"][0]["seconds"]
    assert rto == pytest.approx(talk.reschedule + talk.startup, abs=0.25)
