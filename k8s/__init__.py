"""The Kubernetes adapter of the cluster port. Only this package talks to the API server.

The package itself imports no Kubernetes client: the ``kube`` target (``k8s.target``) is loaded
by every command to declare its options, and the client loads when a cluster is opened.
"""

from importlib import import_module
from typing import Any

__all__ = ["discover"]


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Chaos Toolkit's entry point, as ``orchestrator.discover``.

    chaoslib maps the zonedrill distribution to one of its top-level packages, whichever it
    meets first, so both answer.
    """
    found: dict[str, Any] = import_module("orchestrator.ctk").discover(discover_system)
    return found
