"""A real Kubernetes control plane on loopback for the test suite (see docs/testing.md)."""
