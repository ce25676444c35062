"""Kubernetes Events on the nodes a drill touches, so operators see who cordoned them and why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from k8s.api import KubeApi

EVENT_NAMESPACE = "default"  # where kubectl describe node looks for a node's events


def event_body(node: str, *, reason: str, message: str) -> dict[str, Any]:
    """A core/v1 Event about ``node``."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{node}.zonedrill-", "namespace": EVENT_NAMESPACE},
        "involvedObject": {"apiVersion": "v1", "kind": "Node", "name": node, "uid": node},
        "reason": reason,
        "message": message,
        "type": "Warning" if reason.startswith("Drill") else "Normal",
        "source": {"component": "zonedrill"},
        "reportingComponent": "zonedrill",
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


async def emit(api: KubeApi, node: str, *, reason: str, message: str) -> None:
    """Record one event on ``node``."""
    await api.call(
        api.core.create_namespaced_event,
        EVENT_NAMESPACE,
        event_body(node, reason=reason, message=message),
        verb="create",
        what="events",
    )
