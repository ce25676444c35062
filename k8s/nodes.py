"""Node changes with ownership: a run marks what it changed and undoes only that.

Every patch carries the resourceVersion it was computed from, so a concurrent change by
someone else makes it fail with a conflict and it is recomputed, never applied blindly. That is
also why a patch may start from the node as last listed or patched (``NodeCache``) instead of a
GET of its own: a stale copy costs one conflict and a GET, never a wrong write.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

from k8s.api import KubeApi
from orchestrator.errors import ClusterConflictError, ClusterError
from orchestrator.targets.port import POWER_LOSS_TAINT, Taint

CORDONED_BY = "zonedrill.io/cordoned-by"
TAINTED_BY = "zonedrill.io/tainted-by"
CONFLICT_RETRIES = 8
EFFECTS = frozenset({"NoSchedule", "PreferNoSchedule", "NoExecute"})
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")
"""A run id as zonedrill makes them (``DRILL-STAMP-HEX``), and the holders it names."""
# JSON merge patch: lists (taints) are replaced whole and null deletes an annotation.
MERGE_PATCH = "application/merge-patch+json"


def _taints(node: Any) -> list[dict[str, Any]]:
    """The node's taints as the API writes them, every field kept (``timeAdded`` too).

    A merge patch replaces the list whole, so whatever is not written back is lost for others.
    """
    return [_taint_json(t) for t in (node.spec.taints or [])]


def _taint_json(taint: Any) -> dict[str, Any]:
    written: dict[str, Any] = {"key": taint.key, "effect": taint.effect}
    if taint.value:
        written["value"] = taint.value
    if taint.time_added is not None:
        written["timeAdded"] = _stamp(taint.time_added)
    return written


def _slot(taint: Taint) -> str:
    return f"{taint.key}:{taint.effect}"


def taint_owners(node: Any) -> dict[str, str]:
    """The run that added each taint (``key:effect`` -> run id), as the node's mark says.

    The mark is a JSON object, so that taints of different runs or modes each keep their owner.
    A plain run id is the mark zonedrill 0.1 wrote, when the power-loss taint was the only one.
    Only entries zonedrill could have written count: a real effect, a key, and a run id of the
    form zonedrill gives them. Anything else is not a mark of ours, to refuse on or to undo.
    """
    raw = (node.metadata.annotations or {}).get(TAINTED_BY)
    if not isinstance(raw, str):
        return {}
    if RUN_ID.fullmatch(raw):
        return {_slot(POWER_LOSS_TAINT): raw}
    try:
        owners = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(owners, dict):
        return {}
    return {slot: run for slot, run in owners.items() if _ours(slot, run)}


def _ours(slot: str, run: object) -> bool:
    key, _, effect = slot.rpartition(":")
    return bool(key) and effect in EFFECTS and isinstance(run, str) and bool(RUN_ID.fullmatch(run))


def _mark(owners: dict[str, str]) -> str | None:
    """The annotation for ``owners``; None (removed) once no taint is owned."""
    return json.dumps(owners, sort_keys=True, separators=(",", ":")) if owners else None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _has(node: Any, taint: Taint) -> bool:
    return any(t["key"] == taint.key and t["effect"] == taint.effect for t in _taints(node))


class NodeCache:
    """The last state this process saw of each node (listed or patched)."""

    def __init__(self) -> None:
        self._seen: dict[str, Any] = {}

    def remember(self, node: Any) -> None:
        """Keep ``node`` as the latest known state of its name."""
        self._seen[node.metadata.name] = node

    def take(self, name: str) -> Any:
        """The known state of ``name`` (None if none), used once: a retry reads it afresh."""
        return self._seen.pop(name, None)


async def _patch_with_retry(
    api: KubeApi, name: str, build: Any, *, verb: str, cache: NodeCache
) -> bool:
    """Let ``build`` compute a patch (or None) from the node's state, PATCH it; retry on conflict.

    The first try starts from the cached state when there is one; a conflict reads it afresh.
    """
    for _ in range(CONFLICT_RETRIES):
        node = cache.take(name) or await api.call(
            api.core.read_node, name, verb="get", what=f'nodes "{name}"'
        )
        patch = build(node)
        if patch is None:
            cache.remember(node)
            return False
        patch.setdefault("metadata", {})["resourceVersion"] = node.metadata.resource_version
        try:
            patched = await api.call(
                api.core.patch_node,
                name,
                patch,
                _content_type=MERGE_PATCH,
                verb=verb,
                what=f'nodes "{name}"',
            )
        except ClusterConflictError:
            await asyncio.sleep(0.05)
            continue
        cache.remember(patched)
        return True
    raise ClusterError(
        f"node {name} kept changing under us; gave up after {CONFLICT_RETRIES} tries"
    )


async def cordon(api: KubeApi, name: str, *, run_id: str, cache: NodeCache) -> bool:
    """Cordon ``name`` and mark it ours, unless it is unschedulable already."""

    def build(node: Any) -> dict[str, Any] | None:
        if node.spec.unschedulable:
            return None
        return {"metadata": {"annotations": {CORDONED_BY: run_id}}, "spec": {"unschedulable": True}}

    return await _patch_with_retry(api, name, build, verb="patch", cache=cache)


async def uncordon(api: KubeApi, name: str, *, run_id: str, cache: NodeCache) -> bool:
    """Uncordon ``name`` only if ``run_id`` cordoned it."""

    def build(node: Any) -> dict[str, Any] | None:
        if (node.metadata.annotations or {}).get(CORDONED_BY) != run_id:
            return None
        return {"metadata": {"annotations": {CORDONED_BY: None}}, "spec": {"unschedulable": False}}

    return await _patch_with_retry(api, name, build, verb="patch", cache=cache)


async def add_taint(
    api: KubeApi, name: str, taint: Taint, *, run_id: str, cache: NodeCache
) -> bool:
    """Add ``taint`` and mark it ours, unless the node has it already."""

    def build(node: Any) -> dict[str, Any] | None:
        if _has(node, taint):
            return None
        taints = [
            *_taints(node),
            {
                "key": taint.key,
                "value": taint.value,
                "effect": taint.effect,
                "timeAdded": _stamp(datetime.now(UTC)),
            },
        ]
        owners = {**taint_owners(node), _slot(taint): run_id}
        return {
            "metadata": {"annotations": {TAINTED_BY: _mark(owners)}},
            "spec": {"taints": taints},
        }

    return await _patch_with_retry(api, name, build, verb="patch", cache=cache)


async def remove_taint(
    api: KubeApi, name: str, taint: Taint, *, run_id: str, cache: NodeCache
) -> bool:
    """Remove ``taint`` only if ``run_id`` added it."""

    def build(node: Any) -> dict[str, Any] | None:
        owners = taint_owners(node)
        if owners.pop(_slot(taint), None) != run_id:
            return None
        kept = [
            t for t in _taints(node) if not (t["key"] == taint.key and t["effect"] == taint.effect)
        ]
        annotations = {TAINTED_BY: _mark(owners)}
        return {"metadata": {"annotations": annotations}, "spec": {"taints": kept or None}}

    return await _patch_with_retry(api, name, build, verb="patch", cache=cache)
