"""``python -m tests.cluster fronts --lab LAB``: loopback fronts for a lab's Services, by hand.

On the test control plane, Services must be reached through their loopback ServiceFront (see
docs/testing.md: the API server's service proxy would dial KWOK's fake pod addresses). This
starts one front per Service of the lab the kube manifest mirrors, prints the ``--service-url``
flags a ``zonedrill run --target kube`` needs, and serves until Ctrl-C.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import SimpleNamespace

from kubernetes import client

from orchestrator.drill import Lab, load_lab
from tests.cluster.front import ServiceFront
from tests.cluster.zones import api_client


def lab_fronts(kube: client.ApiClient, lab: Lab) -> dict[str, ServiceFront]:
    """A front per Service of ``lab`` (not started), ready at the lab's minReady."""
    return {
        s.name: ServiceFront(kube, namespace=s.namespace, name=s.name, min_ready=s.min_ready)
        for s in lab.spec.services
    }


def service_url_flags(fronts: dict[str, ServiceFront]) -> list[str]:
    """``--service-url=NS/NAME=URL`` for each front."""
    return [f"--service-url={f.namespace}/{name}={f.url}" for name, f in sorted(fronts.items())]


def serve(kubeconfig: Path, lab_file: Path) -> int:
    """Start the fronts, print the flags, serve until SIGINT or SIGTERM."""
    kube = api_client(SimpleNamespace(kubeconfig=kubeconfig))
    fronts = lab_fronts(kube, load_lab(lab_file))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        for front in fronts.values():
            front.start()
        print(" ".join(service_url_flags(fronts)), flush=True)
        stop.wait()
    finally:
        for front in fronts.values():
            front.stop()
    return 0
