"""Power zones of KWOK nodes and the workloads the tests run on them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubernetes import client, config

POWER_ZONE = "zonedrill.io/power-zone"
TOPOLOGY_ZONE = "topology.kubernetes.io/zone"
SETTLING_TAINTS = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
"""The node controller's taints on a node not (yet, or no longer) ready."""
FAKE_IMAGE = "registry.invalid/zonedrill/fake:1"  # kwok runs no container: nothing pulls it


class HasKubeconfig(Protocol):
    """Anything that knows where its kubeconfig is."""

    kubeconfig: Any


def api_client(plane: HasKubeconfig) -> client.ApiClient:
    """A Kubernetes client for the test control plane."""
    made: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(plane.kubeconfig)
    )
    return made


def core_api(api: client.ApiClient) -> Any:
    """CoreV1Api, typed loosely: its models make every field Optional."""
    return client.CoreV1Api(api)


def apps_api(api: client.ApiClient) -> Any:
    """AppsV1Api, typed loosely."""
    return client.AppsV1Api(api)


def policy_api(api: client.ApiClient) -> Any:
    """PolicyV1Api, typed loosely."""
    return client.PolicyV1Api(api)


def coordination_api(api: client.ApiClient) -> Any:
    """CoordinationV1Api (Leases), typed loosely."""
    return client.CoordinationV1Api(api)


def discovery_api(api: client.ApiClient) -> Any:
    """DiscoveryV1Api, typed loosely."""
    return client.DiscoveryV1Api(api)


def node_body(name: str, zone: str, *, pods: int = 110) -> dict[str, Any]:
    """A KWOK node in ``zone`` with room for ``pods`` pods."""
    capacity = {"cpu": "32", "memory": "128Gi", "pods": str(pods)}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                POWER_ZONE: zone,
                TOPOLOGY_ZONE: zone,
                "kubernetes.io/hostname": name,
                "type": "kwok",
            },
            "annotations": {"kwok.x-k8s.io/node": "fake"},
        },
        "spec": {},
        "status": {"capacity": capacity, "allocatable": capacity},
    }


def create_zones(plane: HasKubeconfig, zones: dict[str, Any], *, pods: int = 110) -> list[str]:
    """Create ``count`` KWOK nodes per zone (``{zone: count}``); wait until they are Ready."""
    core = core_api(api_client(plane))
    names = []
    for zone, count in zones.items():
        for index in range(1, int(count) + 1):
            name = f"{zone}-{index}"
            core.create_node(node_body(name, zone, pods=pods))
            names.append(name)
    wait_for(lambda: all(is_ready(core.read_node(n)) for n in names), what="KWOK nodes Ready")
    return names


def settling(node: Any) -> bool:
    """True when the node carries a taint the node controller puts on nodes not (yet) ready."""
    return any(t.key in SETTLING_TAINTS for t in node.spec.taints or [])


def is_ready(item: Any) -> bool:
    """True when a node or pod reports the Ready condition."""
    return any(c.type == "Ready" and c.status == "True" for c in (item.status.conditions or []))


def live_pods(api: client.ApiClient, namespace: str, app: str) -> list[Any]:
    """Pods of ``app`` that are not being deleted."""
    items = core_api(api).list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return [p for p in items if p.metadata.deletion_timestamp is None]


def packed_into(api: client.ApiClient, namespace: str, app: str, zone: str, replicas: int) -> bool:
    """True once ``replicas`` ready pods of ``app`` all run in ``zone``.

    Any replica placed elsewhere is deleted so that it comes back: the scheduler's cache may lag
    cordons by a moment, and preferred affinity only weighs the choice.
    """
    live = live_pods(api, namespace, app)
    strays = [p for p in live if p.spec.node_name and not p.spec.node_name.startswith(zone)]
    for pod in strays:
        core_api(api).delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
    home = [p for p in live if (p.spec.node_name or "").startswith(zone) and is_ready(p)]
    return not strays and len(live) == len(home) == replicas


def wait_for(check: Any, *, what: str, timeout: float = 60.0, every: float = 0.2) -> None:
    """Poll ``check`` until it is true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass(frozen=True)
class Placement:
    """Where a Deployment's pods may go and what they ask for."""

    zone: str | None = None  # nodeSelector: only this power zone
    avoid_zone: str | None = None  # node affinity: anywhere but this power zone
    spread: bool = False  # topology spread over zones, maxSkew 1, DoNotSchedule
    taints_policy: str = "Honor"  # the spread's nodeTaintsPolicy
    cpu: str = "100m"
    annotations: dict[str, str] = field(default_factory=dict)  # on the pod template


def deployment_body(
    name: str, *, replicas: int, placement: Placement | None = None, **kwargs: Any
) -> dict[str, Any]:
    """A Deployment placed as ``placement`` (or the Placement fields passed as keywords) says."""
    where = placement or Placement(**kwargs)
    labels = {"app": name}
    pod_spec: dict[str, Any] = {
        "containers": [
            {
                "name": "app",
                "image": FAKE_IMAGE,
                "resources": {"requests": {"cpu": where.cpu, "memory": "64Mi"}},
            }
        ],
        "terminationGracePeriodSeconds": 0,
        "automountServiceAccountToken": False,
    }
    if where.zone is not None:
        pod_spec["nodeSelector"] = {POWER_ZONE: where.zone}
    if where.avoid_zone is not None:
        term = {"key": POWER_ZONE, "operator": "NotIn", "values": [where.avoid_zone]}
        pod_spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [term]}]
                }
            }
        }
    if where.spread:
        pod_spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": TOPOLOGY_ZONE,
                "whenUnsatisfiable": "DoNotSchedule",
                # Honor: cordoned or tainted nodes leave the skew count. With the default (Ignore)
                # a lost zone stays a domain with 0 pods and replacements stay Pending.
                "nodeTaintsPolicy": where.taints_policy,
                "labelSelector": {"matchLabels": labels},
            }
        ]
    template_meta: dict[str, Any] = {"labels": labels, "annotations": dict(where.annotations)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": template_meta, "spec": pod_spec},
        },
    }


def service_body(name: str) -> dict[str, Any]:
    """A ClusterIP Service selecting ``app=name``."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def pdb_body(name: str, *, min_available: int) -> dict[str, Any]:
    """A PodDisruptionBudget over ``app=name``."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": name}}},
    }


def daemonset_body(name: str) -> dict[str, Any]:
    """A DaemonSet with one pod per node."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "agent", "image": FAKE_IMAGE}],
                    "automountServiceAccountToken": False,
                    "tolerations": [{"operator": "Exists"}],
                },
            },
        },
    }
