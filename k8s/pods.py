"""Pods: listing them as the core sees them, deleting, evicting, and watching them go."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Collection
from datetime import datetime
from typing import Any

from kubernetes import watch
from urllib3.exceptions import HTTPError

from k8s import shapes
from k8s.api import KubeApi
from orchestrator.targets.port import PodInfo, PodRef

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
UNREACHABLE = "node.kubernetes.io/unreachable"


def _controller(meta: dict[str, Any]) -> dict[str, Any] | None:
    return next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)


def _deployment_of(meta: dict[str, Any], owner: dict[str, Any]) -> str | None:
    """The Deployment's name, when the owner is a ReplicaSet named after the pod template."""
    template_hash = (meta.get("labels") or {}).get("pod-template-hash")
    name = str(owner.get("name", ""))
    if owner.get("kind") == "ReplicaSet" and template_hash and name.endswith(f"-{template_hash}"):
        return name[: -len(template_hash) - 1]
    return None


def _workload(meta: dict[str, Any], owner: dict[str, Any] | None) -> str | None:
    if owner is None:
        return None
    deployment = _deployment_of(meta, owner)
    return f"{meta.get('namespace')}/{owner.get('name') if deployment is None else deployment}"


def _workload_kind(meta: dict[str, Any], owner: dict[str, Any] | None) -> str | None:
    """What recreates the pod: a ReplicaSet named after its pod template is a Deployment's."""
    if owner is None:
        return None
    return "Deployment" if _deployment_of(meta, owner) is not None else str(owner.get("kind"))


def _unreachable_toleration(spec: dict[str, Any]) -> float | None:
    """Seconds the pod stays on an unreachable node: 0 without a toleration, None for ever.

    As the taint manager reads them: the shortest of the matching tolerations' seconds.
    """
    matching = [t for t in spec.get("tolerations") or [] if _tolerates_unreachable(t)]
    if not matching:
        return 0.0
    seconds = [t["tolerationSeconds"] for t in matching if t.get("tolerationSeconds") is not None]
    return float(max(min(seconds), 0)) if seconds else None


def _tolerates_unreachable(toleration: dict[str, Any]) -> bool:
    key, operator = toleration.get("key"), toleration.get("operator")
    matches_key = key == UNREACHABLE or (not key and operator == "Exists")
    matches_value = operator == "Exists" or not toleration.get("value")
    return matches_key and matches_value and toleration.get("effect") in (None, "", "NoExecute")


def _startup(conditions: list[dict[str, Any]]) -> float | None:
    """PodScheduled to Ready by the pod's own condition times (1 s resolution)."""
    times = {
        c.get("type"): c.get("lastTransitionTime") for c in conditions if c.get("status") == "True"
    }
    scheduled, ready = times.get("PodScheduled"), times.get("Ready")
    if scheduled is None or ready is None:
        return None
    seconds = (datetime.fromisoformat(ready) - datetime.fromisoformat(scheduled)).total_seconds()
    return float(seconds) if seconds >= 0 else None


def pod_info(pod: dict[str, Any]) -> PodInfo:
    """The core's view of a pod, from its JSON as the API server sends it."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    conditions = (pod.get("status") or {}).get("conditions") or []
    owner = _controller(meta)
    return PodInfo(
        ref=PodRef(meta.get("namespace", ""), meta.get("name", "")),
        node=spec.get("nodeName") or "",
        owner_kind=owner.get("kind") if owner else None,
        mirror=MIRROR_ANNOTATION in (meta.get("annotations") or {}),
        terminating=meta.get("deletionTimestamp") is not None,
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
        workload=_workload(meta, owner),
        labels=dict(meta.get("labels") or {}),
        requests=shapes.pod_requests(spec),
        spread=shapes.spread_constraints(spec),
        workload_kind=_workload_kind(meta, owner),
        unreachable_toleration=_unreachable_toleration(spec),
        startup=_startup(conditions),
    )


async def list_pods(api: KubeApi, *, nodes: Collection[str]) -> list[PodInfo]:
    """Pods bound to ``nodes``: one paged list, filtered here (field selectors cannot OR)."""
    wanted = set(nodes)
    pods = await api.list_json(api.core.list_pod_for_all_namespaces, what="pods")
    return [pod_info(p) for p in pods if (p.get("spec") or {}).get("nodeName") in wanted]


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
