"""Drills on the real control plane with --target kube: faults, exact restore, lock, rollback."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from k8s import pods
from k8s.adapter import KubeSettings, connect
from orchestrator.errors import ClusterError
from orchestrator.targets.port import (
    AddTaint,
    Mark,
    PodRef,
    RemoveTaint,
    Taint,
    describe,
    marks_of,
)
from tests.cluster.zones import apps_api, core_api, pdb_body, policy_api, wait_for
from tests.kubecase import drill_file, node_state, nodes_as_before, run_drill, zonedrill_kube
from tests.support import cli_env, start_until, zonedrill

pytestmark = pytest.mark.cluster


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
    assert nodes_as_before(kube, before) == before
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
    assert nodes_as_before(kube, pristine) == pristine


def test_drain_is_paced_by_a_pdb(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """A PDB that allows no disruption blocks the drain (429, retried) until room appears.

    minAvailable 3 of 3 refuses every eviction; once the drain is retrying, the Deployment is
    scaled to 4, and the evictions go through one at a time as replacements become ready.
    """
    policy = policy_api(kube)
    namespace = app["namespace"]
    policy.create_namespaced_pod_disruption_budget(namespace, pdb_body("talk", min_available=3))
    wait_for(
        lambda: (
            policy.read_namespaced_pod_disruption_budget(
                "talk", namespace
            ).status.observed_generation
            == 1
        ),
        what="the PDB to be observed",
    )
    state, out = tmp_path / "state", tmp_path / "out"
    drill = drill_file(tmp_path, namespace, mode="drain", duration="25s")
    process = start_until(
        [*zonedrill_kube(control_plane, app, state, "run", str(drill)), "--out", str(out)],
        env=cli_env(state),
        marker="lose pangyo (drain): 3 nodes",
    )
    time.sleep(2.0)  # the drain is now retrying 429s: nothing may be evicted yet
    assert len(pods_on_pangyo(kube, namespace)) == 3
    apps_api(kube).patch_namespaced_deployment_scale("talk", namespace, {"spec": {"replicas": 4}})
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    lose = json.loads((out / "result.json").read_text())["steps"][0]
    assert lose["podsEvicted"] == 3
    assert lose["evictionsBlocked"] >= 1
    assert pods_on_pangyo(kube, namespace) == []
    assert nodes_as_before(kube, pristine) == pristine


def pods_on_pangyo(kube: client.ApiClient, namespace: str) -> list[str]:
    """Names of the live pods in ``namespace`` bound to pangyo nodes."""
    return [
        p.metadata.name
        for p in core_api(kube).list_namespaced_pod(namespace).items
        if (p.spec.node_name or "").startswith("pangyo") and p.metadata.deletion_timestamp is None
    ]


def test_a_concurrent_drill_is_refused_naming_the_holder(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """While one drill holds the Lease, a second exits 4 and names the first."""
    state = tmp_path / "state"
    drill = drill_file(tmp_path, app["namespace"], mode="cordon", duration="6s")
    first = start_until(
        zonedrill_kube(control_plane, app, state, "run", str(drill)),
        env=cli_env(state),
        marker="▶ baseline",
    )
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
    assert "another drill holds the lease" not in output
    with pytest.raises(client.exceptions.ApiException) as gone:  # taken over, then deleted
        coordination.read_namespaced_lease("zonedrill-drill-lock", "zonedrill")
    assert gone.value.status == HTTPStatus.NOT_FOUND


def lease_holder(kube: client.ApiClient) -> str | None:
    """Who the drill Lease names now."""
    coordination: Any = client.CoordinationV1Api(kube)
    lease = coordination.read_namespaced_lease("zonedrill-drill-lock", "zonedrill")
    return lease.spec.holder_identity  # type: ignore[no-any-return]


def take_lease(kube: client.ApiClient, holder: str) -> None:
    """Write the Lease as a fresh hold of ``holder``, as another drill taking it over would.

    A drill refused under the Lease deletes it as it releases it: then it is created anew.
    """
    coordination: Any = client.CoordinationV1Api(kube)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    spec = {"holderIdentity": holder, "leaseDurationSeconds": 15, "renewTime": now}
    try:
        coordination.patch_namespaced_lease(
            "zonedrill-drill-lock",
            "zonedrill",
            {"spec": spec},
            _content_type="application/merge-patch+json",
        )
    except client.exceptions.ApiException as exc:
        if exc.status != HTTPStatus.NOT_FOUND:
            raise
        lease = {"metadata": {"name": "zonedrill-drill-lock"}, "spec": spec}
        coordination.create_namespaced_lease("zonedrill", lease)


def test_a_stalled_drill_keeps_others_out_and_aborts_when_its_lease_was_taken(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Drill A cordons pangyo and is stalled (SIGSTOP) past its 15 s Lease.

    Drill B, from its own state folder (another machine), must not lose ansan while pangyo is
    still down: it is refused, naming A's run and the rollback. Then the Lease is taken by a
    third holder; A, resumed, must notice at its next renewal, abort through its restore, and
    leave that holder's Lease alone.
    """
    core = core_api(kube)
    state_a, state_b = tmp_path / "state-a", tmp_path / "state-b"
    drill_a = drill_file(tmp_path, app["namespace"], mode="cordon", duration="60s")
    first = start_until(
        zonedrill_kube(
            control_plane, app, state_a, "run", str(drill_a), "--out", str(tmp_path / "a")
        ),
        env=cli_env(state_a),
        marker="lose pangyo",
    )
    try:
        wait_for(lambda: bool(core.read_node("pangyo-1").spec.unschedulable), what="A's cordon")
        first.send_signal(signal.SIGSTOP)
        time.sleep(17)  # the Lease (15 s) lapses: nobody renews it
        other = tmp_path / "b"
        other.mkdir()
        drill_b = drill_file(other, app["namespace"], mode="cordon")
        drill_b.write_text(drill_b.read_text().replace("lose: pangyo", "lose: ansan"))
        code, _, output = run_drill(control_plane, app, drill_b, state_b)
        said = output.replace("\n", "")
        assert code == 4, output
        assert "is still marked as made by zonedrill run kube-cordon-" in said
        assert "zonedrill rollback kube-cordon-" in said
        assert not any(core.read_node(f"ansan-{i}").spec.unschedulable for i in (1, 2, 3))
        take_lease(kube, "zonedrill run elsewhere")
    finally:
        first.send_signal(signal.SIGCONT)
    out, _ = first.communicate(timeout=60)
    result = json.loads((tmp_path / "a" / "result.json").read_text())
    assert first.returncode == 3, out
    assert result["outcome"] == "aborted"
    assert "lost the drill lock" in result["reason"]
    assert "zonedrill run elsewhere" in result["reason"]
    assert result["restored"] is True
    assert lease_holder(kube) == "zonedrill run elsewhere"
    take_lease(kube, "")
    assert nodes_as_before(kube, pristine) == pristine


