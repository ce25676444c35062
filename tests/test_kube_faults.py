"""API faults during kube drills (issue 9): every drill must end with the nodes as before.

The faults: connection resets and stalls (a TCP fault proxy), a dead API server, an etcd restart.
These tests kill and restart control-plane components, so they run on a control plane of their
own (module scope), not the session's.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.cluster.faultproxy import FaultProxy
from tests.cluster.zones import apps_api, create_zones, deployment_body
from tests.kubecase import drill_file, nodes_as_before, zonedrill_kube
from tests.support import cli_env, start_until, zonedrill
from tests.test_rbac import apply, manifests, token_kubeconfig

pytestmark = pytest.mark.cluster
OUTAGE = 30.0
DEPENDENTS = ("kube-controller-manager", "kube-scheduler", "kwok")


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A control plane these tests may break: pangyo (3), ansan (3), gasan (2)."""
    from tests.cluster.control_plane import start  # noqa: PLC0415 - builds on first use

    plane = start(tmp_path_factory.mktemp("fault-plane"))
    try:
        create_zones(plane, {"pangyo": 3, "ansan": 3, "gasan": 2})
        yield plane
    finally:
        plane.stop()


@pytest.fixture
def proxy(control_plane: Any, tmp_path: Path) -> Iterator[tuple[FaultProxy, Path]]:
    """A fault proxy in front of the API server, and a kubeconfig that goes through it."""
    port = int(control_plane.server.rsplit(":", 1)[1])
    front = FaultProxy(upstream_port=port).start()
    config = json.loads(Path(control_plane.kubeconfig).read_text())
    config["clusters"][0]["cluster"]["server"] = front.url
    path = tmp_path / "through-proxy.kubeconfig"
    path.write_text(json.dumps(config))
    try:
        yield front, path
    finally:
        front.stop()


def command(control_plane: Any, app: dict[str, Any], kubeconfig: Path, *args: str) -> list[str]:
    """zonedrill ARGS against the test cluster through ``kubeconfig``."""
    line = zonedrill_kube(control_plane, app, Path(), *args)
    line[line.index("--kubeconfig") + 1] = str(kubeconfig)
    return line


def finish(process: subprocess.Popen[str], out: Path) -> tuple[int, dict[str, Any], str]:
    """Wait for a run started with start_until; return exit code, result and the rest of output."""
    output, _ = process.communicate(timeout=240)
    result = json.loads((out / "result.json").read_text()) if (out / "result.json").exists() else {}
    return process.returncode, result, output


@pytest.mark.parametrize("fault", ["reset", "stall"])
def test_resets_and_stalls_at_the_restore_are_waited_out(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    proxy: tuple[FaultProxy, Path],
    tmp_path: Path,
    fault: str,
) -> None:
    """Connections reset (and refused for 5 s), or stalled for 10 s, just as the restore starts."""
    front, kubeconfig = proxy
    out, state = tmp_path / "out", tmp_path / "state"
    drill = drill_file(tmp_path, app["namespace"], mode="power-loss", duration="6s")
    process = start_until(
        command(control_plane, app, kubeconfig, "run", str(drill), "--out", str(out)),
        env=cli_env(state),
        marker="lose pangyo (power-loss) done",
    )
    time.sleep(4.5)  # the chaos phase ends 6 s after the lose step started
    if fault == "reset":
        front.reset(refuse_for=5.0)
    else:
        front.stall(10.0)
    code, result, output = finish(process, out)
    assert code != 4, output
    assert result, output
    assert result["restored"] is True, output
    assert nodes_as_before(kube, pristine) == pristine


def outage(control_plane: Any, name: str, *, after: float, seconds: float) -> threading.Thread:
    """Kill component ``name`` after ``after`` seconds and start it again ``seconds`` later."""

    def play() -> None:
        time.sleep(after)
        control_plane.kill(name)
        time.sleep(seconds)
        control_plane.respawn(name)
        # Their watches back off for up to a minute after the outage; the next test needs
        # pods scheduled and made ready now, so start them afresh (zonedrill is not among them).
        for client_of_the_api in DEPENDENTS:
            control_plane.kill(client_of_the_api)
            control_plane.respawn(client_of_the_api)

    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    return thread


