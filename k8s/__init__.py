"""The Kubernetes adapter of the cluster port. Only this package talks to the API server."""

from k8s.adapter import KubeTarget, connect

__all__ = ["KubeTarget", "connect"]
