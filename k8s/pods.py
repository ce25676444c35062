"""Pods: listing them as the core sees them, deleting, evicting, and watching them go."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Collection
from typing import Any

from kubernetes import watch
from urllib3.exceptions import HTTPError

from k8s import shapes
from k8s.api import KubeApi
from orchestrator.targets.port import PodInfo, PodRef

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
UNREACHABLE = "node.kubernetes.io/unreachable"


def _workload(pod: Any) -> str | None:
    owners = [o for o in (pod.metadata.owner_references or []) if o.controller]
    if not owners:
        return None
    owner, namespace = owners[0], pod.metadata.namespace
    template_hash = (pod.metadata.labels or {}).get("pod-template-hash")
    if owner.kind == "ReplicaSet" and template_hash and owner.name.endswith(f"-{template_hash}"):
        return f"{namespace}/{owner.name[: -len(template_hash) - 1]}"
    return f"{namespace}/{owner.name}"


def _workload_kind(pod: Any) -> str | None:
    """What recreates the pod: a ReplicaSet named after its pod template is a Deployment's."""
    owners = [o for o in (pod.metadata.owner_references or []) if o.controller]
    if not owners:
        return None
    template_hash = (pod.metadata.labels or {}).get("pod-template-hash")
    owner = owners[0]
    if owner.kind == "ReplicaSet" and template_hash and owner.name.endswith(f"-{template_hash}"):
        return "Deployment"
    return str(owner.kind)


def _unreachable_toleration(pod: Any) -> float | None:
    """Seconds the pod stays on an unreachable node: 0 without a toleration, None for ever.

    As the taint manager reads them: the shortest of the matching tolerations' seconds.
    """
    matching = [t for t in pod.spec.tolerations or [] if _tolerates_unreachable(t)]
    if not matching:
        return 0.0
    seconds = [t.toleration_seconds for t in matching if t.toleration_seconds is not None]
    return float(max(min(seconds), 0)) if seconds else None


def _tolerates_unreachable(toleration: Any) -> bool:
    key = toleration.key == UNREACHABLE or (not toleration.key and toleration.operator == "Exists")
    value = toleration.operator == "Exists" or not toleration.value
    return key and value and toleration.effect in (None, "", "NoExecute")


def _startup(conditions: list[Any]) -> float | None:
    """PodScheduled to Ready by the pod's own condition times (1 s resolution)."""
    times = {c.type: c.last_transition_time for c in conditions if c.status == "True"}
    scheduled, ready = times.get("PodScheduled"), times.get("Ready")
    if scheduled is None or ready is None or ready < scheduled:
        return None
    return float((ready - scheduled).total_seconds())


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
        workload_kind=_workload_kind(pod),
        unreachable_toleration=_unreachable_toleration(pod),
        startup=_startup(conditions or []),
    )


async def list_pods(api: KubeApi, *, nodes: Collection[str]) -> list[PodInfo]:
    """Pods bound to ``nodes``: one paged list, filtered here (field selectors cannot OR)."""
    wanted = set(nodes)
    pods = await api.list_all(api.core.list_pod_for_all_namespaces, what="pods")
    return [pod_info(p) for p in pods if p.spec.node_name in wanted]


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
    """List once, then watch each node that holds one of ``pods`` until they are gone.

    One watch per node, selected by ``spec.nodeName`` on the server, so the cluster's other pods
    never cross the wire. Cancelled (the drill stopping), every watch ends at once.
    """
    listing = await api.call(api.core.list_pod_for_all_namespaces, verb="list", what="pods")
    wanted = set(pods)
    by_node: dict[str, set[PodRef]] = {}
    for pod in listing.items:
        ref = PodRef(pod.metadata.namespace, pod.metadata.name)
        if ref in wanted:
            by_node.setdefault(pod.spec.node_name or "", set()).add(ref)
    version = listing.metadata.resource_version
    watches = [_NodeWatch(api, node, refs, version) for node, refs in by_node.items()]
    try:
        left = await asyncio.gather(
            *(api.stream(w.follow, timeout, verb="watch", what=w.what) for w in watches)
        )
    finally:
        for node_watch in watches:
            node_watch.stop()
    return set().union(*left)


class _NodeWatch:
    """One node's pod watch, run in a pool thread; ``stop`` ends its blocking read at once."""

    def __init__(self, api: KubeApi, node: str, remaining: set[PodRef], version: str) -> None:
        self.api, self.node, self.remaining, self.version = api, node, remaining, version
        self.what = f'pods on node "{node}"'
        self._stopped = threading.Event()
        self._response: Any = None
        self._guard = threading.Lock()

        # Watch reads the return type from the list call's docstring: keep it on the wrapper.
        @functools.wraps(api.core.list_pod_for_all_namespaces)
        def listing(*args: Any, **kwargs: Any) -> Any:
            return self._open(*args, **kwargs)

        self._list = listing

    def follow(self, timeout: float) -> set[PodRef]:
        """Watch until every pod is gone, the time is up or ``stop``; return those left."""
        deadline = time.monotonic() + timeout
        while self.remaining and not self._stopped.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                self._follow_once(left)
            except (HTTPError, OSError):
                if not self._stopped.is_set():
                    raise
        return self.remaining

    def _follow_once(self, left: float) -> None:
        watcher = watch.Watch()  # type: ignore[no-untyped-call]
        for event in watcher.stream(  # type: ignore[no-untyped-call]
            self._list,
            resource_version=self.version,
            field_selector=f"spec.nodeName={self.node}",
            timeout_seconds=max(1, int(left)),
        ):
            item = event["object"]
            self.version = item.metadata.resource_version
            if event["type"] == "DELETED":
                self.remaining.discard(PodRef(item.metadata.namespace, item.metadata.name))
            if not self.remaining or self._stopped.is_set():
                watcher.stop()  # type: ignore[no-untyped-call]

    def _open(self, *args: Any, **kwargs: Any) -> Any:
        response = self.api.core.list_pod_for_all_namespaces(*args, **kwargs)
        with self._guard:
            self._response = response
            if self._stopped.is_set():
                _shut(response)
        return response

    def stop(self) -> None:
        """End the watch from any thread: its read returns at once."""
        with self._guard:
            self._stopped.set()
            if self._response is not None:
                _shut(self._response)


def _shut(response: Any) -> None:
    """Shut the socket of a streaming response down for reading, waking its reader."""
    with contextlib.suppress(ValueError, RuntimeError, OSError):
        response.shutdown()