def test_api_server_down_30s_through_chaos_and_restore(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """kube-apiserver dies 1 s after the power cut and is back 30 s later.

    That is long after the restore began: it retries until the API answers, and the nodes end
    exactly as before.
    """
    out = tmp_path / "out"
    drill = drill_file(tmp_path, app["namespace"], mode="power-loss", duration="10s")
    process = start_until(
        zonedrill_kube(control_plane, app, Path(), "run", str(drill), "--out", str(out)),
        env=cli_env(tmp_path / "state"),
        marker="lose pangyo (power-loss) done",
    )
    player = outage(control_plane, "kube-apiserver", after=1.0, seconds=OUTAGE)
    code, result, output = finish(process, out)
    player.join()
    assert result, output
    assert result["restored"] is True, output
    assert "restore incomplete" in output
    assert code != 4, output
    assert nodes_as_before(kube, pristine) == pristine


def test_past_the_restore_timeout_it_exits_4_and_rollback_finishes(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """With --restore-timeout 5s and the API server down for 30 s, the run exits 4.

    It names the pending changes; once the API is back, rollback --all restores them exactly.
    """
    out, state = tmp_path / "out", tmp_path / "state"
    drill = drill_file(tmp_path, app["namespace"], mode="power-loss", duration="4s")
    process = start_until(
        [
            *zonedrill_kube(control_plane, app, Path(), "run", str(drill), "--out", str(out)),
            "--restore-timeout",
            "5s",
        ],
        env=cli_env(state),
        marker="lose pangyo (power-loss) done",
    )
    player = outage(control_plane, "kube-apiserver", after=0.5, seconds=OUTAGE)
    code, result, output = finish(process, out)
    player.join()
    assert code == 4, output
    assert result["restored"] is False
    assert "change(s) pending" in result["reason"]
    assert "  - cordon pangyo-1" in result["reason"]
    assert "  - add-taint pangyo-1 zonedrill.io/power-loss:NoSchedule" in result["reason"]
    done = zonedrill(state, "rollback", "--all", "--kubeconfig", str(control_plane.kubeconfig))
    assert done.returncode == 0, done.stdout + done.stderr
    assert nodes_as_before(kube, pristine) == pristine


def test_etcd_restarted_mid_chaos(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """etcd is killed and started again (3 s down) during the chaos phase: exact restore."""
    out = tmp_path / "out"
    drill = drill_file(tmp_path, app["namespace"], mode="power-loss", duration="10s")
    process = start_until(
        zonedrill_kube(control_plane, app, Path(), "run", str(drill), "--out", str(out)),
        env=cli_env(tmp_path / "state"),
        marker="lose pangyo (power-loss) done",
    )
    player = outage(control_plane, "etcd", after=1.0, seconds=3.0)
    code, result, output = finish(process, out)
    player.join()
    assert result, output
    assert result["restored"] is True, output
    assert code != 4, output
    assert nodes_as_before(kube, pristine) == pristine


TINY = "zonedrill-tiny"


def throttle(api: client.ApiClient) -> None:
    """Put ServiceAccount zonedrill/zonedrill in a priority level of one share that rejects."""
    flow: Any = client.FlowcontrolApiserverV1Api(api)
    flow.create_priority_level_configuration(
        {
            "metadata": {"name": TINY},
            "spec": {
                "type": "Limited",
                "limited": {
                    "nominalConcurrencyShares": 1,
                    "lendablePercent": 0,
                    "limitResponse": {"type": "Reject"},
                },
            },
        }
    )
    everything = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    flow.create_flow_schema(
        {
            "metadata": {"name": TINY},
            "spec": {
                "priorityLevelConfiguration": {"name": TINY},
                "matchingPrecedence": 100,
                "rules": [
                    {
                        "subjects": [
                            {
                                "kind": "ServiceAccount",
                                "serviceAccount": {"name": "zonedrill", "namespace": "zonedrill"},
                            }
                        ],
                        "resourceRules": [
                            {**everything, "clusterScope": True, "namespaces": ["*"]}
                        ],
                        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                    }
                ],
            },
        }
    )


def rejected(control_plane: Any) -> float:
    """Requests API Priority and Fairness rejected in the tiny priority level so far."""
    request = urllib.request.Request(  # noqa: S310 - the test plane's loopback URL
        f"{control_plane.server}/metrics",
        headers={"Authorization": f"Bearer {control_plane.admin_token}"},
    )
    context = ssl.create_default_context(cafile=str(control_plane.ca_cert))
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:  # noqa: S310
        text = answer.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("apiserver_flowcontrol_rejected_requests_total{")
        and f'priority_level="{TINY}"' in line
    )


def test_api_priority_and_fairness_429s_are_retried(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Real 429s from APF (one concurrency share, reject) while draining 43 pods.

    The drill completes with the API server throttling it, and the nodes end exactly as before.
    """
    apply(kube, manifests())
    limited = token_kubeconfig(control_plane, kube, "zonedrill", tmp_path)
    body = deployment_body("bulk", replicas=40, zone="pangyo")
    apps_api(kube).create_namespaced_deployment(app["namespace"], body)
    throttle(kube)
    flow: Any = client.FlowcontrolApiserverV1Api(kube)
    try:
        out = tmp_path / "out"
        drill = drill_file(tmp_path, app["namespace"], mode="drain", duration="20s")
        line = command(control_plane, app, limited, "run", str(drill), "--out", str(out))
        done = subprocess.run(
            [*line, "--qps", "1000"],
            capture_output=True,
            text=True,
            env=cli_env(tmp_path / "state"),
            timeout=240,
            check=False,
        )
        result = json.loads((out / "result.json").read_text())
        assert result["restored"] is True, done.stdout + done.stderr
        assert rejected(control_plane) > 0
        assert nodes_as_before(kube, pristine) == pristine
    finally:
        flow.delete_flow_schema(TINY)
        flow.delete_priority_level_configuration(TINY)
