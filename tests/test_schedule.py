"""zonedrill schedule's manifests on the real control plane.

They are created for real; a Job started from the CronJob carries the command, image,
ServiceAccount and volumes; and the ServiceAccount has exactly the RBAC of k8s/rbac.yaml.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from ruamel.yaml import YAML

from orchestrator.drill import load_gameday
from orchestrator.errors import InvalidInputError
from orchestrator.gameday.cronjob import SNAPSHOT_ROLE, ScheduleRequest, manifests
from tests.cluster.zones import api_client
from tests.support import REPO, zonedrill
from tests.test_rbac import manifests as rbac_manifests

pytestmark = pytest.mark.cluster

GAMEDAY = REPO / "drills" / "weekly-dc-loss.gameday.yaml"
IMAGE = "registry.example/zonedrill:test"
NAMESPACE = "zonedrill"  # the RBAC's ClusterRoleBinding is shared with the other cluster tests
CRONJOB = "zonedrill-weekly-dc-loss"
KEY_HOLDER = "zonedrill-sign-key"  # the Secret holding the signing key


@pytest.fixture(scope="module")
def scheduled(control_plane: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Print the manifests with zonedrill schedule and apply them; remove what they added."""
    state = tmp_path_factory.mktemp("schedule")
    done = zonedrill(
        state, "schedule", str(GAMEDAY), "--image", IMAGE, "--sign-key-secret", KEY_HOLDER
    )
    assert done.returncode == 0, done.stderr
    applied = subprocess.run(
        control_plane.kubectl("apply", "-f", "-"),
        input=done.stdout,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    try:
        yield done.stdout
    finally:
        # No pod ever mounts the claim (KWOK runs none), but its protection finalizer waits on
        # the controller's bookkeeping: drop it, so the delete is immediate.
        subprocess.run(
            control_plane.kubectl(
                "-n",
                NAMESPACE,
                "patch",
                "pvc",
                "zonedrill-state-weekly-dc-loss",
                "--type=merge",
                "-p",
                '{"metadata":{"finalizers":null}}',
            ),
            capture_output=True,
            timeout=60,
            check=False,
        )
        for kind, name in (
            ("cronjob", CRONJOB),
            ("job", "try-now"),
            ("configmap", CRONJOB),
            ("pvc", "zonedrill-state-weekly-dc-loss"),
        ):
            subprocess.run(
                control_plane.kubectl("-n", NAMESPACE, "delete", kind, name, "--ignore-not-found"),
                capture_output=True,
                timeout=60,
                check=True,
            )


def test_a_job_started_from_the_cronjob_runs_the_game_day(
    control_plane: Any, scheduled: str
) -> None:
    """kubectl create job --from=cronjob/...: the Job is the CronJob's, as printed."""
    created = subprocess.run(
        control_plane.kubectl(
            "-n", NAMESPACE, "create", "job", f"--from=cronjob/{CRONJOB}", "try-now"
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    api = api_client(control_plane)
    cron: Any = client.BatchV1Api(api).read_namespaced_cron_job(CRONJOB, NAMESPACE)
    assert (cron.spec.schedule, cron.spec.time_zone) == ("0 3 * * 1", "Asia/Seoul")
    assert cron.spec.concurrency_policy == "Forbid"
    job: Any = client.BatchV1Api(api).read_namespaced_job("try-now", NAMESPACE)
    pod = job.spec.template.spec
    (container,) = pod.containers
    assert container.image == IMAGE
    assert container.args == [
        "gameday",
        "run",
        "/etc/zonedrill/weekly-dc-loss.gameday.yaml",
        "--target=kube",
        f"--lock-namespace={NAMESPACE}",
        "--trigger=schedule",
        "--sign-key=/var/run/zonedrill/sign-key/key.pem",
    ]
    assert pod.service_account_name == "zonedrill"
    assert job.spec.backoff_limit == 0
    volumes = {v.name: v for v in pod.volumes}
    assert volumes["state"].persistent_volume_claim.claim_name == "zonedrill-state-weekly-dc-loss"
    signing = volumes["sign-key"].secret
    assert (signing.secret_name, signing.default_mode) == (KEY_HOLDER, 0o440)
    assert [(i.key, i.path) for i in signing.items] == [("zonedrill.key", "key.pem")]
    mounts = {m.name: m for m in container.volume_mounts}
    assert (mounts["sign-key"].mount_path, mounts["sign-key"].read_only) == (
        "/var/run/zonedrill/sign-key",
        True,
    )
    items = {i.path for i in volumes["gameday"].config_map.items}
    assert items == {
        "weekly-dc-loss.gameday.yaml",
        "pangyo-battery-fire-multizone.yaml",
        "any-site-power-loss.yaml",
        "pangyo-drain-pdb.yaml",
        "labs/pangyo-multizone.yaml",
        "labs/two-sites-pdb.yaml",
    }
    configmap: Any = client.CoreV1Api(api).read_namespaced_config_map(CRONJOB, NAMESPACE)
    key = next(i.key for i in volumes["gameday"].config_map.items if i.path == GAMEDAY.name)
    assert configmap.data[key] == GAMEDAY.read_text()


def test_the_service_account_has_exactly_the_rbac_manifest(
    control_plane: Any, scheduled: str
) -> None:
    """The RBAC objects printed are k8s/rbac.yaml's; granted verbs say yes, others no.

    All but the snapshot role: scheduled game days take no snapshots.
    """
    printed = [d for d in YAML(typ="safe").load_all(scheduled) if d]
    rbac_kinds = {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
    }
    wanted = [
        d
        for d in rbac_manifests()
        if d["kind"] in rbac_kinds and d["metadata"]["name"] != SNAPSHOT_ROLE
    ]
    assert [d for d in printed if d["kind"] in rbac_kinds] == wanted
    account = f"system:serviceaccount:{NAMESPACE}:zonedrill"
    for verb, resource, expected in (
        ("patch", "nodes", "yes"),
        ("create", "pods --subresource=eviction", "yes"),
        ("create", "pods", "no"),
        ("update", "configmaps/zonedrill-results", "yes"),
        ("update", "leases", "yes"),
        ("delete", "leases", "yes"),
        ("delete", "nodes", "no"),
        ("create", "configmaps", "no"),
        ("get", "configmaps/zonedrill-weekly-dc-loss", "no"),
        ("get", "secrets", "no"),
        ("get", "namespaces/kube-system", "yes"),
        ("get", "namespaces/default", "no"),
    ):
        answer = subprocess.run(
            control_plane.kubectl(
                "auth", "can-i", verb, *resource.split(), "-n", NAMESPACE, f"--as={account}"
            ),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert answer.stdout.strip() == expected, (verb, resource, answer.stdout, answer.stderr)


def test_a_game_day_without_a_schedule_is_refused(tmp_path: Path) -> None:
    """No spec.schedule, no CronJob: exit 2 naming the field."""
    plain = tmp_path / "plain.gameday.yaml"
    plain.write_text(
        GAMEDAY.read_text()
        .replace('  schedule: {cron: "0 3 * * 1", timeZone: Asia/Seoul}\n', "")
        .replace("file: ", f"file: {REPO / 'drills'}/")
    )
    done = zonedrill(tmp_path, "schedule", str(plain), "--image", IMAGE)
    assert done.returncode == 2
    assert "spec.schedule" in done.stdout + done.stderr


def test_the_manifests_name_every_file_the_game_day_reads() -> None:
    """Drills and their labs go in the ConfigMap under paths that keep them relative."""
    gameday, drills = load_gameday(GAMEDAY)
    request = ScheduleRequest(gameday, GAMEDAY, drills, IMAGE, "elsewhere")
    documents = {d["kind"]: d for d in manifests(request)}
    assert documents["ConfigMap"]["metadata"]["namespace"] == "elsewhere"
    binding = next(d for d in manifests(request) if d["kind"] == "ClusterRoleBinding")
    assert binding["subjects"][0]["namespace"] == "elsewhere"


def scheduled_in(tmp_path: Path, drills: list[str], name: str = "gd") -> ScheduleRequest:
    """A game day over drill files already in ``tmp_path``, with a schedule."""
    entries = "".join(f'    - {{file: "{d}"}}\n' for d in drills)
    path = tmp_path / "g.gameday.yaml"
    path.write_text(
        f"apiVersion: zonedrill/v1\nkind: GameDay\nmetadata: {{name: {name}}}\nspec:\n"
        f'  drills:\n{entries}  schedule: {{cron: "0 3 * * 1"}}\n'
    )
    gameday, loaded = load_gameday(path)
    return ScheduleRequest(gameday, path, loaded, IMAGE, NAMESPACE)


def test_every_file_gets_its_own_key_and_keeps_its_path(tmp_path: Path) -> None:
    """x y.yaml and x_y.yaml, and a drill reached through a symbolic link, all stay distinct."""
    from tests.test_gameday import write_drill  # noqa: PLC0415

    write_drill(tmp_path, "first")
    (tmp_path / "x y.yaml").write_text((tmp_path / "first.yaml").read_text())
    write_drill(tmp_path, "second")
    (tmp_path / "x_y.yaml").write_text((tmp_path / "second.yaml").read_text())
    (tmp_path / "link.yaml").symlink_to(tmp_path / "first.yaml")
    request = scheduled_in(tmp_path, ["x y.yaml", "x_y.yaml", "link.yaml"])
    documents = {d["kind"]: d for d in manifests(request)}
    items = documents["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"][0][
        "configMap"
    ]["items"]
    paths = {i["path"]: i["key"] for i in items}
    assert {"x y.yaml", "x_y.yaml", "link.yaml", "lab.yaml", "g.gameday.yaml"} == set(paths)
    assert len(set(paths.values())) == len(paths)
    data = documents["ConfigMap"]["data"]
    assert "name: first" in data[paths["x y.yaml"]]
    assert "name: second" in data[paths["x_y.yaml"]]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"name": "g" * 43}, "at most 42 characters"),
        ({"name": "results"}, "which zonedrill keeps for itself"),
        ({"namespace": "Bad_NS"}, "DNS-1123 label"),
        ({"namespace": "x\nkind: Secret"}, "DNS-1123 label"),
        ({"image": ""}, "image reference"),
        ({"image": "a b"}, "image reference"),
        ({"absolute": True}, "an absolute path does not exist in the pod"),
    ],
)
def test_manifests_that_could_not_apply_or_run_are_refused(
    tmp_path: Path, change: dict[str, Any], words: str
) -> None:
    """Names Kubernetes refuses, a header a newline breaks, paths the pod lacks: exit 2."""
    from tests.test_gameday import write_drill  # noqa: PLC0415

    drill = write_drill(tmp_path, "one")
    target = str(tmp_path / drill) if change.get("absolute") else drill
    request = scheduled_in(tmp_path, [target], name=change.get("name", "gd"))
    request = ScheduleRequest(
        request.gameday,
        request.path,
        request.drills,
        change.get("image", IMAGE),
        change.get("namespace", NAMESPACE),
    )
    with pytest.raises(InvalidInputError) as refused:
        manifests(request)
    assert any(words in p.message for p in refused.value.problems), refused.value.problems


