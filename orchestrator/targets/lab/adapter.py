"""The lab behind the cluster port."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from pathlib import Path
from typing import assert_never

from aiohttp import web

from orchestrator.drill.lab import Lab
from orchestrator.drill.probe import ServiceRef
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.targets.lab.cluster import LabCluster, LabNode
from orchestrator.targets.lab.lock import file_lock
from orchestrator.targets.lab.server import (
    LoadBalancerMetrics,
    RunningService,
    start_metrics,
    start_service,
)
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
    Uncordon,
)


class LabTarget:
    """A lab, its simulated cluster and its loopback servers, as a ClusterPort."""

    def __init__(
        self,
        lab: Lab,
        cluster: LabCluster,
        *,
        lock_dir: Path,
        metrics_at: tuple[str, int] | None = None,
    ) -> None:
        self.lab = lab
        self.cluster = cluster
        self._lock_dir = lock_dir
        self._servers: dict[str, RunningService] = {}
        self.metrics = LoadBalancerMetrics()
        self._metrics_at = metrics_at
        self._metrics_server: web.AppRunner | None = None

    @property
    def target(self) -> str:
        """Results say ``lab``."""
        return "lab"

    @property
    def identity(self) -> str:
        """``lab/<name>``: runs of the same lab file share journals and the lock."""
        return f"lab/{self.lab.metadata.name}"

    async def cluster_uid(self) -> str | None:
        """A lab is named by its file's name (``identity``) alone."""
        return None

    @property
    def persistent(self) -> bool:
        """The lab lives and dies with this process."""
        return False

    @property
    def own_node(self) -> str | None:
        """zonedrill does not run on a lab node."""
        return None

    async def start_servers(self) -> None:
        """Start one loopback HTTP server per lab service, and /metrics when asked for."""
        if self._metrics_at is not None:
            host, port = self._metrics_at
            try:
                self._metrics_server = await start_metrics(self.metrics, host, port)
            except (OSError, ValueError, TypeError) as exc:  # UnicodeError: a host too long
                reason = getattr(exc, "strerror", None) or exc
                message = f"cannot serve /metrics at {host}:{port}: {reason}"
                problem = Problem("--lab-metrics", None, None, "", message)
                raise InvalidInputError([problem]) from exc
        for key, service in self.cluster.services.items():
            self._servers[key] = await start_service(self.cluster, service, self.metrics)

    async def list_nodes(self) -> list[NodeInfo]:
        """Every lab node."""
        return [
            NodeInfo(
                name=n.name,
                labels=n.labels,
                unschedulable=n.unschedulable,
                taints=tuple(n.taint_owners),
                pod_capacity=n.capacity,
                marks=_marks(n),
            )
            for n in self.cluster.nodes.values()
        ]

    async def list_pods(self, *, nodes: Collection[str]) -> list[PodInfo]:
        """Pods bound to ``nodes``."""
        wanted, now = set(nodes), self.cluster.now()
        return [
            PodInfo(
                ref=p.ref,
                node=p.node,
                owner_kind="ReplicaSet",
                ready=p.ready(now),
                workload=f"{p.service.namespace}/{p.service.name}",
                labels={"app": p.service.name},
            )
            for p in self.cluster.pods.values()
            if p.node is not None and p.node in wanted
        ]

    async def list_disruption_budgets(self) -> list[DisruptionBudget]:
        """One budget per lab service with a ``pdb``, selecting ``app=<service>``."""
        budgets = []
        for service in self.cluster.services.values():
            allowed = self.cluster.disruptions_allowed(service)
            if allowed is not None:
                budgets.append(
                    DisruptionBudget(
                        namespace=service.namespace,
                        name=service.name,
                        selector=LabelSelector(match_labels={"app": service.name}),
                        disruptions_allowed=allowed,
                    )
                )
        return budgets

    async def apply(self, change: Change, *, run_id: str) -> None:
        """Carry out one change on the simulated cluster."""
        cluster = self.cluster
        match change:
            case Cordon(node=node):
                cluster.cordon(node, run_id=run_id)
            case Uncordon(node=node):
                cluster.uncordon(node, run_id=run_id)
            case AddTaint(node=node, taint=taint):
                cluster.add_taint(node, taint, run_id=run_id)
            case RemoveTaint(node=node, taint=taint):
                cluster.remove_taint(node, taint, run_id=run_id)
            case DeletePod(pod=pod):
                cluster.delete_pod(pod)
            case EvictPod(pod=pod):
                cluster.evict_pod(pod)
            case _:
                assert_never(change)

    async def wait_pods_gone(self, *, pods: Collection[PodRef], timeout: float) -> set[PodRef]:
        """Lab pods go at once: report any still listed."""
        return {p for p in pods if p in self.cluster.pods}

    async def service_endpoint(self, *, ref: ServiceRef) -> ServiceEndpoint:
        """The loopback address of the lab service ``ref`` names (its port is the lab's own)."""
        service = self.cluster.service_of(ref.namespace, ref.name)
        running = self._servers[f"{service.namespace}/{service.name}"]
        return ServiceEndpoint(url=f"http://127.0.0.1:{running.port}")

    @asynccontextmanager
    async def lock(self, *, holder: str, wait: float = 0.0) -> AsyncIterator[LockHold]:
        """A file lock per lab name; the kernel holds it until this process ends, so never lost."""
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", self.identity)
        async with file_lock(self._lock_dir / f"{name}.lock", holder=holder, wait=wait):
            yield LockHold()

    async def close(self) -> None:
        """Stop the loopback servers."""
        for running in self._servers.values():
            await running.runner.cleanup()
        self._servers.clear()
        if self._metrics_server is not None:
            await self._metrics_server.cleanup()
            self._metrics_server = None


async def open_lab(
    lab: Lab, *, lock_dir: Path, serve: bool = True, metrics_at: tuple[str, int] | None = None
) -> LabTarget:
    """Build the lab on the running loop and, if ``serve``, start its HTTP servers."""
    cluster = LabCluster(lab, loop=asyncio.get_running_loop())
    target = LabTarget(lab, cluster, lock_dir=lock_dir, metrics_at=metrics_at)
    if serve:
        try:
            await target.start_servers()
        except BaseException:
            await target.close()
            raise
    return target


def _marks(node: LabNode) -> tuple[Mark, ...]:
    """The cordon and taints the lab node attributes to a run."""
    cordon = () if node.cordoned_by is None else (Mark(node.cordoned_by, Cordon(node=node.name)),)
    taints = tuple(
        Mark(run, AddTaint(node=node.name, taint=t)) for t, run in node.taint_owners.items()
    )
    return cordon + taints
