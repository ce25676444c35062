"""The versions the test control plane is built from, in one place."""

from __future__ import annotations

KUBERNETES = "v1.36.3"
STAGING = "v0.36.3"
ETCD = "v3.6.8"  # what k8s.io/kubernetes v1.36.3's go.mod requires
KWOK = "v0.8.0"  # built against k8s libraries v0.36
KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)
