"""Rehearsal at scale on KWOK: snapshot, plan --simulate and --each-zone of a large cluster.

One fresh control plane (tests/cluster) with ``--zones`` power zones of KWOK nodes, and
``--services`` Deployments spread over the zones by a hard topology spread, each behind a
Service, ``--pods`` pods in all. A drill of the flagship's shape loses the first zone and probes
``--probes`` Services every 250 ms. Each command then runs as its own process, as a user runs
it, timed from the start of the process to its exit (CLI start-up included), ``--repeats``
times after one unrecorded warm-up, min / median / max:

- ``zonedrill snapshot --zones-from DRILL`` (paged lists of 500) at its default budget and at
  ``--qps 5``, beside the peer that reads the same objects, ``kubectl get
  nodes,pods,poddisruptionbudgets,services -A -o json`` (client-go's 5 QPS / burst 10, pages of
  500); the API server's audit log counts each one's calls and 429s inside its window;
- ``zonedrill plan DRILL --simulate --lab SNAPSHOT -o json`` (no peer predicts a drill);
- ``zonedrill plan DRILL --each-zone --lab SNAPSHOT``: every zone, drilled and cut.

    python -m bench.rehearsal_bench                       # 1,000 nodes, 12,000 pods, recorded
    python -m bench.rehearsal_bench --nodes 40 --pods 480 --zones 4 --repeats 1

Results go to bench/results/rehearsal-<date>.json (bench/record.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bench.audit import count_calls
from bench.record import record
from tests.cluster import versions
from tests.cluster.control_plane import ControlPlane, start
from tests.cluster.zones import (
    POWER_ZONE,
    api_client,
    apps_api,
    core_api,
    create_zones,
    deployment_body,
    is_ready,
    service_body,
    wait_for,
)

GOALS = {"snapshot": 10.0, "simulate": 2.0, "each-zone": 10.0}
"""Seconds, issue 21's goals on this machine."""


@dataclass(frozen=True)
class Command:
    """One timed command: its row name, what it does, its budget and how it is counted."""

    tool: str
    what: str
    budget: str
    agent: str | None  # its User-Agent in the audit log; None: it calls no API
    argv: list[str]


def zone_names(count: int) -> list[str]:
    """z01, z02, ... in order: the drill loses the first."""
    return [f"z{i:02d}" for i in range(1, count + 1)]


