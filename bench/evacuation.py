"""The drain bench's world: a lost zone full of pods, a spare zone, and one definition of done.

``populate`` makes zone "lost" (N nodes) and zone "spare" (room for every pod), and packs the
load into "lost" while "spare" is cordoned, then opens "spare": the Deployments are not pinned,
so a drained pod's replacement lands in the spare zone. ``repack`` puts the world back between
runs. ``DoneWatch`` follows the pods with one watch and notes the first moment the evacuation is
**done**: no pod of the load on a lost node (terminating pods included) and every replica Ready
outside the lost zone. Every tool is timed to that moment, from the start of its process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from kubernetes import watch

from tests.cluster.control_plane import ControlPlane
from tests.cluster.zones import (
    api_client,
    apps_api,
    core_api,
    create_zones,
    deployment_body,
    is_ready,
    wait_for,
)

ZONE_LABEL = "zonedrill.io/power-zone"
LOAD_LABEL = "bench=evacuation"
WATCHER_AGENT = "zonedrill-bench-watcher"


@dataclass(frozen=True)
class Scenario:
    """How many nodes, pods per node, and how many of each node's pods stop slowly."""

    nodes: int
    pods_per_node: int
    grace_seconds: int = 0  # the slow pods' terminationGracePeriodSeconds
    slow_share: float = 0.0  # the share of pods with that grace period

    @property
    def total(self) -> int:
        """Every pod of the load."""
        return self.nodes * self.pods_per_node

    @property
    def replicas(self) -> dict[str, int]:
        """Replicas of each Deployment: ``fast`` (grace 0) and ``slow`` (grace_seconds)."""
        slow = round(self.total * self.slow_share) if self.grace_seconds else 0
        return {"fast": self.total - slow, "slow": slow}

    @property
    def lost_nodes(self) -> frozenset[str]:
        """The names of the lost zone's nodes."""
        return frozenset(f"lost-{i}" for i in range(1, self.nodes + 1))

    def label(self) -> str:
        """How the scenario is named in tables and result files."""
        grace = f", {self.slow_share:.0%} of pods with {self.grace_seconds}s grace"
        return f"{self.nodes} nodes, {self.total} pods" + (grace if self.grace_seconds else "")


