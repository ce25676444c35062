"""A game day on the real control plane (--target kube).

Both drills run and the nodes end as before; the game day's summary lands in the results
ConfigMap, where gate and history read it with the zonedrill ServiceAccount's token alone.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from orchestrator.drill import load_drill
from orchestrator.drill.picks import drill_seed
from tests.cluster.zones import api_client, core_api
from tests.kubecase import nodes_as_before
from tests.support import REPO, ZONEDRILL, cli_env, key_pair
from tests.test_kube_drills import workloads
from tests.test_rbac import apply, manifests, token_kubeconfig

pytestmark = pytest.mark.cluster

GAMEDAY = """\
apiVersion: zonedrill/v1
kind: GameDay
metadata: {{name: kube-gd}}
spec:
  drills:
    - file: {drills}/pangyo-battery-fire-multizone.yaml
    - file: {drills}/any-site-power-loss.yaml
      pauseBefore: 2s
"""


def shortened(folder: Path) -> Path:
    """The two example drills with a shorter baseline and chaos phase, for the suite's time."""
    for name in ("pangyo-battery-fire-multizone", "any-site-power-loss"):
        data = load_drill(REPO / "drills" / f"{name}.yaml").model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        spec = data["spec"]
        del spec["lab"]  # the kube target: the workloads are the lab's manifest
        spec |= {"baseline": "2s", "duration": "10s", "stopIf": []}
        spec["steps"][-1]["at"] = "6s"
        (folder / f"{name}.yaml").write_text(json.dumps(data))  # JSON is YAML
    return folder


def test_a_game_day_on_kube_runs_every_drill_and_restores(
    control_plane: Any, kube: client.ApiClient, pristine: dict[str, Any], tmp_path: Path
) -> None:
    """Both drills share the multizone manifest; each passes, seed picks, nodes end as before."""
    admin = api_client(control_plane)
    apply(admin, manifests())  # the ServiceAccount, its RBAC and the results ConfigMap
    gameday = tmp_path / "kube.gameday.yaml"
    gameday.write_text(GAMEDAY.format(drills=shortened(tmp_path)))
    out, state = tmp_path / "out", tmp_path / "state"
    private, public = key_pair(tmp_path, "runner")
    with workloads(control_plane, kube, "pangyo-battery-fire-multizone") as urls:
        done = subprocess.run(
            [
                *ZONEDRILL,
                "gameday",
                "run",
                str(gameday),
                "--target=kube",
                f"--kubeconfig={control_plane.kubeconfig}",
                f"--out={out}",
                "--seed=2",
                f"--sign-key={private}",
                *urls,
            ],
            capture_output=True,
            text=True,
            env=cli_env(state),
            timeout=400,
            check=False,
        )
    result = json.loads((out / "gameday.json").read_text())
    assert done.returncode == 0, done.stdout + done.stderr
    assert (result["outcome"], result["target"], result["restored"]) == ("passed", "kube", True)
    assert [r["outcome"] for r in result["runs"]] == ["passed", "passed"]
    random_run = json.loads((out / result["runs"][1]["result"] / "result.json").read_text())
    assert random_run["seed"] == drill_seed(2, 1)  # the second drill's own seed
    assert random_run["steps"][0]["zone"] in random_run["steps"][0]["pickedFrom"]
    kube_system: Any = client.CoreV1Api(admin).read_namespace("kube-system")
    assert random_run["cluster"] == {
        "identity": f"kube/{admin.configuration.host}",
        "uid": kube_system.metadata.uid,
    }
    assert nodes_as_before(kube, pristine) == pristine

    token = str(token_kubeconfig(control_plane, admin, "zonedrill", tmp_path))
    env = cli_env(tmp_path / "elsewhere")  # no local history: only the cluster knows
    _, other = key_pair(tmp_path, "other")
    for trusted, code in ((public, 0), (other, 1)):
        gate = subprocess.run(
            [
                *ZONEDRILL,
                "gate",
                "--gameday=kube-gd",
                "--from-cluster",
                f"--kubeconfig={token}",
                "--max-age=1h",
                "--min-score=90",
                f"--trusted-key={trusted}",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert gate.returncode == code, gate.stdout + gate.stderr
        assert result["gameDayId"] in gate.stdout
    listed = subprocess.run(
        [
            *ZONEDRILL,
            "history",
            "--gameday=kube-gd",
            "--from-cluster",
            f"--kubeconfig={token}",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    (kept,) = json.loads(listed.stdout)["gamedays"]
    assert (kept["gameDayId"], kept["outcome"]) == (result["gameDayId"], "passed")
    digest = hashlib.sha256((out / "gameday.json").read_bytes()).hexdigest()
    assert kept["digest"] == digest

    # A pod killed mid-game-day leaves only its start: the gate must not pass on this one.
    results: Any = core_api(admin).read_namespaced_config_map("zonedrill-results", "zonedrill")
    starts = json.loads(results.data["kube-gd.started.json"])
    assert [s["gameDayId"] for s in starts] == [result["gameDayId"]]
    killed = {**starts[0], "gameDayId": "kube-gd-killed", "startedAt": result["endedAt"]}
    patch = {"data": {"kube-gd.started.json": json.dumps([killed, *starts])}}
    core_api(admin).patch_namespaced_config_map("zonedrill-results", "zonedrill", patch)
    gate = subprocess.run(
        [*ZONEDRILL, "gate", "--gameday=kube-gd", "--from-cluster", f"--kubeconfig={token}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "kube-gd-killed" in gate.stdout
    assert "has no summary in the cluster" in gate.stdout


def test_the_token_reads_no_other_configmap(
    control_plane: Any, kube: client.ApiClient, tmp_path: Path
) -> None:
    """The results Role names its ConfigMap: any other one in the namespace is forbidden."""
    admin = api_client(control_plane)
    apply(admin, manifests())
    core_api(admin).create_namespaced_config_map(
        "zonedrill", {"metadata": {"name": "someone-elses"}, "data": {"k": "v"}}
    )
    try:
        token = token_kubeconfig(control_plane, admin, "zonedrill", tmp_path)
        limited = config.new_client_from_config(config_file=str(token))  # type: ignore[no-untyped-call]
        with pytest.raises(ApiException) as refused:
            client.CoreV1Api(limited).read_namespaced_config_map("someone-elses", "zonedrill")
        assert refused.value.status == 403
        core: Any = client.CoreV1Api(limited)
        kept = core.read_namespaced_config_map("zonedrill-results", "zonedrill")
        assert kept.metadata.name == "zonedrill-results"
    finally:
        core_api(admin).delete_namespaced_config_map("someone-elses", "zonedrill")
