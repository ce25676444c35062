"""Start and stop etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok.

Each component runs in its own process from the binaries that ``build.py`` made, bound to
127.0.0.1, with its log kept in ``<dir>/logs/<component>.log``. A component that dies while
starting is named in the error, with the end of its log.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cluster import build
from tests.cluster.pki import Pki, make_pki
from tests.cluster.stages import write_stages

SERVICE_CIDR = "10.96.0.0/16"
NODE_LEASE_SECONDS = 8  # kwok renews every 2s; the node monitor grace below is well above that
CONTROLLERS = ",".join(
    [
        "node-lifecycle-controller",
        "taint-eviction-controller",
        "disruption-controller",
        "endpointslice-controller",
        "endpoints-controller",
        "deployment-controller",
        "replicaset-controller",
        "daemonset-controller",
        "garbage-collector-controller",
        "namespace-controller",
        "serviceaccount-controller",
    ]
)


AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
"""


class ClusterStartError(RuntimeError):
    """A component failed to start; the message names it."""


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ControlPlane:
    """A running control plane and where to find everything about it."""

    folder: Path
    binaries: Path
    server: str = ""
    kubeconfig: Path = field(default_factory=Path)
    admin_token: str = ""
    ca_cert: Path = field(default_factory=Path)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    health: dict[str, tuple[str, Any, str | None, float]] = field(default_factory=dict)
    node_lease_seconds: int = NODE_LEASE_SECONDS  # benchmarks with 1,000s of nodes raise it
    audit_log: Path | None = None  # benchmarks count every client's requests at the server
    outlives_starter: bool = False  # `up` starts it to outlive the command; tests tie it to them

    @property
    def node_grace(self) -> int:
        """The node monitor grace period, seconds: well above KWOK's renewals, short for tests."""
        return max(20, 3 * self.node_lease_seconds)

    def start(self) -> None:
        """Start every component in order and wait until each is healthy."""
        (self.folder / "logs").mkdir(parents=True, exist_ok=True)
        pki = make_pki(self.folder / "pki")
        self.admin_token, self.ca_cert = pki.admin_token, pki.ca_cert
        etcd_port = self._start_etcd()
        self._start_apiserver(pki, etcd_port)
        self.kubeconfig = self._write_kubeconfig(pki)
        kube = str(self.kubeconfig)
        self._spawn(
            "kube-controller-manager",
            self._k8s(
                "kube-controller-manager",
                [
                    f"--kubeconfig={kube}",
                    "--bind-address=127.0.0.1",
                    "--secure-port=0",
                    "--leader-elect=false",
                    f"--controllers={CONTROLLERS}",
                    f"--service-account-private-key-file={pki.sa_key}",
                    f"--root-ca-file={pki.ca_cert}",
                    "--node-monitor-period=2s",
                    f"--node-monitor-grace-period={self.node_grace}s",
                    "--kube-api-qps=200",
                    "--kube-api-burst=400",
                    "--concurrent-replicaset-syncs=20",
                    "--concurrent-deployment-syncs=20",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                ],
            ),
        )
        self._spawn(
            "kube-scheduler",
            self._k8s(
                "kube-scheduler",
                [
                    f"--kubeconfig={kube}",
                    "--bind-address=127.0.0.1",
                    "--secure-port=0",
                    "--leader-elect=false",
                    "--kube-api-qps=200",
                    "--kube-api-burst=400",
                ],
            ),
        )
        self._spawn(
            "kwok",
            [
                str(self.binaries / "kwok"),
                f"--kubeconfig={kube}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--node-lease-duration-seconds={self.node_lease_seconds}",
                f"--config={write_stages(self.binaries, self.folder)}",
                f"--server-address=127.0.0.1:{free_port()}",
                "--cidr=10.244.0.0/16",
                "--node-ip=10.200.0.1",
            ],
        )
        time.sleep(1.0)
        self.check_alive()

    def kubectl(self, *args: str) -> list[str]:
        """A kubectl command line (built from the same module) for this control plane."""
        return [
            str(self.binaries / "zonedrill-k8s"),
            "kubectl",
            "--kubeconfig",
            str(self.kubeconfig),
            *args,
        ]

    def _k8s(self, component: str, flags: list[str]) -> list[str]:
        return [str(self.binaries / "zonedrill-k8s"), component, *flags]

    def _start_etcd(self) -> int:
        client, peer = free_port(), free_port()
        self._spawn(
            "etcd",
            self._k8s(
                "etcd",
                [
                    "--name=zonedrill-test",
                    f"--data-dir={self.folder / 'etcd'}",
                    f"--listen-client-urls=http://127.0.0.1:{client}",
                    f"--advertise-client-urls=http://127.0.0.1:{client}",
                    f"--listen-peer-urls=http://127.0.0.1:{peer}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                    f"--initial-cluster=zonedrill-test=http://127.0.0.1:{peer}",
                    "--unsafe-no-fsync=true",
                    "--log-level=warn",
                ],
            ),
        )
        self._wait("etcd", f"http://127.0.0.1:{client}/health", ok=lambda body: '"true"' in body)
        return client

    def _start_apiserver(self, pki: Pki, etcd_port: int) -> None:
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        self._spawn(
            "kube-apiserver",
            self._k8s(
                "kube-apiserver",
                [
                    f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                    "--bind-address=127.0.0.1",
                    f"--secure-port={port}",
                    "--advertise-address=127.0.0.1",
                    "--endpoint-reconciler-type=none",
                    f"--cert-dir={self.folder / 'pki'}",
                    f"--tls-cert-file={pki.serving_cert}",
                    f"--tls-private-key-file={pki.serving_key}",
                    f"--client-ca-file={pki.ca_cert}",
                    f"--token-auth-file={pki.token_file}",
                    "--service-account-issuer=https://kubernetes.default.svc",
                    f"--service-account-key-file={pki.sa_pub}",
                    f"--service-account-signing-key-file={pki.sa_key}",
                    "--authorization-mode=RBAC",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    # A fresh namespace has no default ServiceAccount yet; test pods need none.
                    "--disable-admission-plugins=ServiceAccount",
                    "--allow-privileged=true",
                    "--max-requests-inflight=1000",
                    "--max-mutating-requests-inflight=500",
                    "--profiling=false",
                    *self._audit_flags(),
                ],
            ),
        )
        self._wait(
            "kube-apiserver",
            f"{self.server}/readyz",
            ok=lambda body: body.strip() == "ok",
            token=pki.admin_token,
            timeout=90,
        )

    def _audit_flags(self) -> list[str]:
        """Log every request's user agent, verb, resource and status (JSON lines), if asked."""
        if self.audit_log is None:
            return []
        policy = self.folder / "audit-policy.yaml"
        policy.write_text(AUDIT_POLICY)
        return [
            f"--audit-policy-file={policy}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-format=json",
            "--audit-log-maxsize=0",
        ]

    def _write_kubeconfig(self, pki: Pki) -> Path:
        path = self.folder / "kubeconfig"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "zonedrill-test",
            "clusters": [
                {
                    "name": "zonedrill-test",
                    "cluster": {"server": self.server, "certificate-authority": str(pki.ca_cert)},
                }
            ],
            "users": [{"name": "admin", "user": {"token": pki.admin_token}}],
            "contexts": [
                {
                    "name": "zonedrill-test",
                    "context": {"cluster": "zonedrill-test", "user": "admin"},
                }
            ],
        }
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
        return path

    def kill(self, name: str) -> None:
        """Stop one component at once (SIGKILL), as a crash would."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()

    def respawn(self, name: str) -> None:
        """Start a killed component again with its own flags and data, and wait until healthy."""
        self._spawn(name, self.commands[name])
        if name in self.health:
            url, ok, token, timeout = self.health[name]
            self._wait(name, url, ok=ok, token=token, timeout=timeout)

    def _spawn(self, name: str, command: list[str]) -> None:
        self.commands[name] = command
        log = (self.folder / "logs" / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # One C call, resolved beforehand: nothing in it can wait on a lock another
            # thread held at fork time.
            preexec_fn=die_with_parent if self._tied() else None,  # noqa: PLW1509
        )

    def _tied(self) -> bool:
        """Whether a component started now dies with its starter.

        The kernel ties it to the starting *thread*: a component respawned from a test's
        helper thread (an outage played in the background) would die with that thread, so only
        the main thread ties, and ``up`` never does (its plane outlives the command).
        """
        return not self.outlives_starter and threading.current_thread() is threading.main_thread()

    def _wait(
        self, name: str, url: str, *, ok: object, token: str | None = None, timeout: float = 60
    ) -> None:
        self.health[name] = (url, ok, token, timeout)
        context = (
            ssl.create_default_context(cafile=str(self.ca_cert))
            if url.startswith("https")
            else None
        )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our loopback URL
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(request, timeout=2, context=context) as answer:  # noqa: S310
                    if callable(ok) and ok(answer.read().decode()):
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise ClusterStartError(
            f"{name} did not become healthy in {timeout:.0f}s:\n{self.log_tail(name)}"
        )

    def check_alive(self) -> None:
        """Raise ClusterStartError naming the first component that has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise ClusterStartError(
                    f"{name} exited with code {process.returncode}:\n{self.log_tail(name)}"
                )

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last lines of a component's log."""
        path = self.folder / "logs" / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop every component: all but etcd together, then etcd (the apiserver needs it)."""
        stop_pids([p.pid for p in self.processes.values()])
        for process in self.processes.values():
            process.wait()

    def state(self) -> dict[str, object]:
        """What ``down`` needs to find the processes again."""
        return {
            "pids": {n: p.pid for n, p in self.processes.items()},
            "kubeconfig": str(self.kubeconfig),
            "server": self.server,
        }


def start(
    folder: Path,
    *,
    node_lease_seconds: int = NODE_LEASE_SECONDS,
    audit: bool = False,
    outlives_starter: bool = False,
) -> ControlPlane:
    """Build if needed, then start a control plane with its state in ``folder``.

    kwok renews each node's lease every quarter of ``node_lease_seconds``: with thousands of
    nodes the default keeps the API server busy with heartbeats, so benchmarks raise it.
    ``audit`` logs every request to ``folder/audit.log``, for benchmarks that count calls.
    """
    plane = ControlPlane(
        folder=folder,
        binaries=build.build(),
        node_lease_seconds=node_lease_seconds,
        outlives_starter=outlives_starter,
        audit_log=folder / "audit.log" if audit else None,
    )
    try:
        plane.start()
    except BaseException:
        plane.stop()
        raise
    return plane


def stop_pids(pids: list[int], *, grace: float = 10.0) -> None:
    """Stop processes given in start order: all but the first together, then the first (etcd)."""
    for group in (pids[1:], pids[:1]):
        for pid in group:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_alive(p) for p in group):
            time.sleep(0.05)
        for pid in group:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: ask the kernel instead
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return waited == 0


def _default_dir(given: str | None) -> Path:
    return Path(given) if given else build.cache_root() / "running"


def cli(options: argparse.Namespace) -> int:
    """``up`` and ``down`` for people: ``up`` starts clean or refuses; ``down`` removes state."""
    folder = _default_dir(options.dir)
    state_file = folder / "state.json"
    running = _running_pids(state_file)
    if options.command == "down":
        stop_pids(running)
        _wipe(folder)
        print("stopped" if running else f"nothing running from {folder}")
        return 0
    if running:
        print(f"a control plane from {folder} is running (pids {running}): run down first")
        return 1
    _wipe(folder)  # a crashed up's etcd data would clash with the new nodes
    folder.mkdir(parents=True)
    (folder / MARKER).touch()
    plane = start(folder, outlives_starter=True)
    try:
        from tests.cluster.zones import create_zones  # noqa: PLC0415 - needs a running apiserver

        create_zones(plane, dict(z.split("=") for z in options.zones.split(",")))
        state_file.write_text(json.dumps(plane.state(), indent=2))
    except BaseException:
        plane.stop()
        raise
    print(plane.kubeconfig)
    return 0


MARKER = ".zonedrill-test-plane"


def _wipe(folder: Path) -> None:
    """Remove a folder ``up`` made (it holds the marker); refuse to touch any other."""
    if not folder.exists():
        return
    if not (folder / MARKER).exists() and any(folder.iterdir()):
        raise SystemExit(f"{folder} was not made by up (no {MARKER}); give another --dir")
    shutil.rmtree(folder)


def _running_pids(state_file: Path) -> list[int]:
    """The pids an earlier ``up`` recorded that are still alive, in start order."""
    try:
        pids = list(json.loads(state_file.read_text())["pids"].values())
    except (OSError, ValueError, KeyError):
        return []
    return [pid for pid in pids if _alive(pid)]


PR_SET_PDEATHSIG = 1
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl


def die_with_parent() -> None:
    """In the child: be killed when the thread that started it ends, however its process dies.

    A test run killed by SIGTERM or SIGKILL runs no fixture teardown; without this its control
    plane would live on as orphans holding ports and data folders.
    """
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)