def test_each_namespace_gets_its_own_cluster_binding() -> None:
    """Two installs never rebind each other's ServiceAccount."""
    gameday, drills = load_gameday(GAMEDAY)
    bindings = [
        next(
            d
            for d in manifests(ScheduleRequest(gameday, GAMEDAY, drills, IMAGE, namespace))
            if d["kind"] == "ClusterRoleBinding"
        )["metadata"]["name"]
        for namespace in ("team-a", "team-b")
    ]
    assert bindings == ["zonedrill-team-a", "zonedrill-team-b"]


def test_a_game_day_reached_through_a_symbolic_link_to_its_folder_is_scheduled(
    tmp_path: Path,
) -> None:
    """abspath against resolve: the game day's own key was not found (StopIteration)."""
    from tests.test_gameday import write_drill  # noqa: PLC0415

    real = tmp_path / "real"
    real.mkdir()
    write_drill(real, "one")
    scheduled_in(real, ["one.yaml"])
    (tmp_path / "via").symlink_to(real, target_is_directory=True)
    gameday, drills = load_gameday(tmp_path / "via" / "g.gameday.yaml")
    request = ScheduleRequest(
        gameday, tmp_path / "via" / "g.gameday.yaml", drills, IMAGE, NAMESPACE
    )
    cronjob = next(d for d in manifests(request) if d["kind"] == "CronJob")
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert any(arg.endswith("/g.gameday.yaml") for arg in container["args"])


