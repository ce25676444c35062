"""The Kubernetes cluster behind the cluster port."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, assert_never

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from k8s import events, results, shapes
from k8s import nodes as node_api
from k8s import pods as pod_api
from k8s.api import ApiSettings, KubeApi
from k8s.lease import drill_lease
from k8s.target import LOCK_NAMESPACE
from orchestrator import __version__
from orchestrator.drill.probe import ServiceRef
from orchestrator.errors import ClusterUnreachableError
from orchestrator.targets.port import (
    AddTaint,
    Change,
    Cordon,
    DeletePod,
    DisruptionBudget,
    EvictPod,
    LabelSelector,
    LockHold,
    Mark,
    NodeInfo,
    PodInfo,
    PodRef,
    RemoveTaint,
    ServiceEndpoint,
    Taint,
    Uncordon,
)


@dataclass(frozen=True)
class KubeSettings:
    """Where the cluster is and how to treat it."""

    kubeconfig: Path | None = None
    context: str | None = None
    lock_namespace: str = LOCK_NAMESPACE
    api: ApiSettings = field(default_factory=ApiSettings)


def _node_info(node: Any) -> NodeInfo:
    taints = tuple(
        Taint(key=t.key, effect=t.effect, value=t.value or "") for t in (node.spec.taints or [])
    )
    allocatable = (node.status.allocatable or {}) if node.status else {}
    pods_room = allocatable.get("pods")
    return NodeInfo(
        name=node.metadata.name,
        labels=dict(node.metadata.labels or {}),
        unschedulable=bool(node.spec.unschedulable),
        taints=taints,
        pod_capacity=int(pods_room) if pods_room else None,
        allocatable=shapes.resources(allocatable) if allocatable else None,
        marks=_marks(node),
    )


def _marks(node: Any) -> tuple[Mark, ...]:
    """The cordon and taints the node's annotations attribute to a run."""
    found: list[Mark] = []
    cordoner = (node.metadata.annotations or {}).get(node_api.CORDONED_BY)
    if isinstance(cordoner, str) and node_api.RUN_ID.fullmatch(cordoner):
        found.append(Mark(cordoner, Cordon(node=node.metadata.name)))
    for slot, owner in node_api.taint_owners(node).items():
        key, _, effect = slot.rpartition(":")
        taint = Taint(key=key, effect=effect)  # type: ignore[arg-type]
        found.append(Mark(owner, AddTaint(node=node.metadata.name, taint=taint)))
    return tuple(found)