def test_a_drill_stalled_before_its_loss_loses_nothing_once_its_lease_was_taken(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Stalled before its loss (due at 5 s) past the Lease, which another takes: no cordon.

    With no mark on the cluster yet, another drill may rightly take the lapsed Lease. Resumed,
    the loss and the renewal are both overdue: the drill must confirm its Lease before it loses
    the zone, not find out after.
    """
    state = tmp_path / "state"
    drill = drill_file(tmp_path, app["namespace"], mode="cordon", duration="30s")
    drill.write_text(drill.read_text().replace("at: 0s, lose: pangyo", "at: 5s, lose: pangyo"))
    out = tmp_path / "out"
    first = start_until(
        zonedrill_kube(control_plane, app, state, "run", str(drill), "--out", str(out)),
        env=cli_env(state),
        marker="▶ chaos",
    )
    try:
        first.send_signal(signal.SIGSTOP)
        time.sleep(17)
        take_lease(kube, "zonedrill run elsewhere")
    finally:
        first.send_signal(signal.SIGCONT)
    said, _ = first.communicate(timeout=60)
    result = json.loads((out / "result.json").read_text())
    take_lease(kube, "")
    assert first.returncode == 3, said
    assert "lost the drill lock" in result["reason"]
    cordons = [
        e
        for e in core_api(kube).list_namespaced_event("default").items
        if e.reason == "DrillCordon" and result["runId"] in (e.message or "")
    ]
    assert cordons == [], [e.message for e in cordons]
    assert nodes_as_before(kube, pristine) == pristine


def test_an_interrupted_drain_does_not_wait_for_its_watch(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """SIGINT while the drain waits for a pod that will not go: out in seconds, not a minute.

    The pod is held by a finalizer, so the drain's watch has nothing to end it; the abort must.
    """
    core, namespace = core_api(kube), app["namespace"]
    hold = "zonedrill.test/hold"
    stuck = {
        "metadata": {"name": "stuck", "finalizers": [hold]},
        "spec": {
            "nodeName": "pangyo-2",
            "containers": [{"name": "app", "image": "fake"}],
            "terminationGracePeriodSeconds": 0,
        },
    }
    core.create_namespaced_pod(namespace, stuck)
    state = tmp_path / "state"
    drill = drill_file(tmp_path, namespace, mode="drain", duration="60s", rto="60s")
    try:
        running = start_until(
            zonedrill_kube(control_plane, app, state, "run", str(drill)),
            env=cli_env(state),
            marker="lose pangyo",
        )
        wait_for(
            lambda: core.read_namespaced_pod("stuck", namespace).metadata.deletion_timestamp,
            what="the stuck pod evicted (and held by its finalizer)",
        )
        time.sleep(1)  # the drain is now waiting on its watch
        interrupted = time.monotonic()
        running.send_signal(signal.SIGINT)
        out, _ = running.communicate(timeout=90)
        took = time.monotonic() - interrupted
    finally:
        core.patch_namespaced_pod("stuck", namespace, {"metadata": {"finalizers": None}})
    assert running.returncode == 3, out
    assert took < 20, f"the drill took {took:.0f}s to exit after SIGINT:\n{out}"
    assert nodes_as_before(kube, pristine) == pristine


async def test_taint_marks_keep_each_runs_taint_and_read_the_old_form(
    control_plane: Any, kube: client.ApiClient, pristine: dict[str, Any]
) -> None:
    """Two runs taint one node: each undo removes only its own; a 0.1 mark is still undone."""
    port = connect(KubeSettings(kubeconfig=control_plane.kubeconfig))
    first = Taint(key="zonedrill.io/power-loss", effect="NoSchedule")
    second = Taint(key="zonedrill.io/other-mode", effect="NoExecute")
    try:
        await port.apply(AddTaint(node="gasan-1", taint=first), run_id="run-a")
        await port.apply(AddTaint(node="gasan-1", taint=second), run_id="run-b")
        marks = {(m.owner, describe(m.change)) for m in marks_of(await port.list_nodes())}
        assert ("run-a", "add-taint gasan-1 zonedrill.io/power-loss:NoSchedule") in marks
        assert ("run-b", "add-taint gasan-1 zonedrill.io/other-mode:NoExecute") in marks
        await port.apply(RemoveTaint(node="gasan-1", taint=second), run_id="run-a")
        await port.apply(RemoveTaint(node="gasan-1", taint=first), run_id="run-a")
        keys = {t.key for t in core_api(kube).read_node("gasan-1").spec.taints or []}
        assert keys >= {"zonedrill.io/other-mode"}
        assert "zonedrill.io/power-loss" not in keys
        await port.apply(RemoveTaint(node="gasan-1", taint=second), run_id="run-b")
        taints = [
            {"key": t.key, "effect": t.effect, "value": t.value}
            for t in core_api(kube).read_node("gasan-1").spec.taints or []
        ]
        legacy = {  # as zonedrill 0.1 marked its power-loss taint: the run id alone
            "metadata": {"annotations": {"zonedrill.io/tainted-by": "run-old"}},
            "spec": {"taints": [*taints, {"key": first.key, "effect": first.effect}]},
        }
        core_api(kube).patch_node("gasan-1", legacy, _content_type="application/merge-patch+json")
        old = Mark("run-old", AddTaint(node="gasan-1", taint=first))
        assert old in marks_of(await port.list_nodes())
        await port.apply(RemoveTaint(node="gasan-1", taint=first), run_id="run-old")
    finally:
        await port.close()
    assert nodes_as_before(kube, pristine) == pristine


async def test_a_watch_the_api_server_refuses_reaches_the_core_as_a_cluster_error(
    control_plane: Any,
) -> None:
    """A watch the server refuses reaches the core as a ClusterError naming it.

    The client's own ApiException would escape every handler in the core.
    """
    port = connect(KubeSettings(kubeconfig=control_plane.kubeconfig))
    watch = pods._NodeWatch(port.api, "pangyo-1", {PodRef("nowhere", "none")}, "not-a-version")
    try:
        with pytest.raises(ClusterError, match='pods on node "pangyo-1"'):
            await port.api.stream(watch.follow, 5.0, verb="watch", what=watch.what)
    finally:
        await port.close()


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
    drill = drill_file(tmp_path, app["namespace"], mode="power-loss", duration="60s")
    process = start_until(
        zonedrill_kube(control_plane, app, state, "run", str(drill)),
        env=cli_env(state),
        marker="lose pangyo (power-loss) done",
    )
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert node_state(kube) != pristine
    if not keep_journal:
        for journal in (state / "journal").rglob("*.jsonl"):
            journal.unlink()
    time.sleep(0.5)
    done = zonedrill(state, "rollback", "--all", "--kubeconfig", str(control_plane.kubeconfig))
    assert done.returncode == 0, done.stdout + done.stderr
    assert nodes_as_before(kube, pristine) == pristine


def test_a_missing_lock_namespace_says_how_to_make_it(
    control_plane: Any, app: dict[str, Any], pristine: dict[str, Any], tmp_path: Path
) -> None:
    """A fresh cluster without the lock namespace: exit 4, and the fix is named."""
    drill = drill_file(tmp_path, app["namespace"], mode="cordon")
    done = subprocess.run(
        [
            *zonedrill_kube(control_plane, app, tmp_path, "run", str(drill)),
            "--lock-namespace",
            "no-such-namespace",
        ],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "state"),
        timeout=120,
        check=False,
    )
    output = done.stderr.replace("\n", " ")  # an error: on standard error
    assert done.returncode == 4, output
    assert "kubectl apply -f k8s/rbac.yaml" in output
    assert "--lock-namespace" in output


def test_other_taints_keep_every_field_through_a_drill(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """A taint someone else put on a lost node keeps its value and timeAdded, to the second."""
    core = core_api(kube)
    theirs = {
        "key": "example.com/maintenance",
        "value": "window-7",
        "effect": "PreferNoSchedule",
        "timeAdded": "2026-01-02T03:04:05Z",
    }
    core.patch_node("pangyo-2", {"spec": {"taints": [theirs]}})
    code, result, output = run_drill(
        control_plane,
        app,
        drill_file(tmp_path, app["namespace"], mode="power-loss", duration="4s"),
        tmp_path / "state",
    )
    assert result["restored"] is True, output
    after = [t for t in core.read_node("pangyo-2").spec.taints or [] if t.key == theirs["key"]]
    assert [(t.value, t.effect, t.time_added.strftime("%Y-%m-%dT%H:%M:%SZ")) for t in after] == [
        ("window-7", "PreferNoSchedule", "2026-01-02T03:04:05Z")
    ]
    assert code in (0, 1), output