def test_a_newline_in_the_game_days_path_stays_inside_the_header_comment(tmp_path: Path) -> None:
    """A folder named with a newline and YAML after it printed a Secret kubectl would create."""
    from tests.test_gameday import write_drill  # noqa: PLC0415

    folder = tmp_path / "x\nkind: Secret\nmetadata: {name: stolen, namespace: kube-system}\n---"
    folder.mkdir()
    write_drill(folder, "one")
    scheduled_in(folder, ["one.yaml"])
    done = zonedrill(tmp_path, "schedule", str(folder / "g.gameday.yaml"), "--image", IMAGE)
    assert done.returncode == 0, done.stderr
    kinds = [d["kind"] for d in YAML(typ="safe").load_all(done.stdout) if d]
    assert "Secret" not in kinds
    assert "stolen" not in "".join(
        line for line in done.stdout.splitlines() if not line.startswith("#")
    )


def test_a_signing_secret_that_is_not_a_name_is_refused() -> None:
    """--sign-key-secret goes into the manifests and the header comment: a name, or exit 2."""
    gameday, drills = load_gameday(GAMEDAY)
    request = ScheduleRequest(gameday, GAMEDAY, drills, IMAGE, NAMESPACE, "key\nkind: Secret")
    with pytest.raises(InvalidInputError) as refused:
        manifests(request)
    assert [p.file for p in refused.value.problems] == ["--sign-key-secret"]
