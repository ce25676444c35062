"""Pods: listing them as the core sees them, deleting, evicting, and watching them go."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from kubernetes import watch

from k8s import shapes
from k8s.api import KubeApi
from orchestrator.port import PodInfo, PodRef

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def _workload(pod: Any) -> str | None:
    owners = [o for o in (pod.metadata.owner_references or []) if o.controller]
    if not owners:
        return None
    owner, namespace = owners[0], pod.metadata.namespace
    template_hash = (pod.metadata.labels or {}).get("pod-template-hash")
    if owner.kind == "ReplicaSet" and template_hash and owner.name.endswith(f"-{template_hash}"):
        return f"{namespace}/{owner.name[: -len(template_hash) - 1]}"
    return f"{namespace}/{owner.name}"


def pod_info(pod: Any) -> PodInfo:
    """The core's view of a pod object."""
    owners = [o for o in (pod.metadata.owner_references or []) if o.controller]
    conditions = pod.status.conditions if pod.status else None
    return PodInfo(
        ref=PodRef(pod.metadata.namespace, pod.metadata.name),
        node=pod.spec.node_name or "",
        owner_kind=owners[0].kind if owners else None,
        mirror=MIRROR_ANNOTATION in (pod.metadata.annotations or {}),
        terminating=pod.metadata.deletion_timestamp is not None,
        ready=any(c.type == "Ready" and c.status == "True" for c in (conditions or [])),
        workload=_workload(pod),
        labels=dict(pod.metadata.labels or {}),
        requests=shapes.pod_requests(pod.spec),
        spread=shapes.spread_constraints(pod.spec),
    )


async def list_pods(api: KubeApi, *, nodes: Collection[str]) -> list[PodInfo]:
    """Pods bound to ``nodes``: one list call, filtered here (field selectors cannot OR)."""
    wanted = set(nodes)
    listing = await api.call(api.core.list_pod_for_all_namespaces, verb="list", what="pods")
    return [pod_info(p) for p in listing.items if p.spec.node_name in wanted]


async def delete_pod(api: KubeApi, pod: PodRef, *, grace_seconds: int) -> None:
    """Delete a pod with the given grace period."""
    await api.call(
        api.core.delete_namespaced_pod,
        pod.name,
        pod.namespace,
        grace_period_seconds=grace_seconds,
        verb="delete",
        what=f'pods "{pod}"',
    )


async def evict_pod(api: KubeApi, pod: PodRef) -> None:
    """Evict through policy/v1; a PDB refusal arrives as EvictionBlockedError."""
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod.name, "namespace": pod.namespace},
    }
    await api.call(
        api.core.create_namespaced_pod_eviction,
        pod.name,
        pod.namespace,
        body,
        verb="create",
        what=f'pods/eviction "{pod}"',
        throttle_retry=False,
    )


async def wait_gone(api: KubeApi, *, pods: Collection[PodRef], timeout: float) -> set[PodRef]:
    """List once, then follow one watch until every pod in ``pods`` is gone or time is up."""
    listing = await api.call(api.core.list_pod_for_all_namespaces, verb="list", what="pods")
    present = {PodRef(p.metadata.namespace, p.metadata.name) for p in listing.items}
    remaining = set(pods) & present
    if not remaining:
        return remaining
    version = listing.metadata.resource_version
    return await api.stream(_follow, api, remaining, version, timeout)


def _follow(api: KubeApi, remaining: set[PodRef], version: str, timeout: float) -> set[PodRef]:
    deadline = time.monotonic() + timeout
    while remaining and time.monotonic() < deadline:
        watcher = watch.Watch()  # type: ignore[no-untyped-call]
        left = max(1, int(deadline - time.monotonic()))
        for event in watcher.stream(
            api.core.list_pod_for_all_namespaces,  # type: ignore[no-untyped-call]
            resource_version=version,
            timeout_seconds=left,
        ):
            item = event["object"]
            version = item.metadata.resource_version
            if event["type"] == "DELETED":
                remaining.discard(PodRef(item.metadata.namespace, item.metadata.name))
                if not remaining:
                    watcher.stop()  # type: ignore[no-untyped-call]
                    break
    return remaining