def populate(plane: ControlPlane, options: argparse.Namespace) -> None:
    """The zones' nodes, then the Deployments and Services; wait until every pod is Ready."""
    zones = zone_names(options.zones)
    per_node = -(-options.pods // options.nodes)
    create_zones(plane, dict.fromkeys(zones, options.nodes // options.zones), pods=per_node + 5)
    api = api_client(plane)
    core, apps = core_api(api), apps_api(api)
    replicas = options.pods // options.services
    for index in range(1, options.services + 1):
        name = f"svc-{index:02d}"
        apps.create_namespaced_deployment(
            "default", deployment_body(name, replicas=replicas, spread=True, cpu="10m")
        )
        core.create_namespaced_service("default", service_body(name))
    total = replicas * options.services
    wait_for(
        lambda: _ready_pods(core) == total,
        what=f"{total} ready pods",
        timeout=1800,
        every=5.0,
    )


def _ready_pods(core: Any) -> int:
    ready = 0
    token = None
    while True:
        page = core.list_namespaced_pod("default", limit=500, _continue=token)
        ready += sum(is_ready(p) for p in page.items)
        token = page.metadata._continue
        if not token:
            return ready


def write_drill(folder: Path, options: argparse.Namespace) -> Path:
    """A drill of the flagship's shape: the first zone lost at 0 s, back at 20 s.

    ``--probes`` Services probed every 250 ms (the flagship probes two), 5 s baseline, 30 s.
    """
    names = [f"svc-{i:02d}" for i in range(1, min(options.probes, options.services) + 1)]
    drill = {
        "apiVersion": "zonedrill/v1",
        "kind": "Drill",
        "metadata": {"name": "rehearsal-bench"},
        "spec": {
            "zones": {z: {"nodeSelector": {POWER_ZONE: z}} for z in zone_names(options.zones)},
            "probes": [
                {
                    "name": n,
                    "http": {"service": {"namespace": "default", "name": n, "port": 80}},
                    "every": "250ms",
                }
                for n in names
            ],
            "baseline": "5s",
            "duration": "30s",
            "steps": [
                {"at": "0s", "lose": "z01", "mode": "power-loss"},
                {"at": "20s", "restore": "z01"},
            ],
            "targets": [{"probe": n, "rto": "30s", "availability": "90%"} for n in names],
        },
    }
    path = folder / "drill.yaml"
    with path.open("w") as stream:
        YAML().dump(drill, stream)
    return path


def commands(plane: ControlPlane, drill: Path, lab: Path) -> list[Command]:
    """Every timed command, the snapshot first (the plans read what it wrote)."""
    zonedrill = [sys.executable, "-m", "orchestrator"]
    snapshot = [
        *zonedrill,
        "snapshot",
        f"--kubeconfig={plane.kubeconfig}",
        f"--zones-from={drill}",
        f"--output-file={lab}",
    ]
    return [
        Command(
            "zonedrill snapshot",
            "snapshot",
            "100 QPS / burst 200 (default)",
            "zonedrill/",
            snapshot,
        ),
        Command(
            "zonedrill snapshot --qps 5",
            "snapshot",
            "5 QPS / burst 10",
            "zonedrill/",
            [*snapshot, "--qps=5"],
        ),
        Command(
            "kubectl get nodes,pods,pdb,services -A -o json",
            "snapshot",
            "5 QPS / burst 10 (client-go default)",
            "kubectl/",
            plane.kubectl("get", "nodes,pods,poddisruptionbudgets,services", "-A", "-o", "json"),
        ),
        Command(
            "zonedrill plan --simulate",
            "simulate",
            "none (no API)",
            None,
            [*zonedrill, "plan", str(drill), "--simulate", f"--lab={lab}", "-o", "json"],
        ),
        Command(
            "zonedrill plan --each-zone",
            "each-zone",
            "none (no API)",
            None,
            [*zonedrill, "plan", str(drill), "--each-zone", f"--lab={lab}"],
        ),
    ]


def timed(plane: ControlPlane, command: Command, folder: Path) -> dict[str, Any]:
    """Run the command once to its exit; its seconds, exit code and calls."""
    wall, started = time.time(), time.monotonic()
    done = subprocess.run(
        command.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "ZONEDRILL_STATE_DIR": str(folder / "state")}, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{command.tool} exited {done.returncode}: {done.stderr[-2000:]}")
    run: dict[str, Any] = {"seconds": round(seconds, 3)}
    if command.agent is not None and plane.audit_log is not None:
        calls = count_calls(plane.audit_log, agent=command.agent, start=wall, end=wall + seconds)
        run.update(calls=calls.total, throttled=calls.throttled, byKind=dict(calls.by_kind))
    return run


def measure(options: argparse.Namespace) -> list[dict[str, Any]]:
    """Build the cluster once, then every command: a warm-up, then ``repeats`` rounds."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plane = start(folder / "plane", node_lease_seconds=options.lease_seconds, audit=True)
        try:
            built = time.monotonic()
            populate(plane, options)
            print(f"cluster built in {time.monotonic() - built:.0f} s", flush=True)
            drill, lab = write_drill(folder, options), folder / "lab.yaml"
            runs: dict[str, list[dict[str, Any]]] = {}
            for command in commands(plane, drill, lab):
                timed(plane, command, folder)  # warm-up: page cache, imports
                runs[command.tool] = [timed(plane, command, folder) for _ in range(options.repeats)]
                print(
                    f"  {command.tool:<48} {_spread([r['seconds'] for r in runs[command.tool]])}",
                    flush=True,
                )
        finally:
            plane.stop()
    return [_row(c, runs[c.tool]) for c in commands(plane, drill, lab)]


def _row(command: Command, runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["seconds"] for r in runs]
    row: dict[str, Any] = {
        "tool": command.tool,
        "what": command.what,
        "budget": command.budget,
        "goal": GOALS[command.what] if command.tool.startswith("zonedrill") else None,
        "seconds": {"min": min(seconds), "median": statistics.median(seconds), "max": max(seconds)},
        "repeats": runs,
    }
    return row


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} s"


def main(argv: list[str]) -> int:
    """Parse, measure, record."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.rehearsal_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=12000)
    parser.add_argument("--zones", type=int, default=10)
    parser.add_argument("--services", type=int, default=12)
    parser.add_argument("--probes", type=int, default=2, help="Services the drill probes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--lease-seconds", type=int, default=60, help="KWOK's node lease (renewed every quarter)"
    )
    options = parser.parse_args(argv)
    rows = measure(options)
    size = {
        "nodes": options.nodes,
        "pods": options.pods,
        "zones": options.zones,
        "services": options.services,
        "probes": options.probes,
    }
    path = record(
        "rehearsal",
        rows,
        versions={"kubernetes": versions.KUBERNETES, "kwok": versions.KWOK},
        size=size,
    )
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
