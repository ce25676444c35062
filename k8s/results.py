"""The game-day results ConfigMap: a small summary per game day that any pod can read.

One ConfigMap (``zonedrill-results`` in the lock namespace, created by k8s/rbac.yaml) holds one
key per game day, so RBAC can name the object exactly: get and update on it, no create.
Updates carry the resourceVersion read, so two writers never lose each other's record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from k8s.api import KubeApi
from orchestrator.errors import ClusterConflictError, ClusterNotFoundError

RESULTS_CONFIGMAP = "zonedrill-results"
CONFLICT_ATTEMPTS = 5


def _what(namespace: str) -> str:
    return f'configmaps "{namespace}/{RESULTS_CONFIGMAP}"'


async def read_results(api: KubeApi, namespace: str, key: str) -> str | None:
    """The text under ``key`` (None when that game day has no record yet)."""
    found = await _read(api, namespace)
    return (found.data or {}).get(key)


async def update_results(
    api: KubeApi, namespace: str, key: str, change: Callable[[str | None], str]
) -> None:
    """Replace the text under ``key`` with ``change(old text)``, retrying lost races."""
    for _ in range(CONFLICT_ATTEMPTS):
        found = await _read(api, namespace)
        data = dict(found.data or {})
        data[key] = change(data.get(key))
        body = {
            "metadata": {
                "name": RESULTS_CONFIGMAP,
                "namespace": namespace,
                "resourceVersion": found.metadata.resource_version,
            },
            "data": data,
        }
        try:
            await api.call(
                api.core.replace_namespaced_config_map,
                RESULTS_CONFIGMAP,
                namespace,
                body,
                verb="update",
                what=_what(namespace),
            )
        except ClusterConflictError:
            continue
        return
    message = f"update {_what(namespace)}: {CONFLICT_ATTEMPTS} writers in a row got there first"
    raise ClusterConflictError(message)


async def _read(api: KubeApi, namespace: str) -> Any:
    try:
        return await api.call(
            api.core.read_namespaced_config_map,
            RESULTS_CONFIGMAP,
            namespace,
            verb="get",
            what=_what(namespace),
        )
    except ClusterNotFoundError as exc:
        raise ClusterNotFoundError(
            f"{exc}: apply k8s/rbac.yaml (or zonedrill schedule's manifests), which create it"
        ) from exc
