"""The Kubernetes adapter of the cluster port. Not built yet: see docs/architecture.md."""
