"""zonedrill's own container image, built without a daemon (k8s/image/build.py), and run.

The image is built once (cached in ~/.cache/zonedrill/image, keyed by the sources) and unpacked
with umoci; each test runs zonedrill inside the unpacked rootfs with chroot, as the image's
user. The last test is the scheduled game day's pod: the Job that `kubectl create job
--from=cronjob/...` makes is read back, and exactly its command runs in the image with the
ConfigMap's files, the state directory and the ServiceAccount's token where a pod has them,
against the real API server. Needs root (mmdebstrap, chroot), as `.ci/run` has.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from kubernetes import client

from tests.cluster.zones import api_client, core_api
from tests.kubecase import nodes_as_before
from tests.support import REPO, zonedrill
from tests.test_gameday import write_drill
from tests.test_rbac import apply, manifests

pytestmark = pytest.mark.image

BUILD = REPO / "k8s" / "image" / "build.py"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zonedrill" / "image"
USER = "10001"
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    """build.json of the image, building it when the sources changed."""
    if os.geteuid() != 0:
        pytest.fail("the image build needs root (mmdebstrap, chroot); .ci/run runs as root")
    done = subprocess.run(
        [sys.executable, str(BUILD), "--cache", str(CACHE)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    facts: dict[str, Any] = json.loads(done.stdout)
    facts["folder"] = CACHE / f"{facts['sources']}-{facts['tag']}"
    return facts


@pytest.fixture
def rootfs(built: dict[str, Any], tmp_path: Path) -> Path:
    """A fresh copy of the image's rootfs, unpacked from its OCI archive by umoci."""
    layout = tmp_path / "layout"
    layout.mkdir()
    archive = built["folder"] / built["archive"]
    subprocess.run(["tar", "-C", str(layout), "-xf", str(archive)], check=True, timeout=120)
    bundle = tmp_path / "bundle"
    subprocess.run(
        ["umoci", "unpack", "--image", f"{layout}:{built['tag']}", str(bundle)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return bundle / "rootfs"


def in_image(
    root: Path, *args: str, env: dict[str, str], cwd: str = "/"
) -> subprocess.CompletedProcess[str]:
    """Run the image's entrypoint with ``args`` in ``root`` as the image's user, from ``cwd``."""
    command = [
        CHROOT,
        f"--userspec={USER}:{USER}",
        str(root),
        "/bin/sh",
        "-c",
        'cd "$0" && exec /usr/local/bin/zonedrill "$@"',
        cwd,
        *args,
    ]
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/var/lib/zonedrill"}
    return subprocess.run(
        command, capture_output=True, text=True, env=base | env, timeout=300, check=False
    )


def test_the_build_is_recorded(built: dict[str, Any]) -> None:
    """build.json names the archive, its size, the rootfs size and the build time."""
    assert built["archiveBytes"] > 10_000_000
    assert built["rootfsBytes"] > built["archiveBytes"]
    assert built["buildSeconds"] > 0
    config = image_config(built)
    assert config["Entrypoint"] == ["/usr/local/bin/zonedrill"]
    assert (config["User"], config["WorkingDir"]) == (USER, "/var/lib/zonedrill")


def image_config(built: dict[str, Any]) -> dict[str, Any]:
    """The OCI image config, read from the archive's index, manifest and config blobs."""
    archive = built["folder"] / built["archive"]

    def blob(name: str) -> dict[str, Any]:
        text = subprocess.run(
            ["tar", "-xOf", str(archive), name], capture_output=True, check=True, timeout=60
        ).stdout
        loaded: dict[str, Any] = json.loads(text)
        return loaded

    def path(digest: str) -> str:
        return "./blobs/" + digest.replace(":", "/")

    manifest = blob(path(blob("./index.json")["manifests"][0]["digest"]))
    config: dict[str, Any] = blob(path(manifest["config"]["digest"]))["config"]
    return config


def test_the_containerfile_follows_the_build() -> None:
    """k8s/image/Containerfile is what the build script prints: the two stay in step."""
    printed = subprocess.run(
        [sys.executable, str(BUILD), "--print-containerfile"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert (REPO / "k8s" / "image" / "Containerfile").read_text() == printed


def test_zonedrill_runs_inside_the_image(built: dict[str, Any], rootfs: Path) -> None:
    """--version, then a whole lab drill, as the image's user.

    The drill runs once per image: an image cached from the same sources that passed it already
    (its folder keeps a mark) is not run again.
    """
    version = in_image(rootfs, "--version", env={})
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "zonedrill, version 0.1.0"
    passed_mark = built["folder"] / "lab-drill-passed"
    if passed_mark.is_file():
        return
    drills = rootfs / "srv" / "drills"
    drills.mkdir()
    write_drill(drills, "inside")
    state = {"ZONEDRILL_STATE_DIR": "/var/lib/zonedrill"}
    done = in_image(
        rootfs,
        "run",
        "/srv/drills/inside.yaml",
        "--out",
        "run",
        env=state,
        cwd="/var/lib/zonedrill",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((rootfs / "var/lib/zonedrill/run/result.json").read_text())
    assert (result["outcome"], result["restored"]) == ("passed", True)
    passed_mark.write_text(result["runId"] + "\n")


class Healthy(BaseHTTPRequestHandler):
    """A service that stays up whatever zone is lost: the probe's loopback target."""

    def do_GET(self) -> None:
        """Answer ok."""
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_: object) -> None:
        """Quiet."""


GAMEDAY = """\
apiVersion: zonedrill/v1
kind: GameDay
metadata: {name: pod-gd}
spec:
  drills:
    - file: pod-drill.yaml
  schedule: {cron: "0 3 * * 1", timeZone: Asia/Seoul}
"""
DRILL = """\
apiVersion: zonedrill/v1
kind: Drill
metadata: {{name: pod-drill}}
spec:
  zones:
    pangyo: {{nodeSelector: {{zonedrill.io/power-zone: pangyo}}}}
  probes:
    - {{name: api, http: {{url: "http://127.0.0.1:{port}/"}}, every: 100ms}}
  baseline: 1s
  duration: 2s
  steps:
    - {{at: 0s, lose: pangyo}}
  targets:
    - {{probe: api, availability: "99%"}}
"""


@pytest.fixture
def healthy() -> Iterator[int]:
    """A loopback HTTP server; its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.cluster
def test_the_scheduled_job_runs_its_game_day_in_the_image(
    control_plane: Any,
    kube: client.ApiClient,
    pristine: dict[str, Any],
    rootfs: Path,
    healthy: int,
    tmp_path: Path,
) -> None:
    """The Job's own command, image filesystem, volumes and token: the game day passes."""
    folder = tmp_path / "gameday"
    folder.mkdir()
    (folder / "pod.gameday.yaml").write_text(GAMEDAY)
    (folder / "pod-drill.yaml").write_text(DRILL.format(port=healthy))
    admin = api_client(control_plane)
    apply(admin, manifests())
    printed = zonedrill(
        tmp_path / "state",
        "schedule",
        str(folder / "pod.gameday.yaml"),
        "--image",
        "zonedrill:test",
    )
    assert printed.returncode == 0, printed.stderr
    kubectl = control_plane.kubectl
    subprocess.run(
        kubectl("apply", "-f", "-"),
        input=printed.stdout,
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        subprocess.run(
            kubectl(
                "-n", "zonedrill", "create", "job", "--from=cronjob/zonedrill-pod-gd", "pod-gd-now"
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )
        job: Any = client.BatchV1Api(admin).read_namespaced_job("pod-gd-now", "zonedrill")
        pod = job.spec.template.spec
        env = as_the_pod(control_plane, admin, rootfs, pod)
        (container,) = pod.containers
        done = in_image(rootfs, *container.args, env=env, cwd=container.working_dir)
    finally:
        subprocess.run(  # no pod mounts the claim: drop its protection finalizer to delete it
            kubectl(
                "-n",
                "zonedrill",
                "patch",
                "pvc",
                "zonedrill-state-pod-gd",
                "--type=merge",
                "-p",
                '{"metadata":{"finalizers":null}}',
            ),
            capture_output=True,
            timeout=60,
            check=False,
        )
        for kind, name in (
            ("cronjob", "zonedrill-pod-gd"),
            ("job", "pod-gd-now"),
            ("configmap", "zonedrill-pod-gd"),
            ("pvc", "zonedrill-state-pod-gd"),
        ):
            subprocess.run(
                kubectl("-n", "zonedrill", "delete", kind, name, "--ignore-not-found"),
                capture_output=True,
                timeout=60,
                check=False,
            )
    assert done.returncode == 0, done.stdout + done.stderr
    (result_file,) = (rootfs / "var/lib/zonedrill/zonedrill-runs").glob("*/gameday.json")
    result = json.loads(result_file.read_text())
    assert (result["outcome"], result["trigger"], result["target"]) == (
        "passed",
        "schedule",
        "kube",
    )
    kept: Any = core_api(admin).read_namespaced_config_map("zonedrill-results", "zonedrill")
    summaries = json.loads(kept.data["pod-gd.json"])
    assert summaries[0]["gameDayId"] == result["gameDayId"]
    assert nodes_as_before(kube, pristine) == pristine


def as_the_pod(control_plane: Any, admin: client.ApiClient, root: Path, pod: Any) -> dict[str, str]:
    """Lay out the pod's volumes and token in ``root``; return the pod's environment."""
    (container,) = pod.containers
    volumes = {v.name: v for v in pod.volumes}
    for mount in container.volume_mounts:
        target = root / mount.mount_path.lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        source = volumes[mount.name]
        if source.config_map is not None:
            data = (
                core_api(admin).read_namespaced_config_map(source.config_map.name, "zonedrill").data
            )
            for item in source.config_map.items:
                (target / item.path).parent.mkdir(parents=True, exist_ok=True)
                (target / item.path).write_text(data[item.key])
        else:  # the state claim: empty and the image user's, as fsGroup makes it
            shutil.chown(target, int(USER), int(USER))
    # /var/run is a link to /run in Debian; write through the rootfs, never the host's /run.
    secrets = root / "run/secrets/kubernetes.io/serviceaccount"
    secrets.mkdir(parents=True)
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    token = core_api(admin).create_namespaced_service_account_token(
        "zonedrill", "zonedrill", request
    )
    (secrets / "token").write_text(token.status.token)
    shutil.copy(control_plane.ca_cert, secrets / "ca.crt")
    (secrets / "namespace").write_text("zonedrill")
    server = urlsplit(control_plane.server)
    env = {
        "KUBERNETES_SERVICE_HOST": server.hostname or "",
        "KUBERNETES_SERVICE_PORT": str(server.port),
    }
    for variable in container.env:
        if variable.value is not None:
            env[variable.name] = variable.value
        elif variable.value_from.field_ref.field_path == "spec.nodeName":
            env[variable.name] = "gasan-1"  # where the scheduler would put it: outside pangyo
    return env
