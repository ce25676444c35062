"""Evacuating a zone on KWOK: zonedrill against kubectl drain and chaostoolkit-kubernetes.

For each size, a fresh control plane (tests/cluster) gets a zone "lost" of N nodes holding
N x pods-per-node pods of one Deployment and a spare zone of N nodes. Each tool then evacuates
"lost"; between tools the zone is uncordoned and the pods come back. Reported: wall time, API
calls per pod and 429 answers. kubectl comes from the same k8s module (v1.36.3); its calls are
counted from -v=6 request logs.

    python -m bench.drain_bench [--sizes 50,200] [--pods-per-node 12] [--qps 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from k8s.adapter import KubeSettings, connect
from k8s.api import ApiSettings
from orchestrator import faults
from orchestrator.drill.model import FaultMode
from orchestrator.faults import FaultContext, FaultReport, ResolvedZone
from orchestrator.journal import Journal
from orchestrator.port import NodeInfo
from tests.cluster.control_plane import ControlPlane, start
from tests.cluster.zones import api_client, apps_api, core_api, deployment_body, wait_for

ZONE_LABEL = "zonedrill.io/power-zone"


def populate(plane: ControlPlane, nodes: int, pods_per_node: int) -> None:
    """Zones lost/spare of ``nodes`` KWOK nodes; a Deployment filling "lost"."""
    from tests.cluster.zones import create_zones  # noqa: PLC0415

    create_zones(plane, {"lost": nodes, "spare": nodes}, pods=pods_per_node + 5)
    api = api_client(plane)
    body = deployment_body("load", replicas=nodes * pods_per_node, zone="lost")
    # chaostoolkit-kubernetes 0.39 crashes on pods without volumes (it iterates None).
    body["spec"]["template"]["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    apps_api(api).create_namespaced_deployment("default", body)
    wait_ready(plane, nodes * pods_per_node)


def wait_ready(plane: ControlPlane, total: int) -> None:
    """Wait until every replica of the load is Ready again."""
    apps = apps_api(api_client(plane))
    wait_for(
        lambda: (
            (apps.read_namespaced_deployment("load", "default").status.ready_replicas or 0) == total
        ),
        what=f"{total} ready pods",
        timeout=900,
        every=1.0,
    )


def reset(plane: ControlPlane, nodes: int, total: int) -> None:
    """Uncordon the lost zone, drop any taints, and wait for the pods to come back."""
    core = core_api(api_client(plane))
    for index in range(1, nodes + 1):
        core.patch_node(
            f"lost-{index}",
            {
                "metadata": {
                    "annotations": {
                        "zonedrill.io/cordoned-by": None,
                        "zonedrill.io/tainted-by": None,
                    }
                },
                "spec": {"unschedulable": None, "taints": None},
            },
            _content_type="application/merge-patch+json",
        )
    wait_ready(plane, total)


async def zonedrill(
    plane: ControlPlane, nodes: int, mode: FaultMode, qps: float, folder: Path
) -> dict[str, float]:
    """Lose the zone with zonedrill's fault code and adapter; time it and count calls."""
    port = connect(
        KubeSettings(kubeconfig=plane.kubeconfig, api=ApiSettings(qps=qps, burst=int(qps * 2)))
    )
    names = tuple(NodeInfo(name=f"lost-{i}") for i in range(1, nodes + 1))
    journal = Journal.create(
        root=folder, identity="bench", run_id=f"bench-{mode}-{nodes}", drill="bench", target="kube"
    )
    context = FaultContext(port, journal, journal.run_id, frozenset({"kube-system"}))
    report = FaultReport(nodes=[n.name for n in names])
    started, calls = time.monotonic(), port.api.calls
    await faults.lose_zone(context, ResolvedZone("lost", names), mode, report)
    seconds = time.monotonic() - started
    used = port.api.calls - calls
    await faults.restore(context)
    await port.close()
    return {"seconds": seconds, "calls": used, "429s": report.evictions_blocked}


