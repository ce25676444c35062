"""The Kubernetes adapter of the cluster port. Only this package talks to the API server."""

from importlib import import_module
from typing import Any

from k8s.adapter import KubeTarget, connect

__all__ = ["KubeTarget", "connect", "discover"]


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Chaos Toolkit's entry point, as ``orchestrator.discover``.

    chaoslib maps the zonedrill distribution to one of its top-level packages, whichever it
    meets first, so both answer.
    """
    found: dict[str, Any] = import_module("orchestrator.ctk").discover(discover_system)
    return found