class KubeTarget:
    """A real cluster as a ClusterPort."""

    def __init__(
        self,
        api: KubeApi,
        *,
        server: str,
        in_cluster: bool,
        settings: KubeSettings,
    ) -> None:
        self.api, self.server, self.in_cluster, self.settings = api, server, in_cluster, settings
        self.nodes = node_api.NodeCache()

    @property
    def target(self) -> str:
        """Results say ``kube``."""
        return "kube"

    @property
    def identity(self) -> str:
        """``kube/<API server URL>``."""
        return f"kube/{self.server}"

    async def cluster_uid(self) -> str | None:
        """The kube-system namespace's UID: made once with the cluster, kept for its life."""
        namespace = await self.api.call(
            self.api.core.read_namespace, "kube-system", verb="get", what="namespaces/kube-system"
        )
        return str(namespace.metadata.uid)

    @property
    def persistent(self) -> bool:
        """Changes outlive this process."""
        return True

    @property
    def own_node(self) -> str | None:
        """From the downward API (ZONEDRILL_NODE_NAME) when running in a pod."""
        return os.environ.get("ZONEDRILL_NODE_NAME") if self.in_cluster else None

    async def list_nodes(self) -> list[NodeInfo]:
        """Every node."""
        return [_node_info(n) for n in await self._list_nodes()]

    async def _list_nodes(self) -> list[Any]:
        """Every node object; each is remembered, so that changing it needs no GET first."""
        nodes = await self.api.list_all(self.api.core.list_node, what="nodes")
        for node in nodes:
            self.nodes.remember(node)
        return nodes

    async def list_pods(self, *, nodes: Collection[str]) -> list[PodInfo]:
        """Pods bound to ``nodes``."""
        return await pod_api.list_pods(self.api, nodes=nodes)

    async def list_disruption_budgets(self) -> list[DisruptionBudget]:
        """Every PodDisruptionBudget, with its current ``disruptionsAllowed``."""
        budgets = await self.api.list_all(
            self.api.policy.list_pod_disruption_budget_for_all_namespaces,
            what="poddisruptionbudgets",
        )
        return [shapes.disruption_budget(pdb) for pdb in budgets]

    async def service_selector(self, *, ref: ServiceRef) -> LabelSelector:
        """The Service's selector, for a snapshot."""
        service = await self.api.call(
            self.api.core.read_namespaced_service,
            ref.name,
            ref.namespace,
            verb="get",
            what=f'services "{ref.namespace}/{ref.name}"',
        )
        return LabelSelector(match_labels=dict(service.spec.selector or {}))

    async def server_version(self) -> tuple[int, int]:
        """The API server's (major, minor), from /version ("1", "32+" reads as 32)."""
        info = await self.api.call(self.api.version.get_code, verb="get", what="version")
        return int(info.major.rstrip("+")), int(info.minor.rstrip("+"))

    async def apply(self, change: Change, *, run_id: str) -> None:
        """Carry out one change; node changes are marked with ``run_id`` and leave an Event."""
        api = self.api
        match change:
            case Cordon(node=node):
                if await node_api.cordon(api, node, run_id=run_id, cache=self.nodes):
                    await self._event(node, "DrillCordon", f"cordoned by zonedrill run {run_id}")
            case Uncordon(node=node):
                if await node_api.uncordon(api, node, run_id=run_id, cache=self.nodes):
                    await self._event(node, "DrillRestore", f"uncordoned by zonedrill run {run_id}")
            case AddTaint(node=node, taint=taint):
                if await node_api.add_taint(api, node, taint, run_id=run_id, cache=self.nodes):
                    await self._event(
                        node,
                        "DrillPowerLoss",
                        f"tainted {taint.key}:{taint.effect} by zonedrill run {run_id}",
                    )
            case RemoveTaint(node=node, taint=taint):
                if await node_api.remove_taint(api, node, taint, run_id=run_id, cache=self.nodes):
                    await self._event(
                        node, "DrillRestore", f"taint {taint.key} removed by zonedrill run {run_id}"
                    )
            case DeletePod(pod=pod, grace_seconds=grace):
                await pod_api.delete_pod(api, pod, grace_seconds=grace)
            case EvictPod(pod=pod):
                await pod_api.evict_pod(api, pod)
            case _:
                assert_never(change)

    async def _event(self, node: str, reason: str, message: str) -> None:
        await events.emit(self.api, node, reason=reason, message=message)

    async def wait_pods_gone(self, *, pods: Collection[PodRef], timeout: float) -> set[PodRef]:
        """Follow a watch until ``pods`` are gone."""
        return await pod_api.wait_gone(self.api, pods=pods, timeout=timeout)

    async def service_endpoint(self, *, ref: ServiceRef) -> ServiceEndpoint:
        """Cluster DNS inside the cluster; the API server's service proxy outside it."""
        if self.in_cluster:
            return ServiceEndpoint(url=f"http://{ref.name}.{ref.namespace}.svc:{ref.port}")
        configuration = self.api.api_client.configuration
        token = configuration.api_key.get("authorization") or configuration.api_key.get(
            "BearerToken"
        )
        headers = {"Authorization": token} if token else {}
        url = (
            f"{self.server}/api/v1/namespaces/{ref.namespace}/services/{ref.name}:{ref.port}/proxy"
        )
        return ServiceEndpoint(url=url, headers=headers, ca_file=configuration.ssl_ca_cert)

    @asynccontextmanager
    async def lock(self, *, holder: str, wait: float = 0.0) -> AsyncIterator[LockHold]:
        """The drill Lease in the lock namespace."""
        namespace = self.settings.lock_namespace
        async with drill_lease(self.api, namespace=namespace, holder=holder, wait=wait) as hold:
            yield hold

    async def read_results(self, key: str) -> str | None:
        """A game day's summaries from the results ConfigMap in the lock namespace."""
        return await results.read_results(self.api, self.settings.lock_namespace, key)

    async def update_results(self, key: str, change: Callable[[str | None], str]) -> None:
        """Rewrite a game day's summaries in the results ConfigMap."""
        await results.update_results(self.api, self.settings.lock_namespace, key, change)

    async def close(self) -> None:
        """Release the thread and connection pools."""
        self.api.close()


def _check_kubeconfig(given: Path | None, in_cluster: bool) -> None:
    """No kubeconfig file at all: name every place looked at and the way out (exit 4).

    ``~`` is expanded and ``$KUBECONFIG`` may list several files, as the client reads them; it
    is enough that one exists.
    """
    if in_cluster:
        return
    if given is not None:
        places, source = [given], "--kubeconfig"
    elif os.environ.get("KUBECONFIG"):
        places = [Path(p) for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
        source = "$KUBECONFIG"
    else:
        places, source = [Path("~/.kube/config")], "the default; no --kubeconfig or $KUBECONFIG"
    if any(p.expanduser().is_file() for p in places):
        return
    named = ", ".join(str(p.expanduser()) for p in places)
    message = (
        f"cannot load the cluster configuration: no kubeconfig file at {named} ({source}): "
        "give --kubeconfig FILE, or --target lab "
        "for a drill with a lab"
    )
    raise ClusterUnreachableError(message)


def connect(settings: KubeSettings) -> KubeTarget:
    """Load kubeconfig (or in-cluster config) and build the target."""
    configuration = client.Configuration()
    in_cluster = (
        settings.kubeconfig is None
        and "KUBERNETES_SERVICE_HOST" in os.environ
        and ("KUBECONFIG" not in os.environ)
    )
    _check_kubeconfig(settings.kubeconfig, in_cluster)
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(settings.kubeconfig) if settings.kubeconfig else None,
                context=settings.context,
                client_configuration=configuration,
            )
    except (ConfigException, OSError) as exc:
        raise ClusterUnreachableError(f"cannot load the cluster configuration: {exc}") from exc
    # The client sizes its connection pool as it is made: after, the setting does nothing, and
    # urllib3 discards (and warns about) every connection past the default 5 per core.
    configuration.connection_pool_maxsize = settings.api.connections
    api_client = client.ApiClient(configuration)
    # Named in the API server's audit log and request metrics, as kubectl names itself.
    api_client.user_agent = f"zonedrill/{__version__}"
    api = KubeApi(api_client, settings.api)
    return KubeTarget(api, server=str(configuration.host), in_cluster=in_cluster, settings=settings)