def populate(plane: ControlPlane, scenario: Scenario, spare: int) -> None:
    """Both zones, and the load packed into the lost zone."""
    create_zones(plane, {"lost": scenario.nodes}, pods=scenario.pods_per_node + 5)
    create_zones(plane, {"spare": spare}, pods=-(-scenario.total // spare) + 5)
    apps = apps_api(api_client(plane))
    for name in scenario.replicas:
        body = deployment_body(name, replicas=0)
        body["spec"]["template"]["metadata"]["labels"]["bench"] = "evacuation"
        grace = scenario.grace_seconds if name == "slow" else 0
        body["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = grace
        # chaostoolkit-kubernetes 0.39 crashes on pods without volumes (it iterates None).
        body["spec"]["template"]["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
        apps.create_namespaced_deployment("default", body)
    repack(plane, scenario)


def repack(plane: ControlPlane, scenario: Scenario) -> None:
    """Open the lost zone, empty the load, fill the lost zone again, then open the spare zone."""
    api = api_client(plane)
    core, apps = core_api(api), apps_api(api)
    for node in core.list_node(label_selector=ZONE_LABEL).items:
        lost = node.metadata.labels[ZONE_LABEL] == "lost"
        _set_node(core, node.metadata.name, unschedulable=not lost)
    for name in scenario.replicas:
        apps.patch_namespaced_deployment_scale(name, "default", {"spec": {"replicas": 0}})
    wait_for(lambda: not _pods(core), what="the load to be gone", timeout=900, every=1.0)
    for name, replicas in scenario.replicas.items():
        apps.patch_namespaced_deployment_scale(name, "default", {"spec": {"replicas": replicas}})
    wait_for(
        lambda: _ready_in(core, scenario.lost_nodes) == scenario.total,
        what=f"{scenario.total} ready pods in the lost zone",
        timeout=900,
        every=1.0,
    )
    for node in core.list_node(label_selector=f"{ZONE_LABEL}=spare").items:
        _set_node(core, node.metadata.name, unschedulable=False)


def _set_node(core: Any, name: str, *, unschedulable: bool) -> None:
    core.patch_node(
        name,
        {
            "metadata": {
                "annotations": {"zonedrill.io/cordoned-by": None, "zonedrill.io/tainted-by": None}
            },
            "spec": {"unschedulable": unschedulable or None, "taints": None},
        },
        _content_type="application/merge-patch+json",
    )


def _pods(core: Any) -> list[Any]:
    return list(core.list_namespaced_pod("default", label_selector=LOAD_LABEL).items)


def _ready_in(core: Any, nodes: frozenset[str]) -> int:
    return sum(p.spec.node_name in nodes and is_ready(p) for p in _pods(core))


def slow_pods_by_node(plane: ControlPlane) -> dict[str, int]:
    """How many slow pods each node holds: a node-by-node drain waits once per such node."""
    pods = core_api(api_client(plane)).list_namespaced_pod("default", label_selector="app=slow")
    placed: dict[str, int] = {}
    for pod in pods.items:
        placed[pod.spec.node_name] = placed.get(pod.spec.node_name, 0) + 1
    return placed


def pods_in(plane: ControlPlane, nodes: frozenset[str]) -> int:
    """Pods of the load still bound to ``nodes`` (terminating ones too)."""
    return sum(p.spec.node_name in nodes for p in _pods(core_api(api_client(plane))))


class DoneWatch:
    """One watch on the load's pods; ``done_at`` is when the evacuation was first done."""

    def __init__(self, plane: ControlPlane, scenario: Scenario) -> None:
        self._api = api_client(plane)
        self._api.user_agent = WATCHER_AGENT
        self._scenario = scenario
        self._pods: dict[str, tuple[str | None, bool, bool]] = {}
        self._stop = threading.Event()
        self._done = threading.Event()
        self._listed = threading.Event()
        self.done_at: float | None = None
        self._thread = threading.Thread(target=self._follow, daemon=True)

    def __enter__(self) -> DoneWatch:
        self._thread.start()
        if not self._listed.wait(30):
            raise RuntimeError("the bench's watch could not list the pods in 30 s")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=40)

    def wait(self, timeout: float) -> float | None:
        """The monotonic time the evacuation was done, or None after ``timeout``."""
        self._done.wait(timeout)
        return self.done_at

    def _follow(self) -> None:
        core = core_api(self._api)
        while not self._stop.is_set():
            try:
                listing = core.list_namespaced_pod("default", label_selector=LOAD_LABEL)
                self._pods = {p.metadata.uid: _state(p) for p in listing.items}
                self._listed.set()
                self._check()  # done may have come while no stream was open
                stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                    core.list_namespaced_pod,
                    "default",
                    label_selector=LOAD_LABEL,
                    resource_version=listing.metadata.resource_version,
                    timeout_seconds=30,
                )
                for event in stream:
                    self._apply(event["type"], event["object"])
                    if self._stop.is_set():
                        return
            except Exception as error:  # noqa: BLE001 - a lost watch is listed again, not a lost run
                print(f"  (the bench's watch restarts: {error!r})", flush=True)
                self._stop.wait(0.2)

    def _apply(self, kind: str, pod: Any) -> None:
        if kind == "DELETED":
            self._pods.pop(pod.metadata.uid, None)
        else:
            self._pods[pod.metadata.uid] = _state(pod)
        self._check()

    def _check(self) -> None:
        if self.done_at is None and self._evacuated():
            self.done_at = time.monotonic()
            self._done.set()

    def _evacuated(self) -> bool:
        lost = self._scenario.lost_nodes
        if any(node in lost for node, _, _ in self._pods.values()):
            return False
        ready = sum(ok and not leaving for _, ok, leaving in self._pods.values())
        return ready >= self._scenario.total


def _state(pod: Any) -> tuple[str | None, bool, bool]:
    """Where the pod is bound, whether it is Ready, whether it is being deleted."""
    return pod.spec.node_name, is_ready(pod), pod.metadata.deletion_timestamp is not None
