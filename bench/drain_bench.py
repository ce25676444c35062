"""Evacuating a zone on KWOK: zonedrill against kubectl drain and chaostoolkit-kubernetes.

For each size, a fresh control plane (tests/cluster) gets a zone "lost" of N nodes holding
N x pods-per-node pods of one Deployment and a spare zone of N nodes. Each tool then evacuates
"lost"; between tools the zone is uncordoned and the pods come back. Reported: wall time, API
calls per pod and 429 answers. kubectl comes from the same k8s module (v1.36.3); its calls are
counted from -v=6 request logs.

    python -m bench.drain_bench [--sizes 50,200] [--pods-per-node 12] [--qps 100]
    python -m bench.drain_bench --sizes 1000 --spare 100 --lease-seconds 40 --peer-budget 900

At 1,000 nodes a peer may be stopped after ``--peer-budget`` seconds: its row then says how many
pods it had moved, its ratio is a lower bound (budget / zonedrill drain), and a projection at
its observed rate is printed beside it. ``--spare`` shrinks the spare zone (its nodes get room
for all the pods) and ``--lease-seconds`` slows kwok's node heartbeats, which at the default
would load the API server with hundreds of lease writes per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
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


def populate(plane: ControlPlane, nodes: int, pods_per_node: int, spare: int) -> None:
    """Zone "lost" of ``nodes`` KWOK nodes and "spare" of ``spare``; a Deployment filling "lost"."""
    from tests.cluster.zones import create_zones  # noqa: PLC0415

    create_zones(plane, {"lost": nodes}, pods=pods_per_node + 5)
    room = -(-nodes * pods_per_node // spare) + 5
    create_zones(plane, {"spare": spare}, pods=room)
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


def pods_moved(plane: ControlPlane, total: int) -> int:
    """Pods of the load no longer bound to a lost node (how far a stopped peer got)."""
    pods = core_api(api_client(plane)).list_namespaced_pod("default", label_selector="app=load")
    staying = sum(
        (p.spec.node_name or "").startswith("lost-") and p.metadata.deletion_timestamp is None
        for p in pods.items
    )
    return total - int(staying)


def kubectl(plane: ControlPlane, budget: float) -> dict[str, float]:
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
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=budget)
        log, stopped = done.stderr, False
    except subprocess.TimeoutExpired as expired:
        log, stopped = _text(expired.stderr), True
    seconds = time.monotonic() - started
    calls = len(re.findall(r'verb="(?:GET|POST|PATCH|PUT|DELETE)"', log)) or len(
        re.findall(r"\b(?:GET|POST|PATCH|PUT|DELETE) https://", log)
    )
    return {
        "seconds": seconds,
        "calls": calls,
        "429s": len(re.findall(r'status="429|429 Too Many', log)),
        "stopped": float(stopped),
    }


def _text(output: bytes | str | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


CHAOSTOOLKIT = """\
import sys
from chaosk8s.node.actions import drain_nodes
drain_nodes(label_selector=sys.argv[1], delete_pods_with_local_storage=True, timeout=7200)
"""


def chaostoolkit(plane: ControlPlane, budget: float) -> dict[str, float]:
    """chaostoolkit-kubernetes drain_nodes on the lost zone, in its own process (stoppable)."""
    env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig)}
    command = [sys.executable, "-c", CHAOSTOOLKIT, f"{ZONE_LABEL}=lost"]
    started, stopped = time.monotonic(), False
    try:
        subprocess.run(command, env=env, capture_output=True, check=True, timeout=budget)
    except subprocess.TimeoutExpired:
        stopped = True
    seconds = time.monotonic() - started
    return {"seconds": seconds, "calls": float("nan"), "429s": float("nan"), "stopped": stopped}


def show(
    name: str, nodes: int, pods: int, figures: dict[str, float], reference: float | None
) -> None:
    """One printed row; a stopped peer's ratio is a lower bound, with a projection."""
    ratio = f"{figures['seconds'] / reference:7.1f}x" if reference else ""
    extra = ""
    if figures.get("stopped"):
        moved = figures["moved"]
        ratio = f"≥{ratio.strip()}"
        projected = figures["seconds"] * pods / moved if moved else float("inf")
        extra = f"  stopped: {moved:.0f}/{pods} pods moved; projected {projected:.0f}s"
    print(
        f"{name:<28} {nodes:>5} nodes {pods:>6} pods  {figures['seconds']:8.2f}s  "
        f"{figures['calls'] / pods:6.2f} calls/pod  429s {figures['429s']:>4}  {ratio}{extra}",
        flush=True,
    )


def measure(size: int, options: argparse.Namespace) -> None:
    """Every tool at one size, on a fresh control plane."""
    pods_per_node, qps, peers = options.pods_per_node, options.qps, options.peers.split(",")
    budget = options.peer_budget
    with tempfile.TemporaryDirectory() as tmp:
        plane = start(Path(tmp) / "plane", node_lease_seconds=options.lease_seconds)
        try:
            total = size * pods_per_node
            started = time.monotonic()
            populate(plane, size, pods_per_node, options.spare or size)
            print(f"# {size} nodes, {total} pods ready in {time.monotonic() - started:.0f}s")
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
                runs.append(("kubectl drain -l", lambda: kubectl(plane, budget)))
            if "chaostoolkit" in peers:
                runs.append(("chaostoolkit drain_nodes", lambda: chaostoolkit(plane, budget)))
            drain_time: float | None = None
            for name, action in runs:
                figures = action()
                if figures.get("stopped"):
                    figures["moved"] = pods_moved(plane, total)
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
    parser.add_argument("--spare", type=int, default=0, help="spare-zone nodes (default: size)")
    parser.add_argument("--lease-seconds", type=int, default=8, help="kwok node lease duration")
    parser.add_argument("--peer-budget", type=float, default=None, help="stop a peer after s")
    options = parser.parse_args(argv)
    print("ratio = peer time / zonedrill drain time, same control plane, same run")
    for size in (int(s) for s in options.sizes.split(",")):
        measure(size, options)


if __name__ == "__main__":
    main()
