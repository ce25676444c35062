"""The ``kube`` target: a real cluster, found by entry point, with the options it brings.

Kept apart from the adapter so that declaring its options on every command does not import the
Kubernetes client; the client is loaded when a cluster is opened.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.targets.port import ClusterPort
from orchestrator.targets.registry import ClusterOpener, TargetOption, Where

DEFAULT_QPS = 100.0
LOCK_NAMESPACE = "zonedrill"
KUBECONFIG = TargetOption(
    "--kubeconfig",
    "kubeconfig file (kube target). Default: $KUBECONFIG, ~/.kube/config or in-cluster config.",
    kind="file",
)
CONTEXT = TargetOption("--context", "kubeconfig context (kube target).")
QPS = TargetOption(
    "--qps", "Client-side budget of API calls per second (kube target).", "rate", DEFAULT_QPS
)
LOCK = TargetOption(
    "--lock-namespace",
    "Namespace of the drill Lease that keeps drills from overlapping (kube target).",
    default=LOCK_NAMESPACE,
)


class KubeKind:
    """A real cluster: a run's changes outlive its process, and rollback may be needed."""

    lives_with_process = False
    options = (KUBECONFIG, CONTEXT, QPS, LOCK)

    def prepare(self, where: Where) -> ClusterOpener:
        """Nothing to check before connecting; connecting names a missing kubeconfig (exit 4)."""

        async def opener(*, serve: bool = True) -> ClusterPort:
            del serve  # the cluster serves its own Services
            from k8s.adapter import KubeSettings, connect  # noqa: PLC0415 - the client, when used
            from k8s.api import ApiSettings  # noqa: PLC0415

            qps = float(where.setting(QPS))
            kubeconfig = where.setting(KUBECONFIG)
            return connect(
                KubeSettings(
                    kubeconfig=Path(kubeconfig) if kubeconfig else None,
                    context=where.setting(CONTEXT),
                    lock_namespace=str(where.setting(LOCK)),
                    api=ApiSettings(qps=qps, burst=max(1, int(qps * 2))),
                )
            )

        return opener


TARGET = KubeKind()
"""What the ``kube`` entry point of ``zonedrill.targets`` loads."""
