"""zonedrill snapshot on the real control plane: the flagship's workloads written as a lab.

Taken with a token bound to nothing but the read-only zonedrill-snapshot role of k8s/rbac.yaml,
then used by plan --simulate.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from ruamel.yaml import YAML

from orchestrator.drill.loader import load_lab
from tests.cluster.front import ServiceFront
from tests.cluster.power import power_cut
from tests.cluster.zones import api_client, core_api, live_pods
from tests.kubecase import remove_namespaces
from tests.support import REPO, succeeded, zonedrill
from tests.test_kube_drills import workloads
from tests.test_rbac import apply, manifests, token_kubeconfig

pytestmark = pytest.mark.cluster

FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"
ACCOUNT = "zonedrill-snapshot"
UNREACHABLE = "node.kubernetes.io/unreachable"


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


TOLERATION = 5  # talk-api's unreachable toleration in the cut: a short test, as the issue asks


def short_tolerations(folder: Path) -> Path:
    """The flagship's kube manifest with talk-api tolerating a lost node for TOLERATION s."""
    yaml = YAML()
    documents = list(yaml.load_all((REPO / "drills" / "kube" / "pangyo.yaml").read_text()))
    talk = next(
        d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "talk-api"
    )
    talk["spec"]["template"]["spec"]["tolerations"] = [
        {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": TOLERATION}
        for key in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")
    ]
    out = folder / "pangyo-short-tolerations.yaml"
    with out.open("w") as stream:
        yaml.dump_all(documents, stream)
    return out


def predicted_rto(folder: Path, lab_file: Path, *flags: str) -> float:
    """talk-api's RTO as plan --simulate predicts it on ``lab_file``."""
    flags = ("--simulate", f"--lab={lab_file}", "-o", "json", *flags)
    done = succeeded(zonedrill(folder / "state", "plan", str(FLAGSHIP), *flags))
    document = json.loads(done.stdout)
    probe = next(p for p in document["probes"] if p["name"] == "talk-api")
    return float(probe["rto"][0]["seconds"])


@dataclass
class Timeline:
    """When talk-api came back and each node was tainted for eviction, seconds after the cut."""

    dark: float | None = None  # no ready endpoint left
    back: float | None = None  # a ready endpoint again
    tainted: dict[str, float] = field(default_factory=dict)


def follow(
    kube: client.ApiClient, front: ServiceFront, names: list[str], cut_at: float
) -> Timeline:
    """Watch the cut until talk-api has a ready endpoint again and two nodes are tainted."""
    timeline = Timeline()
    core = core_api(kube)
    deadline = cut_at + 180
    while (timeline.back is None or len(timeline.tainted) < 2) and time.monotonic() < deadline:
        ready, now = front.ready, time.monotonic() - cut_at
        if timeline.dark is None and ready == 0:
            timeline.dark = now
        elif timeline.dark is not None and timeline.back is None and ready > 0:
            timeline.back = now
        for node in (core.read_node(n) for n in names if n not in timeline.tainted):
            if any(
                t.key == UNREACHABLE and t.effect == "NoExecute" for t in node.spec.taints or []
            ):
                timeline.tainted[node.metadata.name] = now
        time.sleep(0.05)
    return timeline


def test_a_snapshot_predicts_a_real_power_cut_on_the_real_controllers(
    control_plane: Any, kube: client.ApiClient, tmp_path: Path
) -> None:
    """Snapshot the flagship's workloads, predict the drill and a cut, then cut pangyo for real.

    Zones, placement, workload, spread, toleration, startup and grace are read as the cluster
    has them: talk-api's four pods in pangyo, auth-api's six two per zone under a hard spread;
    KWOK makes pods Ready 10 s after they are scheduled (to the second). The test plane's node
    monitor grace is short (given with --node-grace, as a user would for their own setting),
    and talk-api tolerates an unreachable node for 5 s. Then KWOK stops renewing pangyo's
    Leases, and the real node-lifecycle and taint-eviction controllers take it from there.
    """
    reader = snapshot_reader(control_plane, tmp_path)
    lab_file = tmp_path / "lab.yaml"
    grace = control_plane.node_grace
    manifest = short_tolerations(tmp_path)
    with workloads(control_plane, kube, "pangyo-battery-fire", manifest=manifest):
        flags = [f"--zones-from={FLAGSHIP}", f"--output-file={lab_file}", "--name=flagship"]
        flags = [*flags, f"--kubeconfig={reader}", f"--node-grace={grace}s"]
        succeeded(zonedrill(tmp_path / "state", "snapshot", *flags))
        lab = load_lab(lab_file)
        check_the_lab(lab, lab_file, grace)
        talk = next(s for s in lab.spec.services if s.name == "talk-api")
        drilled = predicted_rto(tmp_path, lab_file)
        assert drilled == pytest.approx(talk.reschedule + talk.startup, abs=0.25)
        cut = predicted_rto(tmp_path, lab_file, "--as", "power-cut")
        hosts = {p.spec.node_name for p in live_pods(kube, "messaging", "talk-api")}
        front = ServiceFront(kube, namespace="messaging", name="talk-api").start()
        try:
            with power_cut(
                kube,
                "pangyo",
                before_power_back=lambda: remove_namespaces(kube, {"messaging", "accounts"}),
            ) as names:
                timeline = follow(kube, front, names, time.monotonic())
        finally:
            front.stop()
    assert timeline.back is not None, timeline
    # The nodes are marked unreachable a grace after the last renewal the controller saw: KWOK
    # renews every 2 s and the controller looks every 2 s, so 2 s early to 4 s late. The first
    # is tainted for eviction at once, the others 10 s apart (--node-eviction-rate 0.1/s).
    taints = sorted(timeline.tainted.values())
    assert grace - 2.5 <= taints[0] <= grace + 4.5, timeline
    assert len(taints) >= 2, timeline
    assert [b - a for a, b in itertools.pairwise(taints)] == pytest.approx(
        [10.0] * (len(taints) - 1), abs=1.5
    )
    # Back a toleration and a replacement after the first taint of a node with a talk-api pod:
    # the lab's reschedule (1 s by default) against the scheduler's milliseconds, the startup
    # read to the second. (The lab taints its nodes in their order, and has a pod on the first.)
    first = min(timeline.tainted[n] for n in hosts if n in timeline.tainted)
    assert timeline.back - first == pytest.approx(cut - grace, abs=2.0), (cut, hosts, timeline)


def check_the_lab(lab: Any, lab_file: Path, grace: int) -> None:
    """The snapshot's zones, grace, placement, workload, spread, toleration and startup."""
    assert {z: (s.nodes, s.pods_per_node > 0) for z, s in lab.spec.zones.items()} == {
        "pangyo": (3, True),
        "ansan": (3, True),
        "gasan": (2, True),
    }
    assert lab.node_grace == grace
    services = {s.name: s for s in lab.spec.services}
    talk, auth = services["talk-api"], services["auth-api"]
    assert (talk.replicas, talk.placement, talk.workload) == (
        4,
        {"pangyo": 4, "ansan": 0, "gasan": 0},
        "Deployment",
    )
    assert (talk.spread, auth.spread) == ("pack", "zones")
    assert auth.placement == {"pangyo": 2, "ansan": 2, "gasan": 2}
    assert talk.unreachable_toleration == TOLERATION
    assert auth.unreachable_toleration == 300.0  # DefaultTolerationSeconds
    assert 9.0 <= talk.startup <= 11.0
    assert "to the second" in lab_file.read_text()