def kubectl(plane: ControlPlane) -> dict[str, float]:
    """kubectl drain -l on the lost zone, with -v=6 to count its requests."""
    command = plane.kubectl(
        "drain",
        "-l",
        f"{ZONE_LABEL}=lost",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--force",
        "--timeout=30m",
        "-v=6",
    )
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = time.monotonic() - started
    log = done.stderr
    calls = len(re.findall(r'verb="(?:GET|POST|PATCH|PUT|DELETE)"', log)) or len(
        re.findall(r"\b(?:GET|POST|PATCH|PUT|DELETE) https://", log)
    )
    return {
        "seconds": seconds,
        "calls": calls,
        "429s": len(re.findall(r'status="429|429 Too Many', log)),
    }


def chaostoolkit(plane: ControlPlane, nodes: int) -> dict[str, float]:
    """chaostoolkit-kubernetes drain_nodes on the lost zone (its own client, its defaults)."""
    os.environ["KUBECONFIG"] = str(plane.kubeconfig)
    # The kubernetes client captured $KUBECONFIG when it was first imported; chaosk8s uses that.
    from chaosk8s.node.actions import drain_nodes  # noqa: PLC0415 - optional peer
    from kubernetes.config import kube_config  # noqa: PLC0415

    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(plane.kubeconfig)

    started = time.monotonic()
    drain_nodes(
        label_selector=f"{ZONE_LABEL}=lost", delete_pods_with_local_storage=True, timeout=1800
    )
    return {"seconds": time.monotonic() - started, "calls": float("nan"), "429s": float("nan")}


def show(
    name: str, nodes: int, pods: int, figures: dict[str, float], reference: float | None
) -> None:
    """One printed row."""
    ratio = f"{figures['seconds'] / reference:7.1f}x" if reference else ""
    print(
        f"{name:<28} {nodes:>5} nodes {pods:>6} pods  {figures['seconds']:8.2f}s  "
        f"{figures['calls'] / pods:6.2f} calls/pod  429s {figures['429s']:>4}  {ratio}",
        flush=True,
    )


def measure(size: int, pods_per_node: int, qps: float, peers: list[str]) -> None:
    """Every tool at one size, on a fresh control plane."""
    with tempfile.TemporaryDirectory() as tmp:
        plane = start(Path(tmp) / "plane")
        try:
            total = size * pods_per_node
            populate(plane, size, pods_per_node)
            runs: list[tuple[str, Callable[[], dict[str, float]]]] = [
                (
                    "zonedrill cordon",
                    lambda: asyncio.run(zonedrill(plane, size, FaultMode.CORDON, qps, Path(tmp))),
                ),
                (
                    "zonedrill drain",
                    lambda: asyncio.run(zonedrill(plane, size, FaultMode.DRAIN, qps, Path(tmp))),
                ),
                (
                    "zonedrill power-loss",
                    lambda: asyncio.run(
                        zonedrill(plane, size, FaultMode.POWER_LOSS, qps, Path(tmp))
                    ),
                ),
            ]
            if "kubectl" in peers:
                runs.append(("kubectl drain -l", lambda: kubectl(plane)))
            if "chaostoolkit" in peers:
                runs.append(("chaostoolkit drain_nodes", lambda: chaostoolkit(plane, size)))
            drain_time: float | None = None
            for name, action in runs:
                figures = action()
                show(name, size, total, figures, None if "zonedrill" in name else drain_time)
                if name == "zonedrill drain":
                    drain_time = figures["seconds"]
                reset(plane, size, total)
        finally:
            plane.stop()


def main(argv: Any = None) -> None:
    """Parse options and run every size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200")
    parser.add_argument("--pods-per-node", type=int, default=12)
    parser.add_argument("--qps", type=float, default=100.0)
    parser.add_argument("--peers", default="kubectl,chaostoolkit")
    options = parser.parse_args(argv)
    print("ratio = peer time / zonedrill drain time, same control plane, same run")
    for size in (int(s) for s in options.sizes.split(",")):
        measure(size, options.pods_per_node, options.qps, options.peers.split(","))


if __name__ == "__main__":
    main()
